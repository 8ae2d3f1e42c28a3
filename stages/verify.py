"""verify: grade every trace; keep verified ones → data/cot/verified.jsonl, metrics/cot.json.

Reads params: seed, verify.*, cotgen.teachers (cascade order for the `first` policy). Writes
the verified traces of every format (standard, tool) and, with `verify.verdict_traces`, the
verdict traces built from them (`trace_formats.verdict`), each record with its `format`.
"""

from __future__ import annotations

from pathlib import Path

from slm_math.config import Params
from slm_math.data.schema import read_problems
from slm_math.jsonl import read_jsonl, write_json, write_jsonl
from slm_math.stage_runner import run_stage
from slm_math.teacher import cot_metrics, select_verified
from slm_math.teacher.verify import judge_traces
from slm_math.trace_formats.verdict import build_verdict_traces


def token_counter(folder: str | None):
    """Count tokens with the tokenizer in `folder` (one measure for every teacher)."""
    if folder is None:
        return None
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])


def main(params: Params) -> None:
    """Grade data/cot/traces.jsonl, select by policy, write verified traces and metrics."""
    problems = {p["id"]: p for f in sorted(Path("data/train").glob("*.jsonl"))
                for p in read_problems(f)}
    traces = read_jsonl("data/cot/traces.jsonl")
    order = [t.name for t in params.cotgen.teachers]
    judged = judge_traces(traces, problems, workers=params.verify.workers)
    verdicts = [j.verified for j in judged]
    asked = {t["problem_id"] for t in traces}
    verified = select_verified(traces, verdicts, {k: v for k, v in problems.items() if k in asked},
                               policy=params.verify.policy, teacher_order=order)
    limit = params.verify.verdict_traces
    verdict_traces = [] if limit == 0 else build_verdict_traces(
        verified, [t for t, j in zip(traces, judged) if not j.answer_correct and t.get("error") is None],
        problems, max_traces=limit, seed=params.seed)
    write_jsonl("data/cot/verified.jsonl", [*verified, *verdict_traces])
    metrics = cot_metrics(traces, verdicts, verified, teacher_order=order,
                          count_tokens=token_counter(params.verify.tokenizer),
                          reasons=[j.reason for j in judged], verdict_traces=verdict_traces)
    write_json("metrics/cot.json", metrics)
    print(f"  problems {metrics['problems']}  yield {metrics['yield_pct']}%  "
          f"solved by {metrics['solved_by']}  verified traces {metrics['verified_traces']} "
          f"{ {f: m['verified_traces'] for f, m in metrics['formats'].items()} }  "
          f"verdict traces {len(verdict_traces)}  ${metrics['cost_usd']}")


if __name__ == "__main__":
    run_stage("verify", main)
