"""Cross-check: our standard agent against lm-evaluation-harness on the same model and prompts.

lm-eval (EleutherAI's harness, `lm-eval` on PyPI) runs a custom local task: a YAML task whose
data is a local JSONL (no hub) holding, for each problem, exactly the user message our
standard agent sends (`prompts/solve.jinja`); lm-eval applies the model's chat template
(`apply_chat_template`), generates greedily until `<|im_end|>` with the same token budget and
batch size. Our side is the standard agent with the hf backend. Both outputs are graded by
our grader, then compared problem by problem: identical text, same extracted answer, same
verdict. Prints a table, the disagreements, and writes benchmarks/results/vs_lm_eval.json.

    python benchmarks/vs_lm_eval.py [--problems 100] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import torch  # noqa: E402
import transformers  # noqa: E402
import yaml  # noqa: E402

from slm_math.agents import build_agent  # noqa: E402
from slm_math.config import load_params  # noqa: E402
from slm_math.evaluation.run import load_benchmarks, round_robin  # noqa: E402
from slm_math.evaluation.stats import wilson_interval  # noqa: E402
from slm_math.generation import SamplingParams, load_generator  # noqa: E402
from slm_math.grading import extract_answer, grade_many  # noqa: E402
from slm_math.jsonl import write_json, write_jsonl  # noqa: E402
from slm_math.prompts import render  # noqa: E402

TASK = "slm_math_standard"
STOP = "<|im_end|>"


def task_yaml(data_file: Path, max_new_tokens: int) -> dict:
    """The lm-eval task: local JSON data, our prompt verbatim, greedy generate_until."""
    return {
        "task": TASK,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(data_file)}},
        "test_split": "test",
        "output_type": "generate_until",
        "doc_to_text": "{{prompt}}",
        "doc_to_target": "{{answer}}",
        "target_delimiter": "",
        "generation_kwargs": {"until": [STOP], "do_sample": False, "temperature": 0.0,
                              "max_gen_toks": max_new_tokens},
        "metric_list": [{"metric": "bypass"}],
    }


def run_lm_eval(problems: list[dict], model: str, max_new_tokens: int, batch_size: int,
                workdir: Path) -> tuple[dict[str, str], float]:
    """lm-eval's completion for each problem id, and its wall time (model load included)."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    data_file = workdir / "problems.jsonl"
    write_jsonl(data_file, [{"id": p["id"], "prompt": render("solve", problem=p["problem"]),
                             "answer": p["answer"]} for p in problems])
    (workdir / "tasks").mkdir()
    (workdir / "tasks" / f"{TASK}.yaml").write_text(yaml.safe_dump(task_yaml(data_file, max_new_tokens)))
    start = time.perf_counter()
    out = lm_eval.simple_evaluate(
        model="hf", model_args={"pretrained": model, "dtype": "float32"}, tasks=[TASK],
        task_manager=TaskManager(include_path=str(workdir / "tasks")), apply_chat_template=True,
        batch_size=batch_size, device="cpu", log_samples=True, predict_only=True)
    wall = time.perf_counter() - start
    texts = {s["doc"]["id"]: s["resps"][0][0] for s in out["samples"][TASK]}
    return texts, wall


def run_ours(problems: list[dict], model: str, max_new_tokens: int, batch_size: int) -> tuple[dict[str, str], float]:
    """Our standard agent's completion for each problem id, and its wall time (load included)."""
    start = time.perf_counter()
    generator = load_generator("hf", model, device="cpu", dtype="float32", batch_size=batch_size)
    agent = build_agent("standard", sampling=SamplingParams(max_new_tokens=max_new_tokens))
    results = agent.solve(generator, problems)
    return {p["id"]: r.response for p, r in zip(problems, results)}, time.perf_counter() - start


