"""DVCLive's per-step TSVs read back as curves, as a partial summary of a cut run reads them."""

from __future__ import annotations

import pytest

from slm_math.tracking.dvclive_curves import read_curves, window_means


def test_curves_written_by_dvclive_are_read_back(tmp_path):
    from dvclive import Live

    with Live(str(tmp_path / "dvclive" / "grpo"), save_dvc_exp=False, dvcyaml=None) as live:
        for step in range(5):
            live.log_metric("reward", step / 10)
            live.log_metric("dynamic/zero_std_trained", 0.0 if step < 4 else 0.25)
            live.next_step()
    curves = read_curves(tmp_path / "dvclive" / "grpo")
    assert curves["reward"] == {"step": [0, 1, 2, 3, 4], "value": [0.0, 0.1, 0.2, 0.3, 0.4]}
    assert curves["dynamic/zero_std_trained"]["value"] == [0.0, 0.0, 0.0, 0.0, 0.25]
    assert read_curves(tmp_path / "nothing") == {}


def test_unparsable_and_non_finite_rows_are_skipped(tmp_path):
    folder = tmp_path / "plots" / "metrics"
    folder.mkdir(parents=True)
    (folder / "loss.tsv").write_text("step\tloss\n1\t0.5\n2\tnan\n3\toops\n4\t0.25\n")
    assert read_curves(tmp_path)["loss"] == {"step": [1, 4], "value": [0.5, 0.25]}


def test_window_means():
    curve = {"step": [1, 2, 3, 4, 5], "value": [0.0, 1.0, 0.5, 0.5, 1.0]}
    assert window_means(curve, 2) == [{"from": 1, "to": 2, "mean": 0.5}, {"from": 3, "to": 4, "mean": 0.5},
                                      {"from": 5, "to": 5, "mean": 1.0}]
    with pytest.raises(ValueError, match="width"):
        window_means(curve, 0)
