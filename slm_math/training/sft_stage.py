"""The sft_lora and sft_full stages: inputs → training → model, metrics, registry version.

Both stages are this one flow with a different params section and mode:
verified traces + train problems → chat examples (each in its format's user turn), held out
by problem, mixed by ``formats`` → :func:`train_sft` inside the stage's
MLflow run (per-step metrics through ``report_to``, curves through DVCLive) → the model
registered as a new version tagged with git commit, params hash and data hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from slm_math.config import Params
from slm_math.jsonl import DataFileError, write_json
from slm_math.tracking import data_hash, git_commit, params_hash, register_checkpoint, stage_run
from slm_math.tracking.mlflow_runs import is_main_process
from slm_math.training.callbacks import dvclive_callback
from slm_math.training.checkpoints import resumable_checkpoint
from slm_math.training.sft import Mode, SFTResult, train_sft
from slm_math.training.sft_data import load_problems, load_sft_examples, mix_formats, split_held_out


@dataclass(frozen=True)
class StagePaths:
    """Where an SFT stage reads and writes, relative to the repo root."""

    traces: Path = Path("data/cot/verified.jsonl")
    problems: Path = Path("data/train")
    base_model: Path = Path("models/base")
    models: Path = Path("models")
    metrics: Path = Path("metrics")
    dvclive: Path = Path("dvclive")

    def output(self, stage: str) -> Path:
        """The stage's final model folder (a DVC output)."""
        return self.models / stage

    def checkpoints(self, stage: str) -> Path:
        """Scratch checkpoints, outside the DVC outputs so an interrupted run can resume."""
        return self.models / ".checkpoints" / stage


STAGE_MODES: dict[str, Mode] = {"sft_lora": "lora", "sft_full": "full"}


def run_sft_stage(stage: str, params: Params, paths: StagePaths = StagePaths()) -> SFTResult:
    """Run ``stage`` ("sft_lora" or "sft_full") end to end and write its metrics file."""
    cfg = getattr(params, stage)
    mode = STAGE_MODES[stage]
    examples = load_sft_examples(paths.traces, load_problems(paths.problems))
    train, held_out = split_held_out(examples, cfg.eval_problems, params.seed)
    try:
        train, by_format = mix_formats(train, cfg.formats, total=cfg.max_examples, seed=params.seed)
    except DataFileError as err:
        raise DataFileError(f"{paths.traces}: {stage}.{err}") from None
    held_out = [e for e in held_out if cfg.formats.get(e["format"], 0) > 0]
    hashes = {"params_hash": params_hash(cfg, {"seed": params.seed}),
              "data_hash": data_hash(paths.traces, paths.problems),
              "base_model_hash": data_hash(paths.base_model)}
    fingerprint = "-".join(hashes.values())
    tags = {"git_commit": git_commit(), **hashes}
    registry_name = getattr(params.tracking.registered_models, stage)

    with stage_run(params.tracking, stage, params={stage: cfg, "seed": params.seed},
                   tags=tags) as run:
        callbacks = []
        if is_main_process():
            resuming = resumable_checkpoint(paths.checkpoints(stage), fingerprint) is not None
            curves = dvclive_callback(paths.dvclive / stage, resume=resuming)
            callbacks += [curves] if curves is not None else []
        result = train_sft(
            base_model=paths.base_model, train_examples=train, eval_examples=held_out,
            cfg=cfg, mode=mode, output_dir=paths.output(stage),
            checkpoint_dir=paths.checkpoints(stage), seed=params.seed, fingerprint=fingerprint,
            report_to=["mlflow"] if run is not None else [], callbacks=callbacks, run_name=stage)
        if run is None:
            return result
        import mlflow

        mlflow.log_metrics({k: float(v) for k, v in result.metrics.items()
                            if isinstance(v, (int, float)) and not isinstance(v, bool)})
        version = register_checkpoint(result.output_dir, registry_name, tags=tags,
                                      log_files=params.tracking.log_model_files,
                                      description=f"{stage}: {len(train)} examples")
    metrics = {**result.metrics, "formats": by_format, **hashes, "git_commit": tags["git_commit"],
               "registered_model": version.name, "registered_version": version.version,
               "mlflow_run_id": version.run_id}
    write_json(paths.metrics / f"{stage}.json", metrics)
    held_out = " -> ".join(f"{metrics[k]:.4f}" for k in ("eval_loss_before", "eval_loss")
                           if metrics.get(k) is not None)
    print(f"[{stage}] loss {metrics['final_loss']:.4f} (best {metrics['best_loss']:.4f}), "
          f"held-out {held_out or '-'}, {metrics['tokens_per_s']} tokens/s; "
          f"registered {version.name} v{version.version} @{version.alias}")
    return result


__all__ = ["STAGE_MODES", "StagePaths", "run_sft_stage"]
