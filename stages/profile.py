"""profile: the base model's pass rate per task and difficulty → metrics/profile.json.

Reads params: seed, profile.*, data.tasks (each training task is also measured at its own
difficulty). Writes data/profile/samples.jsonl (per problem: id, task, level, right samples
out of k, the answers read) and metrics/profile.json (per task and level: n, k, pass_rate,
pass_at_k, mixed, in_band; the in-band cells; the level each data.tasks task trains on).
grpo.curriculum.profile reads it. An interrupted run resumes from data/profile_journal/.
"""

from __future__ import annotations

import time
from pathlib import Path

from slm_math.config import Params, ParamsError, to_dict
from slm_math.evaluation.models import ModelNotFoundError, load_model_generator, model_dir
from slm_math.evaluation.profile import profile_metrics, profile_table, run_profile
from slm_math.evaluation.run import cell_fingerprint, model_fingerprint
from slm_math.generation.vllm_env import auto_engine
from slm_math.jsonl import write_json, write_jsonl
from slm_math.stage_runner import register_user_error, run_stage

register_user_error(ModelNotFoundError)


def generator_options(backend: str, batch_size: int | None) -> dict:
    """Backend options: hf on the best device; vllm's CPU settings are the backend's own."""
    if backend == "hf":
        return {"batch_size": batch_size, "progress": False}
    return {}


def main(params: Params) -> None:
    """Measure every (task, level), write the samples, the metrics and a table."""
    cfg = params.profile
    if not cfg.tasks and not params.data.tasks:
        raise ParamsError("params.yaml: profile.tasks and data.tasks are both empty: "
                          "nothing to profile")
    path = model_dir("base")
    backend = auto_engine(cfg.backend, fallback="hf", what="profile.backend")
    mix = params.data.tasks
    fingerprint = cell_fingerprint(model=model_fingerprint(path), profile=to_dict(cfg),
                                   mix={k: to_dict(v) for k, v in mix.items()},
                                   backend=backend, seed=params.seed)
    journal = Path("data/profile_journal") / f"{fingerprint}.jsonl"
    start = time.perf_counter()
    samples, mix_levels = run_profile(
        cfg, seed=params.seed, mix=mix, journal=journal,
        generator=lambda: load_model_generator(path, backend,
                                               **generator_options(backend, cfg.batch_size)))
    metrics = profile_metrics(samples, cfg, mix_levels, model="base", backend=backend,
                              wall_s=round(time.perf_counter() - start, 1))
    write_jsonl("data/profile/samples.jsonl", samples)
    write_json("metrics/profile.json", metrics)
    journal.unlink(missing_ok=True)
    print(profile_table(metrics))
    print(f"[profile] in band ({cfg.min_pass_rate} < pass rate < {cfg.max_pass_rate}): "
          + (", ".join(f"{t}/{lv}" for t, lv in metrics["selected"]) or "none"))


if __name__ == "__main__":
    run_stage("profile", main)
