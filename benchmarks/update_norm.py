"""What logging each optimizer step's size costs: `UpdateNormMeter` against the step itself.

The meter (slm_math/training/update_norm.py) copies the trainable weights before every
optimizer step and takes the norm of the change after it. This measures, on the model the
profiles train (SmolLM2-135M's shape, random weights: the shapes set the cost) in fp32 as
the CPU trains it (bf16 autocast on fp32 weights), for full fine-tuning and for LoRA r16 on
every projection (the GPU profile's GRPO):

- ``meter_ms``: the meter's two hooks around one step (copy, then difference and norms);
- ``optimizer_ms``: the AdamW step alone (gradients set to random values);
- ``train_ms``: forward and backward of one micro-batch (``--batch`` sequences of
  ``--tokens`` tokens), the least a step adds besides the optimizer (a GRPO step also
  generates, which costs more);
- ``copy_mb``: the memory the copy holds during the step.

Medians of ``--reps`` timed repetitions after one warm-up.

    python benchmarks/update_norm.py              # CPU (or --device cuda)
    python benchmarks/update_norm.py --tiny       # a tiny model: checks the script runs
Writes benchmarks/results/update_norm.json (update_norm_tiny.json, update_norm_cuda.json).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine, print_table, sync, write_results  # noqa: E402

SMOLLM2_135M = dict(vocab_size=49152, hidden_size=576, intermediate_size=1536,
                    num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
                    max_position_embeddings=2048, tie_word_embeddings=True)
TINY = dict(vocab_size=1000, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
            tie_word_embeddings=True)
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def build(shape: dict, mode: str, device: str):
    """A random-weight Llama of ``shape``, fp32, all weights trainable (``full``) or a LoRA
    r16 adapter on every projection (``lora``)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**shape)).to(device)
    if mode == "lora":
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules=LORA_TARGETS))
    model.train()
    return model


def timed(fn, device: str, reps: int) -> float:
    """Median milliseconds of ``fn`` over ``reps`` runs after one warm-up."""
    fn()
    sync(device)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        sync(device)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(shape: dict, mode: str, device: str, batch: int, tokens: int, reps: int) -> dict:
    """One row of the table: the meter, the optimizer step and a micro-batch's training."""
    from slm_math.training.update_norm import UpdateNormMeter

    model = build(shape, mode, device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-6)
    for p in params:
        p.grad = torch.randn_like(p) * 1e-3
    metrics: dict[str, list] = {}
    meter = UpdateNormMeter(metrics)

    def step():
        optimizer.step()

    def metered_step():
        meter.on_pre_optimizer_step(None, None, None, model=model)
        optimizer.step()
        meter.on_optimizer_step(None, None, None)

    ids = torch.randint(0, shape["vocab_size"], (batch, tokens), device=device)
    autocast = torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16)

    def train():
        with autocast:
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()

    optimizer_ms = timed(step, device, reps)
    metered_ms = timed(metered_step, device, reps)
    train_ms = timed(train, device, reps)
    trainable = sum(p.numel() for p in params)
    meter_ms = max(metered_ms - optimizer_ms, 0.0)
    return {"mode": mode, "trainable_params": trainable,
            "copy_mb": round(sum(p.numel() * p.element_size() for p in params) / 2**20, 1),
            "meter_ms": round(meter_ms, 2), "optimizer_ms": round(optimizer_ms, 2),
            "train_ms": round(train_ms, 1),
            "meter_share_of_step": round(meter_ms / (meter_ms + optimizer_ms + train_ms), 4),
            "update_norm_logged": len(metrics.get("update_norm", [])) == reps + 1}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=8, help="sequences a micro-batch")
    parser.add_argument("--tokens", type=int, default=128, help="tokens a sequence")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--tiny", action="store_true", help="a tiny model: checks the script runs")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    shape = TINY if args.tiny else SMOLLM2_135M
    rows = [measure(shape, mode, args.device, args.batch, args.tokens, args.reps)
            for mode in ("full", "lora")]
    columns = ["mode", "trainable_params", "copy_mb", "meter_ms", "optimizer_ms", "train_ms",
               "meter_share_of_step"]
    print(f"UpdateNormMeter on {'a tiny model' if args.tiny else 'SmolLM2-135M'} ({args.device}, "
          f"fp32 weights, micro-batch {args.batch} x {args.tokens} tokens, median of {args.reps})")
    print_table(rows, columns)
    name = "update_norm" + ("_tiny" if args.tiny else "") + ("" if args.device == "cpu" else "_cuda")
    write_results(name, {
        "model": "tiny" if args.tiny else "SmolLM2-135M shape (random weights)",
        "device": args.device, "batch": args.batch, "tokens": args.tokens, "reps": args.reps,
        "threads": torch.get_num_threads(), "rows": rows,
        "machine": machine(("torch", "transformers", "peft"))})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