def first_difference(a: str, b: str) -> int:
    """The index of the first character where a and b differ (len of the shorter if a prefix)."""
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", type=int, default=100)
    parser.add_argument("--model", default="models/base")
    parser.add_argument("--batch-size", type=int, default=None, help="default: params eval.batch_size")
    parser.add_argument("--max-new-tokens", type=int, default=None,
                        help="default: params agents.standard.max_new_tokens")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--out", default="benchmarks/results/vs_lm_eval.json")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    params = load_params()
    batch_size = args.batch_size or params.eval.batch_size
    max_new_tokens = args.max_new_tokens or params.agents["standard"].max_new_tokens
    problems = [p for ps in round_robin(load_benchmarks(params.eval.benchmarks, "data/benchmarks"),
                                        args.problems).values() for p in ps]

    ours, ours_s = run_ours(problems, args.model, max_new_tokens, batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        theirs, theirs_s = run_lm_eval(problems, args.model, max_new_tokens, batch_size, Path(tmp))

    golds = [p["answer"] for p in problems]
    rules = [p["rule"] for p in problems]
    ours_ok = grade_many([ours[p["id"]] for p in problems], golds, rule=rules)
    theirs_ok = grade_many([theirs[p["id"]] for p in problems], golds, rule=rules)
    per_problem, disagreements = [], []
    for p, a_ok, b_ok in zip(problems, ours_ok, theirs_ok):
        a, b = ours[p["id"]], theirs[p["id"]]
        item = {"id": p["id"], "same_text": a == b, "same_answer": extract_answer(a) == extract_answer(b),
                "ours_correct": a_ok, "lm_eval_correct": b_ok}
        per_problem.append(item)
        if a != b:
            at = first_difference(a, b)
            disagreements.append({
                **item, "ours_answer": extract_answer(a), "lm_eval_answer": extract_answer(b),
                "first_difference_at_char": at, "ours_from_there": a[max(0, at - 40):at + 80],
                "lm_eval_from_there": b[max(0, at - 40):at + 80]})
    n = len(problems)

    def rate(key: str) -> float:
        return round(sum(1 for x in per_problem if x[key]) / n, 4)
    verdict_agree = round(sum(1 for x in per_problem if x["ours_correct"] == x["lm_eval_correct"]) / n, 4)
    result = {
        "what": "standard agent (hf backend) vs lm-evaluation-harness generate_until, same model, "
                "same chat-formatted prompts, greedy, same token budget and batch size",
        "model": args.model, "problems": n, "max_new_tokens": max_new_tokens, "batch_size": batch_size,
        "agreement": {"verdict": verdict_agree, "extracted_answer": rate("same_answer"),
                      "text": rate("same_text")},
        "accuracy": {
            "ours": {"value": round(sum(ours_ok) / n, 4), "ci95": [round(x, 4) for x in wilson_interval(sum(ours_ok), n)]},
            "lm_eval": {"value": round(sum(theirs_ok) / n, 4),
                        "ci95": [round(x, 4) for x in wilson_interval(sum(theirs_ok), n)]}},
        "wall_s": {"ours": round(ours_s, 1), "lm_eval": round(theirs_s, 1)},
        "disagreements": disagreements,
        "per_problem": per_problem,
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                    "torch_threads": torch.get_num_threads(),
                    "load_avg": [round(x, 2) for x in os.getloadavg()],
                    "note": "shared machine: wall times are comparable only within this run"},
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__,
                     "lm_eval": __import__("importlib.metadata").metadata.version("lm-eval")},
    }
    print(f"{'':<22}{'ours':>10}{'lm-eval':>10}")
    print(f"{'accuracy':<22}{result['accuracy']['ours']['value']:>10.3f}{result['accuracy']['lm_eval']['value']:>10.3f}")
    print(f"{'wall s (incl. load)':<22}{ours_s:>10.1f}{theirs_s:>10.1f}")
    print(f"agreement on {n} problems: verdict {verdict_agree:.1%}, answer {rate('same_answer'):.1%}, "
          f"identical text {rate('same_text'):.1%}")
    for d in disagreements:
        print(f"  {d['id']}: ours {d['ours_answer']!r} ({d['ours_correct']}) vs lm-eval "
              f"{d['lm_eval_answer']!r} ({d['lm_eval_correct']}), texts differ at char "
              f"{d['first_difference_at_char']}")
    write_json(args.out, result)


if __name__ == "__main__":
    main()
