"""experiments/grpo_dynamic.py's partial summary: what a run cut by a time limit still leaves."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def script():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location("grpo_dynamic_script", ROOT / "experiments" / "grpo_dynamic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def log_arm(work: Path, arm: str, steps: int, dynamic: bool) -> None:
    from dvclive import Live

    with Live(str(work / arm.replace("/", "+") / "dvclive" / "grpo"), save_dvc_exp=False, dvcyaml=None) as live:
        for step in range(1, steps + 1):
            live.step = step
            live.log_metric("reward", 0.5)
            live.log_metric("frac_reward_zero_std", 0.5 if step <= 5 else 0.75)
            if dynamic:
                live.log_metric("dynamic/zero_std_trained", 0.0 if step < steps else 0.25)
                live.log_metric("dynamic/extra_completions", 16)
                live.log_metric("curriculum/active", 100 - step)
            if step % 5 == 0:
                live.log_metric("held_out/accuracy", step / 100)
                live.log_metric("held_out/tasks_accuracy", 0.5 + step / 100)


def test_a_cut_run_is_summarized_from_its_curves(script, tmp_path):
    log_arm(tmp_path, "static@1", 10, dynamic=False)
    log_arm(tmp_path, "dynamic@1", 6, dynamic=True)
    static = script.partial_arm_summary("static@1", tmp_path, max_steps=10)
    dynamic = script.partial_arm_summary("dynamic@1", tmp_path, max_steps=10)
    assert (static["steps"], static["complete"]) == (10, False)  # no metrics file yet
    assert [w["mean"] for w in static["zero_std_trained_windows"]] == [0.5] * 5 + [0.75] * 5
    assert dynamic["steps"] == 6 and dynamic["extra_completions"] == 96
    assert dynamic["zero_std_trained_mean"] == round(0.25 / 6, 4)
    assert [w["mean"] for w in dynamic["zero_std_drawn_windows"]] == [0.5] * 5 + [0.75]
    assert dynamic["pool_last"] == {"active": 94}
    assert dynamic["held_out"] == {"step": [5], "value": [0.05]}
    assert dynamic["held_out_tasks"] == {"step": [5], "value": [0.55]}
    notes = script.partial_notes({"static@1": static, "dynamic@1": dynamic})
    assert notes[0].startswith("static@1: 10 of 10 steps (not finished); zero-variance share the "
                               "loss saw, by tenths of the run: 0.50, 0.50")
    assert "dynamic@1: 6 of 10 steps (not finished)" in notes[1] and "96 extra completions" in notes[1]
    assert notes[1].endswith("held-out accuracy on the training tasks 0.550; "
                             "held-out guard accuracy 0.050")


def test_the_writer_leaves_a_file_until_stopped(script, tmp_path):
    log_arm(tmp_path, "static@1", 3, dynamic=False)
    path = tmp_path / "out" / "grpo_dynamic.partial.json"
    path.parent.mkdir()
    writer = script.PartialWriter(path, ["static@1"], tmp_path, {"static@1": 10}, every=0.05,
                                  facts={"machine": {"processor": "test"}})
    writer.start()
    writer.write()
    data = json.loads(path.read_text())
    assert data["complete"] is False and data["arms"]["static@1"]["steps"] == 3
    assert data["notes"][0].startswith("static@1: 3 of 10 steps")
    writer.stop()
    assert not path.exists()  # the final results replace it


def test_the_writer_gives_each_arm_its_own_max_steps(script, tmp_path):
    """--arm-set dynamic@1/short grpo.max_steps=4: that arm's progress is out of its own steps."""
    log_arm(tmp_path, "static@1", 3, dynamic=False)
    log_arm(tmp_path, "dynamic@1/short", 3, dynamic=False)
    path = tmp_path / "grpo_dynamic.partial.json"
    writer = script.PartialWriter(path, ["static@1", "dynamic@1/short"], tmp_path,
                                  {"static@1": 10, "dynamic@1/short": 4}, every=60, facts={})
    writer.write()
    data = json.loads(path.read_text())
    assert [data["arms"][a]["max_steps"] for a in ("static@1", "dynamic@1/short")] == [10, 4]
    assert data["notes"][1].startswith("dynamic@1/short: 3 of 4 steps")


def test_a_failed_summary_never_stops_the_run(script, tmp_path, capsys):
    (tmp_path / "blocker").write_text("a file where the folder should be")
    writer = script.PartialWriter(tmp_path / "blocker" / "x.partial.json", ["static@1"], tmp_path, {"static@1": 10},
                                  every=60, facts={})
    writer.safe_write()
    assert "partial summary not written" in capsys.readouterr().err


