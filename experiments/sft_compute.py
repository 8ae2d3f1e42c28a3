"""Accuracy against SFT compute: what the offline CPU budget leaves on the table (an
experiment, not a speed benchmark).

The CPU profiles train on a few hundred verified traces for one epoch, because 2 CPU cores
allow no more. This experiment asks whether more compute would beat the 4-shot base model:
full fine-tuning of the same base model on the same verified traces (`data/cot/verified.jsonl`, the chat format and assistant-only loss
of the sft stages), for a grid of example counts, epochs and learning rates, then greedy
decoding of the same test problems the eval cells answer (the first `--limit` of each
benchmark, the standard prompt, 256 new tokens).

It is a plain PyTorch loop (AdamW, cosine schedule with 5% warmup, bf16 autocast), not TRL's
SFTTrainer, so that it runs on a GPU machine that has torch and transformers only. Grading
needs math-verify: where it is installed the answers are graded at once; elsewhere the file
is written ungraded and `--grade FILE` grades it later (on the dev machine):

    python experiments/sft_compute.py --model-dir models/base        # on one GPU: the grid
    python experiments/sft_compute.py --grade experiments/results/sft_compute.json
    python experiments/sft_compute.py --tiny                         # CPU smoke run

Writes experiments/results/sft_compute.json (sft_compute-tiny.json with --tiny).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import (EXPERIMENT_RESULTS, machine, print_table,  # noqa: E402
                               write_results)

from slm_math.data.schema import read_problems  # noqa: E402
from slm_math.training.sft_data import load_problems, load_sft_examples, user_prompt  # noqa: E402

# (examples, epochs, learning rate): the untrained base, the offline profile's budget, more
GRID = [(0, 0, 0.0), (256, 1, 5e-5), (1306, 1, 5e-5), (1306, 3, 5e-5), (1306, 3, 2e-4), (1306, 8, 1e-4)]


def encode(tokenizer, example: dict, max_length: int) -> tuple[list[int], list[int]]:
    """Token ids and labels of one chat example: the loss falls on the assistant turn only."""
    prompt = tokenizer.apply_chat_template(example["prompt"], tokenize=False,
                                           add_generation_prompt=True)
    full = tokenizer.apply_chat_template(example["prompt"] + example["completion"],
                                         tokenize=False)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    ids = tokenizer(full, add_special_tokens=False)["input_ids"][:max_length]
    labels = [-100] * min(len(prompt_ids), len(ids)) + ids[len(prompt_ids):]
    return ids, labels


def train(model, tokenizer, examples: list[dict], *, epochs: int, lr: float, batch: int,
          seed: int, device: str, max_length: int = 256) -> dict:
    """Full fine-tuning; returns steps, tokens seen and the last logged loss."""
    import torch

    data = [encode(tokenizer, e, max_length) for e in examples]
    steps = epochs * math.ceil(len(data) / batch)
    optim = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    warmup = max(1, int(0.05 * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: (s + 1) / warmup if s < warmup
        else 0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, steps - warmup))))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    rng, step, tokens, loss_value = random.Random(seed), 0, 0, float("nan")
    model.train()
    for _ in range(epochs):
        order = list(range(len(data)))
        rng.shuffle(order)
        for start in range(0, len(order), batch):
            rows = [data[i] for i in order[start:start + batch]]
            width = max(len(ids) for ids, _ in rows)
            ids = torch.tensor([r[0] + [pad] * (width - len(r[0])) for r in rows], device=device)
            labels = torch.tensor([r[1] + [-100] * (width - len(r[1])) for r in rows],
                                  device=device)
            mask = torch.tensor([[1] * len(r[0]) + [0] * (width - len(r[0])) for r in rows],
                                device=device)
            with torch.autocast(device.split(":")[0], dtype=torch.bfloat16):
                loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optim.step()
            sched.step()
            optim.zero_grad(set_to_none=True)
            step += 1
            tokens += int(mask.sum())
            loss_value = loss.item()
    return {"steps": step, "tokens": tokens, "final_loss": round(loss_value, 4)}


def generate(model, tokenizer, problems: list[dict], *, device: str, max_new_tokens: int,
             batch: int = 64) -> list[str]:
    """Greedy answers to the standard zero-shot prompt."""
    import torch

    model.eval()
    tokenizer.padding_side = "left"
    texts = []
    for start in range(0, len(problems), batch):
        chunk = problems[start:start + batch]
        prompts = [tokenizer.apply_chat_template(
            [{"role": "user", "content": user_prompt(p["problem"])}], tokenize=False,
            add_generation_prompt=True) for p in chunk]
        enc = tokenizer(prompts, return_tensors="pt", padding=True,
                        add_special_tokens=False).to(device)
        with torch.no_grad(), torch.autocast(device.split(":")[0], dtype=torch.bfloat16):
            out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id)
        texts += tokenizer.batch_decode(out[:, enc["input_ids"].shape[1]:],
                                        skip_special_tokens=True)
    return texts


def test_problems(data: Path, benchmarks: list[str], limit: int) -> list[dict]:
    """The first `limit` test problems of each benchmark, as the eval cells take them."""
    out = []
    for name in benchmarks:
        out += [dict(p) for p in read_problems(data / "benchmarks" / f"{name}.jsonl")][:limit]
    return out


def grade(payload: dict) -> dict:
    """Adds per-benchmark and pooled accuracy to every run that has answers (needs math-verify)."""
    from slm_math.grading import grade_many

    problems = payload["problems"]
    for run in payload["runs"]:
        verdicts = grade_many(run["answers"], [p["answer"] for p in problems],
                              rule=[p.get("rule") or "auto" for p in problems])
        run["correct"] = [bool(v) for v in verdicts]
        by: dict[str, list[bool]] = {}
        for problem, ok in zip(problems, verdicts):
            by.setdefault(problem["source"], []).append(bool(ok))
        run["accuracy"] = {k: round(sum(v) / len(v), 4) for k, v in sorted(by.items())}
        run["accuracy"]["all"] = round(sum(verdicts) / len(verdicts), 4)
    payload["graded"] = True
    return payload


def model_label(model_dir: str) -> str:
    """The base model folder as a results file records it: relative paths as given, an
    absolute one (a scratch folder of the machine) by its name."""
    return Path(model_dir).name if Path(model_dir).is_absolute() else model_dir


def show(payload: dict) -> None:
    """The table: one row per run."""
    rows = []
    for run in payload["runs"]:
        row = {k: run[k] for k in ("name", "examples", "epochs", "lr", "steps", "tokens",
                                   "train_s", "final_loss")}
        row.update({f"acc_{k}": v for k, v in run.get("accuracy", {}).items()})
        rows.append(row)
    print_table(rows, list(rows[0]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", default="models/base", help="base model folder")
    parser.add_argument("--data", default="data", help="folder with cot/, train/, benchmarks/")
    parser.add_argument("--benchmarks", default="basic_arithmetic,chain_sum,products,lcm,champ")
    parser.add_argument("--limit", type=int, default=20, help="test problems per benchmark")
    parser.add_argument("--batch", type=int, default=16, help="examples per optimizer step")
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--grade", metavar="FILE", help="grade a results file written earlier")
    parser.add_argument("--tiny", action="store_true",
                        help="CPU smoke run: 16 examples, 1 step, 8 new tokens")
    parser.add_argument("--out", default=None, help="results file name (default by mode)")
    args = parser.parse_args(argv)

    if args.grade:
        path = Path(args.grade)
        payload = grade(json.loads(path.read_text()))
        payload["model_dir"] = model_label(payload["model_dir"])
        write_results(path.stem, payload, path.parent)
        show(payload)
        return 0

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = "cuda" if torch.cuda.is_available() else "cpu"
    data = Path(args.data)
    problems = load_problems(sorted((data / "train").glob("*.jsonl")))
    examples = [e for e in load_sft_examples(data / "cot" / "verified.jsonl", problems)
                if e["format"] == "standard"]  # the standard format's compute curve
    random.Random(args.seed).shuffle(examples)
    tests = test_problems(data, args.benchmarks.split(","), args.limit)
    grid = [(16, 1, 5e-5)] if args.tiny else GRID
    max_new = 8 if args.tiny else args.max_new_tokens
    tokenizer = AutoTokenizer.from_pretrained(args.model_dir)
    payload = {"machine": machine(), "device": device, "model_dir": model_label(args.model_dir),
               "problems": [{k: p[k] for k in ("id", "source", "answer", "rule") if k in p}
                            for p in tests],
               "runs": [], "graded": False}
    for n, epochs, lr in grid:
        torch.manual_seed(args.seed)
        model = AutoModelForCausalLM.from_pretrained(args.model_dir, dtype=torch.float32).to(device)
        start = time.perf_counter()
        stats = train(model, tokenizer, examples[:n], epochs=epochs, lr=lr, batch=args.batch,
                      seed=args.seed, device=device) if n else {"steps": 0, "tokens": 0,
                                                                  "final_loss": None}
        train_s = time.perf_counter() - start
        answers = generate(model, tokenizer, tests, device=device, max_new_tokens=max_new)
        payload["runs"].append({"name": f"n{n}-e{epochs}-lr{lr:g}", "examples": min(n, len(examples)),
                                "epochs": epochs, "lr": lr, **stats,
                                "train_s": round(train_s, 1), "answers": answers})
        print(f"[sft_compute] {payload['runs'][-1]['name']}: {stats}, {train_s:.1f} s",
              flush=True)
        del model
    try:
        payload = grade(payload)
    except ImportError as err:  # no math-verify on a bare GPU machine: grade later
        print(f"[sft_compute] not graded here ({err}); run --grade on the results file")
    name = args.out or ("sft_compute-tiny" if args.tiny else "sft_compute")
    write_results(name, payload, EXPERIMENT_RESULTS)
    show(payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
