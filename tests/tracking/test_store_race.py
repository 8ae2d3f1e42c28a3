"""Stages that start at once (`slm-math run --jobs N`) on one new sqlite MLflow store."""

from __future__ import annotations

import multiprocessing

from slm_math.config.params import TrackingParams

STAGES = 4


def _first_contact(uri: str, barrier) -> str:
    """What a stage does first: point MLflow at the store and the experiment."""
    import os

    os.environ.pop("MLFLOW_TRACKING_URI", None)
    import mlflow

    from slm_math.tracking.mlflow_runs import use_experiment

    barrier.wait()
    use_experiment(TrackingParams(uri=uri, experiment="race"))
    return mlflow.get_experiment_by_name("race").experiment_id


def test_stages_starting_together_on_a_new_store_share_one_experiment(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Manager().Barrier(STAGES)
    with ctx.Pool(STAGES) as pool:
        ids = pool.starmap(_first_contact, [(uri, barrier)] * STAGES)
    assert len(set(ids)) == 1  # every stage got through, into the same experiment
    assert (tmp_path / "mlflow.db.lock").exists()