def test_a_cut_run_gives_grad_norm_and_entropy_by_fifths(script, tmp_path):
    from dvclive import Live

    with Live(str(script.arm_dir(tmp_path, "dynamic@1/lowlr") / "dvclive" / "grpo"), save_dvc_exp=False,
              dvcyaml=None) as live:
        for step in range(1, 7):  # 6 of 10 steps: fifths of 2 steps, the last one not reached
            live.step = step
            live.log_metric("reward", 0.5)
            live.log_metric("grad_norm", float(step))
            live.log_metric("entropy", 1.0 / step)
    row = script.partial_arm_summary("dynamic@1/lowlr", tmp_path, max_steps=10)
    assert [(w["from"], w["to"], w["mean"]) for w in row["update_windows"]["grad_norm"]] == [
        (1, 2, 1.5), (3, 4, 3.5), (5, 6, 5.5)]
    assert [w["mean"] for w in row["update_windows"]["entropy"]] == [0.75, round((1 / 3 + 1 / 4) / 2, 4), 0.1833]
    note = script.partial_notes({"dynamic@1/lowlr": row})[0]
    assert note.startswith("dynamic@1/lowlr: 6 of 10 steps (not finished)")
    assert note.endswith("; grad norm by fifths 1.5, 3.5, 5.5; entropy by fifths 0.75, 0.292, 0.183")
    # an arm that logged neither
    log_arm(tmp_path, "static@1", 3, dynamic=False)
    assert "update_windows" not in script.partial_arm_summary("static@1", tmp_path, max_steps=10)


def test_show_fills_update_windows_from_the_work_folder(script, tmp_path):
    """A results file from before grad_norm reached metrics/grpo.json, and the run's DVCLive
    curves, which logged it: --show --work puts the windows and their notes in the file."""
    import subprocess

    from dvclive import Live

    with Live(str(tmp_path / "work" / "dynamic@1" / "dvclive" / "grpo"), save_dvc_exp=False, dvcyaml=None) as live:
        for step in range(1, 11):
            live.step = step
            live.log_metric("grad_norm", float(step))
            live.log_metric("entropy", 0.5)
    run = {"eval": {}, "arms": {"dynamic@1": {
        "steps": 10, "accuracy": {"pooled": 0.5}, "vs_start": {"delta": 0.01, "a_only": 1, "b_only": 2, "p": 1.0},
        "zero_std_drawn_mean": 0.5, "zero_std_trained_mean": 0.0, "seconds_per_step": 4.0}}}
    source = tmp_path / "run.json"
    source.write_text(json.dumps(run))
    command = [sys.executable, str(ROOT / "experiments" / "grpo_dynamic.py"), "--show", str(source),
               "--work", str(tmp_path / "work"), "--out", str(tmp_path / "out" / "filled.json")]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    filled = json.loads((tmp_path / "out" / "filled.json").read_text())
    row = filled["arms"]["dynamic@1"]
    assert [w["mean"] for w in row["update_windows"]["grad_norm"]] == [1.5, 3.5, 5.5, 7.5, 9.5]
    assert "grad norm by fifths 1.5, 3.5, 5.5, 7.5, 9.5; entropy by fifths 0.5, 0.5, 0.5, 0.5, 0.5" in filled["notes"][0]
    # an arm with no curves there is an error naming it, not a silent gap
    missing = subprocess.run(command[:4] + ["--work", str(tmp_path / "elsewhere")], capture_output=True,
                             text=True, cwd=ROOT)
    assert missing.returncode != 0 and "dynamic@1" in missing.stderr


def journal(work: Path, label: str, verdicts: dict[str, bool]) -> None:
    """An evaluation journal as ``evaluate_cell`` appends it: one row a problem."""
    (work / "eval").mkdir(parents=True, exist_ok=True)
    with open(work / "eval" / f"{label}.jsonl", "a") as f:
        for problem_id, correct in verdicts.items():
            f.write(json.dumps({"problem_id": problem_id, "correct": correct}) + "\n")


def test_the_partial_file_gives_the_evaluations_finished_so_far(script, tmp_path):
    tests = {"products": [{"id": f"p/{k}"} for k in range(4)], "champ": [{"id": "c/0"}]}
    log_arm(tmp_path, "static@1", 3, dynamic=False)
    log_arm(tmp_path, "dynamic@1", 2, dynamic=True)
    path = tmp_path / "grpo_dynamic.partial.json"
    writer = script.PartialWriter(path, ["static@1", "dynamic@1"], tmp_path, {"static@1": 3, "dynamic@1": 10},
                                  every=60, facts={}, evaluation=("start-sft_full", tests, ["products"]))
    journal(tmp_path, "start-sft_full", {"p/0": True, "p/1": False, "p/2": False, "p/3": False})
    writer.write()
    assert "eval" not in json.loads(path.read_text())  # the start lacks the guard's problem
    journal(tmp_path, "start-sft_full", {"c/0": False})
    journal(tmp_path, "static@1", {"p/0": True, "p/1": True, "p/2": True, "p/3": False, "c/0": True})
    journal(tmp_path, "dynamic@1", {"p/0": True, "p/1": True})  # still evaluating
    writer.write()
    data = json.loads(path.read_text())
    assert data["eval"]["start"] == {"pooled": 0.25}  # the guard's benchmark is not pooled
    assert list(data["eval"]["arms"]) == ["static@1"]
    row = data["eval"]["arms"]["static@1"]
    assert row["pooled"] == 0.75
    assert {k: row["vs_start"][k] for k in ("n", "a_only", "b_only", "delta")} == \
        {"n": 4, "a_only": 0, "b_only": 2, "delta": 0.5}
    assert data["notes"][-1].startswith("evaluated so far: start 0.250; static@1 0.750 (+50.0 pp over the start")
