"""cotgen: teacher chain-of-thought for every training problem → data/cot/traces.jsonl.

Reads params: seed, cotgen.*. Inputs: data/train/*.jsonl (and the local model folders the
teachers serve). Appends one record per (problem, teacher, attempt) as answers arrive;
re-running resumes (see docs/cotgen.md). Writes metrics/cotgen.json (requests, tokens, spend).
"""

from __future__ import annotations

from pathlib import Path

from slm_math.config import Params
from slm_math.data.schema import read_problems
from slm_math.jsonl import DataFileError, write_json
from slm_math.stage_runner import register_user_error, run_stage
from slm_math.teacher import (PromptError, TeacherAuthError, TeacherConfigError, interleave,
                              run_cotgen)

TRAIN_DIR = Path("data/train")
TRACES = "data/cot/traces.jsonl"
METRICS = "metrics/cotgen.json"


class IncompleteRun(RuntimeError):
    """Some requests kept failing; the traces so far are kept and a re-run resumes."""


for _error in (TeacherAuthError, TeacherConfigError, PromptError, IncompleteRun):
    register_user_error(_error)


def main(params: Params) -> None:
    """Run the cascade over the train problems; record metrics; fail if any stayed open."""
    files = sorted(TRAIN_DIR.glob("*.jsonl"))
    if not files:
        raise DataFileError(f"{TRAIN_DIR}: no *.jsonl problem files (run the download stage)")
    problems = interleave([read_problems(f) for f in files])
    report = run_cotgen(problems, params.cotgen, seed=params.seed, trace_path=TRACES)
    write_json(METRICS, report.to_dict())
    print(f"  problems {report.problems}  solved by {dict(report.solved_by)}  "
          f"unsolved by format {dict(report.unsolved_by_format)}  "
          f"requests {report.requests} (cache {report.cache_hits}, "
          f"kept {report.reused})  tokens out {report.tokens_out}  ${report.cost_usd:.4f}")
    if report.incomplete:
        raise IncompleteRun(f"{report.incomplete} problems have requests that kept failing "
                            f"(first: {report.first_incomplete_error}); run again to resume")


if __name__ == "__main__":
    run_stage("cotgen", main)
