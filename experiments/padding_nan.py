"""Do left-padded training batches give NaN gradients, by attention kernel and mask?

On the H200, grpo_verifier's first update had a NaN gradient (main grpo's did not). Its
batches are verifier prompts left-padded by up to a few hundred positions, and under the
causal mask every padding position's query attends to no key: a fully masked row, where
the CUDA SDPA kernels' NaN reports cluster. GRPO now trains with `pad_safe_sdpa`
(slm_math/training/attention.py), which opens those rows. This experiment checks both on
the machine at hand: one forward and backward of the real model, as the trainer runs it
(precision ``auto``: bf16 weights and autocast on a GPU), on batches shaped like
grpo_verifier's (prompts of 60-384 tokens, so up to 324 padding positions) and like grpo's
(80-120), through transformers' ``sdpa`` and through ``pad_safe``, under each SDPA backend
this device offers. It reports whether any gradient or any real token's logit is not finite.

    python experiments/padding_nan.py [--model models/base] [--rows 128] [--repeats 3]

Prints a table and writes experiments/results/padding_nan-<cpu|cuda>.json (machine facts
included).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import EXPERIMENT_RESULTS, machine, print_table, write_results  # noqa: E402
from slm_math.training.attention import PAD_SAFE_SDPA, use_pad_safe_attention  # noqa: E402
from slm_math.training.model_loading import (load_causal_lm, resolve_precision,  # noqa: E402
                                             uses_bf16_autocast)

SHAPES = {"verifier (prompts 60-384)": (60, 384), "standard (prompts 80-120)": (80, 120)}
COMPLETION = 4  # grpo_verifier's first completions were 3-4 tokens


def batch(rows: int, low: int, high: int, vocab: int, seed: int):
    """Left-padded prompts of random lengths in [low, high], then COMPLETION real tokens."""
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.randint(low, high + 1, (rows,), generator=gen)
    width = int(lengths.max()) + COMPLETION
    ids = torch.randint(100, vocab, (rows, width), generator=gen)
    mask = torch.zeros((rows, width), dtype=torch.long)
    for row, n in enumerate(lengths.tolist()):
        mask[row, width - COMPLETION - n:] = 1
    ids[mask == 0] = 0
    return ids, mask


def backends() -> dict[str, list]:
    """The SDPA backends to force, by name ("default": PyTorch's own pick)."""
    from torch.nn.attention import SDPBackend

    out = {"default": [], "math": [SDPBackend.MATH]}
    if torch.cuda.is_available():
        out["efficient"] = [SDPBackend.EFFICIENT_ATTENTION]
        out["cudnn"] = [SDPBackend.CUDNN_ATTENTION]
    return out


def trial(model, ids, mask, backend: list, autocast: bool, device: str) -> dict:
    """One forward and backward; whether the real logits and the gradients are finite."""
    from torch.nn.attention import sdpa_kernel

    model.zero_grad(set_to_none=True)
    ids, mask = ids.to(device), mask.to(device)
    try:
        with sdpa_kernel(backend) if backend else contextlib.nullcontext():
            with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=autocast):
                logits = model(input_ids=ids, attention_mask=mask, logits_to_keep=COMPLETION + 1).logits
            logps = torch.log_softmax(logits[:, :-1].float(), -1)
            taken = logps.gather(-1, ids[:, -COMPLETION:, None]).squeeze(-1)
            taken.mean().backward()
    except RuntimeError as err:  # a backend this device or mask cannot run
        return {"error": str(err).splitlines()[0][:120]}
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    bad = sum(int(not g.isfinite().all()) for g in grads)
    return {"finite_logits": bool(logits.isfinite().all()), "nonfinite_grad_tensors": bad,
            "grad_tensors": len(grads), "loss": float(taken.detach().mean())}


def main() -> None:
    """Run every (shape, attention, backend) combination; see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/base")
    ap.add_argument("--rows", type=int, default=128, help="sequences a batch (grpo: 16 x 8)")
    ap.add_argument("--repeats", type=int, default=3, help="batches (seeds) a combination")
    args = ap.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    precision = resolve_precision("auto")
    rows = []
    for attention in ("sdpa", "pad_safe"):
        model = load_causal_lm(args.model, precision).to(device)
        model.train()
        if attention == "pad_safe":
            use_pad_safe_attention(model)
            assert model.config._attn_implementation == PAD_SAFE_SDPA
        for shape, (low, high) in SHAPES.items():
            for name, backend in backends().items():
                results = [trial(model, *batch(args.rows, low, high, model.config.vocab_size, seed),
                                 backend, uses_bf16_autocast(precision), device)
                           for seed in range(args.repeats)]
                errors = [r["error"] for r in results if "error" in r]
                done = [r for r in results if "error" not in r]
                rows.append({
                    "batch": shape, "attention": attention, "sdpa_backend": name,
                    "batches": len(done),
                    "batches_with_nonfinite_grads": sum(r["nonfinite_grad_tensors"] > 0 for r in done),
                    "batches_with_nonfinite_logits": sum(not r["finite_logits"] for r in done),
                    "error": errors[0] if errors else None,
                })
                print(rows[-1], file=sys.stderr, flush=True)
        del model
    print(f"\n{args.rows} left-padded sequences a batch, {args.repeats} batches, precision {precision}, "
          f"{device}")
    print_table(rows, ["batch", "attention", "sdpa_backend", "batches", "batches_with_nonfinite_grads",
                       "batches_with_nonfinite_logits", "error"])
    write_results(f"padding_nan-{device}", {"rows_per_batch": args.rows, "repeats": args.repeats,
                                  "precision": precision, "device": device, "rows": rows,
                                  "machine": machine(("torch", "transformers"))}, EXPERIMENT_RESULTS)


if __name__ == "__main__":
    main()
