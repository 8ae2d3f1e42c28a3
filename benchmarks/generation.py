"""Benchmark: output tokens/s of the hf generation backend next to plain `model.generate`.

A randomly initialized model of Qwen2.5-1.5B's shapes (bf16) generates a fixed number of
tokens for every prompt (EOS never ends a row: the tokenizer has none), so every method
does exactly the same work. Measured in one run:
  - plain: `model.generate` (dynamic cache, eager) on one batch of each size in --plain-batches;
  - hf backend: all prompts, per --backend-batches, greedy; a cold call (includes the CUDA
    graph capture) then a warm one; then once sampled (temperature 1, top_p 0.95, seeded)
    at the first of --backend-batches (--skip sampled leaves it out);
  - continuous batching: transformers' `model.generate_batch` on all prompts, warm (off by
    default: --skip= turns it on; its cold call is very slow on a GPU: see the results file).
The backend's greedy tokens are compared with plain generate's on the first rows
("agreement": the mean share of each row's tokens before the first difference; bf16 near-ties
of a random model make some difference expected).
Prints a table and writes benchmarks/results/generation.json. `--tiny` runs a small config
on CPU as a smoke test (it writes generation-tiny.json, never the GPU results).

    python benchmarks/generation.py            # on a GPU
    python benchmarks/generation.py --tiny     # anywhere, seconds
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time

import torch
import transformers
from transformers import GenerationConfig, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from slm_math.generation import SamplingParams  # noqa: E402
from slm_math.generation.hf import HFGenerator  # noqa: E402

QWEN25_15B = dict(
    hidden_size=1536, num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
    intermediate_size=8960, vocab_size=151936, max_position_embeddings=32768,
    tie_word_embeddings=True, rope_theta=1_000_000.0,
)
TINY = dict(
    hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
    intermediate_size=128, vocab_size=1024, max_position_embeddings=1024, tie_word_embeddings=True,
)


def word_tokenizer(vocab_size: int) -> PreTrainedTokenizerFast:
    """A tokenizer whose tokens are the words t0 .. t{V-3}, <unk>, <pad>: text maps to exact ids."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    vocab = {f"t{i}": i for i in range(vocab_size - 2)}
    vocab.update({"<unk>": vocab_size - 2, "<pad>": vocab_size - 1})
    tk = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tk.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    return PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="<unk>", pad_token="<pad>")


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def bench_plain(model, prompt_ids: list[list[int]], batch: int, new_tokens: int, pad: int) -> dict:
    """One batch of plain greedy `model.generate`, every row exactly `new_tokens` long.

    The generated ids are returned under "_rows" (left out of the JSON)."""
    rows = prompt_ids[:batch]
    x = torch.tensor(rows, device=model.device)
    config = GenerationConfig(
        max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
        pad_token_id=pad, eos_token_id=None,
    )
    sync()
    start = time.perf_counter()
    out = model.generate(input_ids=x, attention_mask=torch.ones_like(x), generation_config=config)
    sync()
    seconds = time.perf_counter() - start
    tokens = (out.shape[1] - x.shape[1]) * len(rows)
    return {"batch": batch, "tokens": tokens, "seconds": seconds, "tokens_per_s": tokens / seconds,
            "_rows": out[:, x.shape[1]:].tolist()}


def bench_backend(gen: HFGenerator, prompts: list[str], params: SamplingParams) -> dict:
    """All prompts through the hf backend: a cold call (captures graphs) and a warm one.

    The warm call's completions are returned under "_results" (left out of the JSON)."""
    times, tokens = [], 0
    for _ in range(2):
        sync()
        start = time.perf_counter()
        results = gen.generate(prompts, params)
        sync()
        times.append(time.perf_counter() - start)
        tokens = sum(c.tokens_out for r in results for c in r)
    return {
        "batch_size": gen.batch_size, "decoder": gen.decoder, "cuda_graph": gen.graph_used,
        "temperature": params.temperature, "top_p": params.top_p, "tokens": tokens,
        "cold_seconds": times[0], "seconds": times[1], "tokens_per_s": tokens / times[1],
        "finish_length": sum(c.finish_reason == "length" for r in results for c in r),
        "_results": results,
    }


