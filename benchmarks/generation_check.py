"""GPU check of the static decoder: exactness against `generate` (fp32) and a kernel profile.

1. A 4-layer model of Qwen2.5-1.5B's widths in fp32 on the GPU: the hf backend's static path
   (CUDA graphs) must give generate's greedy tokens exactly, and its seeded samples must equal
   the `generate` path's (same sampler); prints the agreement.
2. The full 28-layer bf16 model: one eager decoding step at batch 512 under torch.profiler,
   the kernels that take the most GPU time.

    python benchmarks/generation_check.py      # on a GPU; prints, writes nothing
"""

from __future__ import annotations

import os
import random
import sys

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.generation import QWEN25_15B, word_tokenizer  # noqa: E402
from slm_math.generation import SamplingParams  # noqa: E402
from slm_math.generation.hf import HFGenerator  # noqa: E402
from slm_math.generation.static_decoding import StaticDecoder, _attention  # noqa: E402


def exactness() -> None:
    torch.manual_seed(0)
    config = Qwen2Config(**{**QWEN25_15B, "num_hidden_layers": 4})
    with torch.device("cuda"):
        model = Qwen2ForCausalLM(config).float().eval()
    tok = word_tokenizer(config.vocab_size)
    rng = random.Random(1)
    prompts = [" ".join(f"t{rng.randrange(1000)}" for _ in range(rng.randrange(5, 40))) for _ in range(24)]
    static = HFGenerator(model, tok, batch_size=8, progress=False, decoder="static")
    plain = HFGenerator(model, tok, batch_size=8, progress=False, decoder="generate")
    for params in (SamplingParams(max_new_tokens=48),
                   SamplingParams(max_new_tokens=48, temperature=1.0, top_p=0.9, seed=3, n=2)):
        a = static.generate(prompts, params)
        graph = static.graph_used
        b = plain.generate(prompts, params)
        same = sum(x.text == y.text for ra, rb in zip(a, b) for x, y in zip(ra, rb))
        total = sum(len(r) for r in a)
        print(f"fp32 exactness, {'greedy' if params.greedy else 'sampled'}: {same}/{total} "
              f"completions identical to the generate path (graph {graph})", flush=True)


def profile() -> None:
    torch.manual_seed(0)
    config = Qwen2Config(**QWEN25_15B)
    with torch.device("cuda"):
        model = Qwen2ForCausalLM(config).to(torch.bfloat16).eval()
    batch, width, new = 512, 128, 512
    prompts = [[random.randrange(1000) for _ in range(width)] for _ in range(batch)]
    dec = StaticDecoder(model, eos_token_ids=[], pad_token_id=0, cuda_graph=False)
    state = {}

    def pick(logits, step):
        state["steps"] = state.get("steps", 0) + 1
        if state["steps"] == 300:  # late in the run, so the attention span is long
            torch.cuda.synchronize()
            state["prof"] = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA])
            state["prof"].__enter__()
        if state["steps"] == 303:
            torch.cuda.synchronize()
            state["prof"].__exit__(None, None, None)
        return logits.argmax(-1)

    with torch.no_grad(), _attention(model):
        dec._decode(prompts, new, pick, None, True)
    print(state["prof"].key_averages().table(sort_by="cuda_time_total", row_limit=18), flush=True)


if __name__ == "__main__":
    exactness()
    profile()
