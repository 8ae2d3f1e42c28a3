"""SFT training throughput: tokens/s, model FLOPs utilization and peak memory.

A Qwen2.5-1.5B-shaped model (random weights: the shapes set the cost, not the values) is
trained at sequence length 2048 in bf16, LoRA and full, with and without packing:

- packed: every sequence is a full 2048-token block (TRL ``packing=True``);
- unpacked: sequence lengths drawn uniformly from 128..2048, each batch padded to its
  longest (TRL's default collator); tokens/s counts real tokens only, so padding is waste.

MFU = model FLOPs per token × tokens/s ÷ the measured bf16 matmul rate of the device
(an 8192³ product, recorded in the results file). Model FLOPs per token: 6 × params for
full fine-tuning; 4 × params for LoRA (the frozen weights get no weight gradient; the
6N column applies 6N to both). The loop is what ``Trainer`` runs per
step (forward with labels, backward, clip, fused AdamW step) without its bookkeeping.

    python benchmarks/sft.py            # on a GPU: the table above, ~2 minutes
    python benchmarks/sft.py --tiny     # on CPU: a tiny model, checks the script runs
Writes benchmarks/results/sft.json (sft-tiny.json with --tiny: not a result).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, print_table, sync, write_results  # noqa: E402

QWEN25_15B = dict(vocab_size=151936, hidden_size=1536, intermediate_size=8960,
                  num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
                  max_position_embeddings=32768, tie_word_embeddings=True, rope_theta=1e6)
TINY = dict(vocab_size=4096, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
            tie_word_embeddings=True)


def matmul_tflops(device: str, n: int = 8192, reps: int = 10) -> float:
    """Measured dense bf16 matmul rate (TFLOP/s): the MFU denominator (fp32 on CPU)."""
    if device != "cuda":
        n, reps = 512, 3
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    sync(device)
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    sync(device)
    return 2 * n ** 3 * reps / (time.perf_counter() - start) / 1e12


def make_batches(packed: bool, batch: int, seq: int, vocab: int, n: int, seed: int = 0):
    """(input_ids, attention_mask, labels, real tokens) batches on CPU."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        lengths = [seq] * batch if packed else [rng.randint(seq // 16, seq) for _ in range(batch)]
        width = max(lengths)
        ids = torch.randint(0, vocab, (batch, width))
        mask = torch.zeros(batch, width, dtype=torch.long)
        for row, length in enumerate(lengths):
            mask[row, :length] = 1
        labels = ids.masked_fill(mask == 0, -100)
        out.append((ids, mask, labels, sum(lengths)))
    return out


def run_config(config: dict, *, lora: bool, packed: bool, device: str, batch: int, seq: int,
               warmup: int, steps: int, peak_tflops: float) -> dict:
    """Train ``warmup + steps`` steps; time the last ``steps``."""
    from transformers import LlamaConfig, Qwen2Config, Qwen2ForCausalLM, LlamaForCausalLM

    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    torch.manual_seed(0)
    if config is QWEN25_15B:
        model = Qwen2ForCausalLM(Qwen2Config(**config, attn_implementation="sdpa"))
    else:
        model = LlamaForCausalLM(LlamaConfig(**config, attn_implementation="sdpa"))
    model = model.to(device=device, dtype=dtype)
    params = sum(p.numel() for p in model.parameters())
    if lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(
            r=16, lora_alpha=32, lora_dropout=0.0, task_type="CAUSAL_LM",
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                            "down_proj"]))
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-5, fused=device == "cuda")
    batches = make_batches(packed, batch, seq, config["vocab_size"], warmup + steps)
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    tokens, start = 0, None
    for i, (ids, mask, labels, real) in enumerate(batches):
        if i == warmup:
            sync(device)
            start = time.perf_counter()
        ids, mask, labels = ids.to(device), mask.to(device), labels.to(device)
        # packed blocks need no mask (TRL packs with position ids: no padding to hide)
        loss = model(input_ids=ids, attention_mask=None if packed else mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if i >= warmup:
            tokens += real
    sync(device)
    elapsed = time.perf_counter() - start
    tps = tokens / elapsed
    flops_per_token = (4 if lora else 6) * params
    row = {"mode": "lora" if lora else "full", "packing": packed, "params": params,
           "trainable_params": sum(p.numel() for p in trainable), "batch": batch, "seq": seq,
           "steps": steps, "tokens": tokens, "tokens_per_s": round(tps, 1),
           "mfu": round(flops_per_token * tps / (peak_tflops * 1e12), 4),
           "mfu_6n": round(6 * params * tps / (peak_tflops * 1e12), 4),
           "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2 ** 30, 2)
           if device == "cuda" else None,
           "alloc_retries": torch.cuda.memory_stats().get("num_alloc_retries", 0)
           if device == "cuda" else None,
           "final_loss": round(float(loss.detach()), 4)}
    del model, optimizer, trainable
    if device == "cuda":
        torch.cuda.empty_cache()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny model on CPU (a smoke run)")
    parser.add_argument("--batch", type=int, default=4, help="sequences per step")
    parser.add_argument("--steps", type=int, default=8, help="timed steps per configuration")
    parser.add_argument("--out", default=None,
                        help="results JSON path (default benchmarks/results/sft.json)")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() and not args.tiny else "cpu"
    config, seq = (TINY, 128) if args.tiny else (QWEN25_15B, 2048)
    steps, warmup = (3, 1) if args.tiny else (args.steps, 3)
    peak = matmul_tflops(device)
    rows = []
    for lora in (False, True):
        for packed in (True, False):
            batch = args.batch
            while True:
                try:
                    rows.append(run_config(config, lora=lora, packed=packed, device=device,
                                           batch=batch, seq=seq, warmup=warmup, steps=steps,
                                           peak_tflops=peak))
                    break
                except torch.cuda.OutOfMemoryError:
                    torch.cuda.empty_cache()
                    if batch == 1:
                        raise
                    batch //= 2  # the largest batch that fits is the one to report
                    print(f"out of memory: retrying with batch {batch}", flush=True)
            print(json.dumps(rows[-1]), flush=True)
    result = {
        "benchmark": "sft", "model": "tiny" if args.tiny else "Qwen2.5-1.5B shape, random init",
        "seq": seq, "precision": "bf16" if device == "cuda" else "fp32",
        "measured_matmul_tflops": round(peak, 1), "rows": rows,
        "alloc_conf": os.environ.get("PYTORCH_CUDA_ALLOC_CONF"),
        "command": " ".join(["python", "benchmarks/sft.py", *sys.argv[1:]]),
        "machine": machine(("torch", "transformers", "peft")),
    }
    print(f"\nSFT throughput, {result['model']}, seq {seq}, "
          f"{result['machine'].get('gpu', 'CPU')} (matmul {peak:.0f} TFLOP/s measured)")
    print_table([{**r, "MFU": f"{r['mfu']:.1%}", "MFU(6N)": f"{r['mfu_6n']:.1%}"} for r in rows],
                ["mode", "packing", "batch", "tokens_per_s", "MFU", "MFU(6N)", "peak_memory_gib"])
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    else:
        write_results("sft-tiny" if args.tiny else "sft", result)


if __name__ == "__main__":
    main()