def agreement(reference: list[list[int]], ours: list[list[int]]) -> float:
    """Mean share of each row's tokens before the first difference from the reference."""
    shares = []
    for ref, row in zip(reference, ours):
        same = next((k for k, (a, b) in enumerate(zip(ref, row)) if a != b), min(len(ref), len(row)))
        shares.append(same / max(len(ref), 1))
    return sum(shares) / len(shares)


def public(r: dict) -> dict:
    """A result without its bulky "_" entries."""
    return {k: v for k, v in r.items() if not k.startswith("_")}


def bench_continuous(model, prompt_ids: list[list[int]], new_tokens: int, pad: int) -> dict:
    """transformers' continuous batching (`generate_batch`) on all prompts; warm-up call first."""
    config = GenerationConfig(
        max_new_tokens=new_tokens, do_sample=False, pad_token_id=pad, eos_token_id=None,
    )
    times, tokens = [], 0
    for _ in range(2):
        sync()
        start = time.perf_counter()
        out = model.generate_batch(prompt_ids, generation_config=config, max_new_tokens=new_tokens)
        sync()
        times.append(time.perf_counter() - start)
        tokens = sum(len(o.generated_tokens) for o in out.values())
    return {"tokens": tokens, "cold_seconds": times[0], "seconds": times[1], "tokens_per_s": tokens / times[1]}


