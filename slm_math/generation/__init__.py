"""One generation interface, several backends: `hf` (transformers), `vllm`, `openai`.

    from slm_math.generation import load_generator, SamplingParams
    with load_generator("hf", "models/base", device="cpu") as gen:
        [[c]] = gen.generate([[{"role": "user", "content": "2+2?"}]], SamplingParams(max_new_tokens=64))
        print(c.text, c.tokens_out, c.finish_reason)

Backends load lazily: importing this package imports neither torch nor vllm.
"""

from .base import Generator
from .local_server import LocalServer  # noqa: E402
from .params import Completion, Message, Prompt, SamplingParams
from .registry import BACKENDS, backend_of, load_generator
from .vllm_env import cpu_env as vllm_cpu_env, vllm_server_command

__all__ = [
    "BACKENDS",
    "Completion",
    "Generator",
    "LocalServer",
    "Message",
    "Prompt",
    "SamplingParams",
    "backend_of",
    "load_generator",
    "vllm_cpu_env",
    "vllm_server_command",
]
