"""A throwaway sqlite MLflow store per test session (never the repo's mlflow.db)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def mlflow_db(tmp_path_factory) -> str:
    """A sqlite tracking URI in a temp folder (artifacts go to mlartifacts/ beside it)."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


@pytest.fixture
def tracking(mlflow_db, monkeypatch):
    """Tracking params pointing at the temp store through MLFLOW_TRACKING_URI."""
    from slm_math.config.params import TrackingParams

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_db)
    return TrackingParams(uri="sqlite:///must-not-be-used.db", experiment="tests")