def main() -> None:
    """Run the benchmark; see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiny", action="store_true", help="small model and sizes on CPU: a smoke test")
    ap.add_argument("--prompts", type=int, default=512)
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--new-tokens", type=int, default=512)
    ap.add_argument("--plain-batches", default="32,128,512")
    ap.add_argument("--backend-batches", default="512,256")
    ap.add_argument("--skip", default=None,
                    help="comma list of parts to skip: plain,backend,sampled,cb (default: cb)")
    ap.add_argument("--decoder", default=None, choices=["static", "generate"],
                    help="the hf backend's decoder (default: static on a GPU, generate on CPU)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if args.tiny:
        args.prompts, args.prompt_len, args.new_tokens = 16, 16, 16
        args.plain_batches, args.backend_batches = "4,16", "16"
    # generate_batch: on CPU its paged cache takes minutes, on a GPU its cold call of 512
    # prompts is very slow (benchmarks/results/generation.json); --skip= runs it
    skip_default = "cb"
    skip = set(filter(None, (args.skip if args.skip is not None else skip_default).split(",")))
    device = "cuda" if torch.cuda.is_available() and not args.tiny else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    shapes = TINY if args.tiny else QWEN25_15B

    torch.manual_seed(0)
    config = Qwen2Config(**shapes)
    with torch.device(device):
        model = Qwen2ForCausalLM(config).to(dtype).eval()
    tok = word_tokenizer(config.vocab_size)
    rng = random.Random(0)
    prompt_ids = [[rng.randrange(config.vocab_size - 2) for _ in range(args.prompt_len)] for _ in range(args.prompts)]
    prompts = [" ".join(f"t{i}" for i in ids) for ids in prompt_ids]
    assert tok(prompts[0], add_special_tokens=False).input_ids == prompt_ids[0]
    pad = tok.pad_token_id

    result: dict = {
        "what": "output tokens/s, greedy, fixed length (EOS never ends a row)",
        "model": "random init, " + ("tiny" if args.tiny else "Qwen2.5-1.5B shapes"), "shapes": shapes,
        "dtype": str(dtype), "prompts": args.prompts, "prompt_len": args.prompt_len,
        "new_tokens": args.new_tokens,
        "machine": {
            "gpu": torch.cuda.get_device_name() if device == "cuda" else None,
            "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
        },
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__},
        "plain": [], "backend": [], "continuous_batching": None,
    }
    here = os.path.dirname(os.path.abspath(__file__))
    out = args.out or os.path.join(here, "results", "generation-tiny.json" if args.tiny else "generation.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)

    def save() -> None:
        with open(out, "w") as f:
            json.dump(result, f, indent=2)

    print(f"model ready on {device}: {sum(p.numel() for p in model.parameters()) / 1e9:.2f}B params", flush=True)
    reference = None  # plain generate's rows of its smallest batch
    if "plain" not in skip:
        for b in map(int, args.plain_batches.split(",")):
            r = bench_plain(model, prompt_ids, b, args.new_tokens, pad)
            print(f"plain generate  batch {b:4d}: {r['tokens_per_s']:10.0f} tok/s ({r['seconds']:.1f}s)", flush=True)
            reference = reference or r["_rows"]
            result["plain"].append(public(r))
            save()
    if "backend" not in skip:
        greedy = SamplingParams(max_new_tokens=args.new_tokens)
        sampled = SamplingParams(max_new_tokens=args.new_tokens, temperature=1.0, top_p=0.95, seed=0)
        runs = [(b, greedy) for b in map(int, args.backend_batches.split(","))]
        if "sampled" not in skip:
            runs.append((runs[0][0], sampled))
        for b, params in runs:
            gen = HFGenerator(model, tok, batch_size=b, progress=False, decoder=args.decoder)
            r = bench_backend(gen, prompts, params)
            if reference and params.greedy:
                ours = [tok(c.text, add_special_tokens=False).input_ids for [c] in r["_results"]]
                r["agreement_with_plain"] = agreement(reference, ours[: len(reference)])
            how = "greedy" if params.greedy else f"T={params.temperature} top_p={params.top_p}"
            print(f"hf backend      batch {b:4d}: {r['tokens_per_s']:10.0f} tok/s ({r['seconds']:.1f}s warm, "
                  f"{r['cold_seconds']:.1f}s cold; {how}; graph {r['cuda_graph']})", flush=True)
            result["backend"].append(public(r))
            save()
    if "cb" not in skip:
        try:
            r = bench_continuous(model, prompt_ids, args.new_tokens, pad)
            print(f"continuous batching       : {r['tokens_per_s']:10.0f} tok/s ({r['seconds']:.1f}s warm, "
                  f"{r['cold_seconds']:.1f}s cold)", flush=True)
        except Exception as e:  # report it next to the numbers rather than lose them
            r = {"error": f"{type(e).__name__}: {e}"[:500]}
            print(f"continuous batching failed: {r['error']}", flush=True)
        result["continuous_batching"] = r

    best_plain = max((r["tokens_per_s"] for r in result["plain"]), default=None)
    best_backend = max((r["tokens_per_s"] for r in result["backend"] if r["temperature"] == 0),
                       default=None)
    if best_plain and best_backend:
        result["speedup_backend_vs_best_plain"] = best_backend / best_plain
    print("\n| method | batch | tokens/s |\n| --- | --- | --- |")
    for r in result["plain"]:
        print(f"| plain generate, greedy | {r['batch']} | {r['tokens_per_s']:.0f} |")
    for r in result["backend"]:
        how = "greedy" if r["temperature"] == 0 else f"T={r['temperature']}, top_p={r['top_p']}"
        print(f"| hf backend ({r['decoder']}), {how} | {r['batch_size']} | {r['tokens_per_s']:.0f} |")
    cb = result["continuous_batching"]
    if cb and "tokens_per_s" in cb:
        print(f"| continuous batching | auto | {cb['tokens_per_s']:.0f} |")
    if cb is None:
        result["continuous_batching"] = {"error": "not run (--skip cb, the default)"}
    if "speedup_backend_vs_best_plain" in result:
        print(f"\nhf backend vs best plain: {result['speedup_backend_vs_best_plain']:.2f}x")

    save()
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
