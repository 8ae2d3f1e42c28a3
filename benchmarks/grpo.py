"""GRPO step time: seconds per optimizer step and generated tokens/s, ours vs plain TRL.

A Qwen2.5-1.5B-shaped model (random weights, bf16: the shapes set the cost) is trained with
full GRPO steps of 16 prompts × K=8 completions of 512 tokens (65,536 generated tokens a
step; a random model almost never stops early), at beta 0 (no reference model) and beta
0.05 (a frozen reference model and its forward pass), two ways in the same process:

- ours: ``build_grpo_trainer`` (slm_math.training.grpo) with the static-cache decoder
  replayed as a CUDA graph (``generation.backend: cuda_graph``);
- plain TRL: ``GRPOTrainer`` with ``GRPOConfig`` defaults except what the shape needs
  (K, batch, completion length, bf16, beta): sampling through ``model.generate``.

Both train every weight with micro-batches of 16 completions (gradient accumulation 8, one
generation round per step). The reward is cheap and token-level (share of tokens in the
lower half of the vocabulary), so the table measures the trainer, not a grader. Step 1 of
each configuration warms up (allocator, cuBLAS); the next steps are timed.

    python benchmarks/grpo.py           # on one GPU
    python benchmarks/grpo.py --tiny    # on CPU: a tiny model, checks the script runs
Writes benchmarks/results/grpo.json (or grpo_tiny.json).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine, print_table, write_results  # noqa: E402

QWEN25_15B = dict(vocab_size=151936, hidden_size=1536, intermediate_size=8960,
                  num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
                  max_position_embeddings=32768, tie_word_embeddings=True, rope_theta=1e6)
TINY = dict(vocab_size=50000, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
            tie_word_embeddings=True)
PROBLEM = ("A farmer has {a} cows and buys {b} more each week for {c} weeks, then sells a "
           "third of the herd. How many cows are left?")


def low_half(vocab: int):
    def reward(completions, completion_ids, **kwargs):
        return [sum(t < vocab // 2 for t in ids) / max(1, len(ids)) for ids in completion_ids]

    reward.__name__ = "low_half"
    return reward


class StepTimer:
    """Wall time of each optimizer step and of each generation round, tokens generated."""

    def __init__(self):
        self.steps, self.generation, self.tokens = [], [], []
        self._t = 0.0

    def callback(self):
        from transformers import TrainerCallback

        timer = self

        class _CB(TrainerCallback):
            def on_step_begin(self, args, state, control, **kw):
                _sync()
                timer._t = time.perf_counter()

            def on_step_end(self, args, state, control, **kw):
                _sync()
                timer.steps.append(time.perf_counter() - timer._t)

        return _CB()

    def wrap(self, trainer):
        original = trainer._generate_single_turn

        def timed(prompt_ids, *args, **kwargs):
            _sync()
            start = time.perf_counter()
            ids, logprobs = original(prompt_ids, *args, **kwargs)
            _sync()
            self.generation.append(time.perf_counter() - start)
            self.tokens.append(sum(len(x) for x in ids))
            return ids, logprobs

        trainer._generate_single_turn = timed


def _sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def save_model(shape: dict, tokenizer_dir: Path, device: str) -> Path:
    """The random model saved once (TRL builds a beta > 0 reference model from its path)."""
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    torch.manual_seed(0)
    config = Qwen2Config(**shape, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=pad)
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    with torch.device(device):
        model = Qwen2ForCausalLM(config).to(dtype)
    folder = Path(tempfile.mkdtemp(prefix="grpo-bench-model-"))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    del model
    return folder


def build_model(folder: Path, device: str):
    from transformers import AutoModelForCausalLM

    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    return AutoModelForCausalLM.from_pretrained(folder, dtype=dtype).to(device)


def run_config(name: str, *, ours: bool, beta: float, shape: dict, model_dir: Path,
               prompts: int, k: int, tokens: int, micro: int, steps: int, device: str) -> dict:
    from datasets import Dataset
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = build_model(model_dir, device)
    rows = [{"prompt": [{"role": "user", "content": PROBLEM.format(a=3 + i, b=i % 7 + 2, c=i % 4 + 2)
                        + "\nPlease reason step by step, and put your final answer within \\boxed{}."}]}
            for i in range(prompts * (steps + 1))]
    timer = StepTimer()
    out = Path(tempfile.mkdtemp(prefix=f"grpo-bench-{name}-"))
    completions = prompts * k
    if ours:
        from slm_math.config.params import CurriculumParams, GRPOParams
        from slm_math.training.grpo import build_grpo_trainer

        cfg = GRPOParams(mode="full", num_generations=k, prompts_per_step=prompts,
                         per_device_batch_size=micro, max_steps=steps, learning_rate=5e-6,
                         beta=beta, max_completion_length=tokens, save_steps=10_000,
                         curriculum=CurriculumParams(mode="none"), rewards={},
                         precision="bf16" if device == "cuda" else "fp32")
        trainer, plan, precision, backend = build_grpo_trainer(
            model=model, tokenizer=tokenizer, train_rows=rows, cfg=cfg,
            reward_funcs=[low_half(shape["vocab_size"])], reward_weights=[1.0],
            checkpoint_dir=out, seed=0, backend="cuda_graph", callbacks=[timer.callback()])
        trainer.args.save_strategy = "no"
    else:
        from trl import GRPOConfig, GRPOTrainer

        args = GRPOConfig(output_dir=str(out), num_generations=k, per_device_train_batch_size=micro,
                          gradient_accumulation_steps=completions // micro,
                          max_completion_length=tokens, beta=beta, max_steps=steps,
                          bf16=device == "cuda", save_strategy="no", report_to=[],
                          logging_steps=1, use_cpu=device != "cuda")
        trainer = GRPOTrainer(model=model, reward_funcs=[low_half(shape["vocab_size"])], args=args,
                              train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                              callbacks=[timer.callback()])
        backend = "trl generate"
    timer.wrap(trainer)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    trainer.train()
    timed = timer.steps[1:] or timer.steps
    gen = timer.generation[1:] or timer.generation
    toks = timer.tokens[1:] or timer.tokens
    row = {
        "config": name, "beta": beta, "generation": backend,
        "reference_model": trainer.ref_model is not None,
        "s_per_step": round(statistics.median(timed), 3),
        "gen_s_per_step": round(statistics.median(gen), 3),
        "gen_tokens_per_s": round(sum(toks) / sum(gen), 1),
        "step_tokens_per_s": round(sum(toks) / sum(timed), 1),
        "tokens_per_step": round(statistics.mean(toks)),
        "steps_timed": len(timed), "warmup_step_s": round(timer.steps[0], 3),
        "all_steps_s": [round(s, 3) for s in timer.steps],
        "cuda_graph": bool(getattr(getattr(trainer, "last_decoder", None), "graph_used", False)),
    }
    if device == "cuda":
        row["peak_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 1)
    del trainer, model
    if device == "cuda":
        torch.cuda.empty_cache()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny model on CPU (a smoke test)")
    parser.add_argument("--tokenizer", default="models/base", help="folder with a chat tokenizer")
    parser.add_argument("--steps", type=int, default=3, help="optimizer steps per config (ours)")
    parser.add_argument("--plain-steps", type=int, default=2, help="steps per plain-TRL config")
    parser.add_argument("--only", default=None, help="comma-separated config names")
    parser.add_argument("--out", default=None, help="also write the JSON here")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() and not args.tiny else "cpu"
    shape = TINY if args.tiny else QWEN25_15B
    prompts, k, tokens, micro = (2, 4, 16, 8) if args.tiny else (16, 8, 512, 16)
    configs = [("ours_beta0", True, 0.0), ("trl_beta0", False, 0.0),
               ("ours_beta0.05", True, 0.05), ("trl_beta0.05", False, 0.05)]
    if args.only:
        configs = [c for c in configs if c[0] in args.only.split(",")]
    rows = []
    model_dir = save_model(shape, Path(args.tokenizer), device)
    payload = {"what": "GRPO optimizer step: 16 prompts x K=8 x 512 new tokens, full fine-tuning",
               "model": "random init, Qwen2.5-1.5B shapes" if not args.tiny else "tiny",
               "shape": shape, "prompts": prompts, "k": k, "completion_tokens": tokens,
               "micro_batch": micro, "device": device,
               "machine": machine(("torch", "transformers", "trl", "accelerate")), "rows": rows}
    for name, ours, beta in configs:
        print(f"[grpo bench] {name} ...", file=sys.stderr, flush=True)
        try:
            rows.append(run_config(name, ours=ours, beta=beta, shape=shape,
                                   model_dir=model_dir, prompts=prompts, k=k,
                                   tokens=tokens, micro=micro,
                                   steps=args.steps if ours else args.plain_steps, device=device))
        except Exception as err:  # keep the other configurations' numbers
            rows.append({"config": name, "beta": beta, "error": f"{type(err).__name__}: {err}"[:500]})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        if args.out:
            Path(args.out).write_text(json.dumps(payload, indent=2))
    best = {r["config"]: r.get("s_per_step") for r in rows}
    if best.get("ours_beta0") and best.get("trl_beta0"):
        payload["speedup_beta0"] = round(best["trl_beta0"] / best["ours_beta0"], 2)
    if best.get("ours_beta0.05") and best.get("trl_beta0.05"):
        payload["speedup_beta0.05"] = round(best["trl_beta0.05"] / best["ours_beta0.05"], 2)
    payload["target"] = "<= 10 s per step at beta 0 on one H100"
    print_table(rows, ["config", "beta", "generation", "reference_model", "s_per_step",
                       "gen_s_per_step", "gen_tokens_per_s", "tokens_per_step", "peak_gib",
                       "cuda_graph", "error"])
    write_results("grpo_tiny" if args.tiny else "grpo", payload)
    if args.out:
        Path(args.out).write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
