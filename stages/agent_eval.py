"""agent_eval: one eval cell (params `eval.cells`), a model × an agent over every eval benchmark.

    python -m stages.agent_eval --model base --agent standard

Reads params `seed`, `eval` (benchmarks, limit, backend, ...) and `agents.<agent>`; writes
data/eval/<model>-<agent>/<benchmark>.jsonl (every prediction and trace) and
metrics/eval/<model>-<agent>.json (n, accuracy, ci95, ... per benchmark and overall).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from slm_math.agents import UnknownAgentError, build_agent
from slm_math.config import Params, ParamsError
from slm_math.config.params import VERIFIER_OPTIONS
from slm_math.evaluation.metrics import cell_metrics
from slm_math.evaluation.models import ModelNotFoundError, load_model_generator, model_dir
from slm_math.evaluation.run import (cell_fingerprint, evaluate_cell, load_benchmarks,
                                     model_fingerprint, select_fewshot)
from slm_math.generation import SamplingParams
from slm_math.generation.vllm_env import auto_engine
from slm_math.jsonl import write_json, write_jsonl
from slm_math.stage_runner import register_user_error, run_stage

register_user_error(ModelNotFoundError)
register_user_error(UnknownAgentError)


def generator_options(params: Params, backend: str) -> dict:
    """The options the eval params set for `backend`."""
    ev = params.eval
    if backend == "openai":
        return {"base_url": ev.base_url} if ev.base_url else {}
    options: dict = {"dtype": None if ev.dtype == "auto" else ev.dtype}
    if backend == "hf":
        options.update(batch_size=ev.batch_size, device=None if ev.device == "auto" else ev.device)
    return options


def main(params: Params, model: str, agent_name: str) -> None:
    """Evaluate `model` with agent configuration `agent_name`; write rows and metrics."""
    if agent_name not in params.agents:
        raise ParamsError(f"params.yaml: agents: no agent configuration named {agent_name!r}; "
                          f"configured: {', '.join(params.agents)}")
    config = params.agents[agent_name]
    cell = f"{model}-{agent_name}"
    path = model_dir(model)
    backend = auto_engine(params.eval.backend, fallback="hf", what="eval.backend")
    limit = config.limit or params.eval.limit
    benchmarks = load_benchmarks(params.eval.benchmarks, "data/benchmarks", limit)
    fewshot = select_fewshot(params.eval.benchmarks, "data/train", config.fewshot,
                             seed=params.seed, fallback=config.fewshot_fallback)
    sampling = SamplingParams(temperature=config.temperature, top_p=config.top_p,
                              max_new_tokens=config.max_new_tokens, n=config.n,
                              seed=params.seed if config.seed is None else config.seed)
    agent = build_agent(config.type, sampling=sampling, fewshot=fewshot, **config.options)
    # a verifier the agent loads decides the rows too: a retrained one must not reuse a journal
    verifiers = {key: model_fingerprint(config.options[key]) for key in VERIFIER_OPTIONS
                 if config.options.get(key) and Path(str(config.options[key])).is_dir()}
    fingerprint = cell_fingerprint(model=model_fingerprint(path), verifiers=verifiers, agent=vars(config),
                                   benchmarks={k: [p["id"] for p in v] for k, v in benchmarks.items()},
                                   backend=backend, seed=params.seed)
    journal = Path("data/eval_journal") / f"{cell}.{fingerprint}.jsonl"
    start = time.perf_counter()
    rows = evaluate_cell(
        agent, lambda: load_model_generator(path, backend, **generator_options(params, backend)),
        benchmarks, model=model, agent_name=agent_name, journal=journal,
        chunk_size=params.eval.chunk_size)
    wall_s = time.perf_counter() - start
    out = Path("data/eval") / cell
    for stale in out.glob("*.jsonl"):
        if stale.stem not in rows:
            stale.unlink()
    for name, benchmark_rows in rows.items():
        write_jsonl(out / f"{name}.jsonl", benchmark_rows)
    metrics = cell_metrics(rows, wall_s=wall_s)
    metrics.update(model=model, agent=agent_name)
    write_json(Path("metrics/eval") / f"{cell}.json", metrics)
    journal.unlink(missing_ok=True)
    rates = "".join(f", {key} {metrics[key]:.3f}" for key in ("code_executed_rate", "verdict_parsed_rate")
                    if key in metrics)
    print(f"[agent_eval@{cell}] accuracy {metrics['accuracy']:.3f} "
          f"[{metrics['ci95'][0]:.3f}, {metrics['ci95'][1]:.3f}] on {metrics['n']} problems{rates}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """--model and --agent: the matrix cell to run."""
    parser = argparse.ArgumentParser(prog="python -m stages.agent_eval", description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="model name: the folder models/<name>")
    parser.add_argument("--agent", required=True, help="agent configuration: a key of params agents")
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = parse_args()
    run_stage(f"agent_eval@{args.model}-{args.agent}", lambda params: main(params, args.model, args.agent))
