"""experiments/grpo_dynamic.py's partial summary: what a run cut by a time limit still leaves."""

from __future__ import annotations

import importlib.util
import json
import subprocess
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
    # the pool in the order the curves are read, also from a file's sorted keys (--show)
    sorted_pool = {**dynamic, "pool_last": {"pass_rate/0": 5, "retired": 3, "active": 94}}
    assert "pool at the last step: active 94, retired 3, pass_rate/0 5;" in script.partial_notes({"d": sorted_pool})[0]


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


def test_a_cut_run_gives_the_task_mix_by_halves(script, tmp_path):
    from dvclive import Live

    with Live(str(script.arm_dir(tmp_path, "dynamic@1") / "dvclive" / "grpo"), save_dvc_exp=False,
              dvcyaml=None) as live:
        for step in range(1, 5):  # the updates move from products to lcm
            live.step = step
            live.log_metric("reward", 0.5)
            live.log_metric("mix/products/drawn", 2.0)
            live.log_metric("mix/products/trained", 3.0 if step <= 2 else 1.0)
            live.log_metric("mix/lcm/drawn", 2.0)
            live.log_metric("mix/lcm/trained", 1.0 if step <= 2 else 3.0)
    row = script.partial_arm_summary("dynamic@1", tmp_path, max_steps=10)
    assert row["task_mix"] == {"lcm": {"drawn": 8.0, "trained": 8.0, "trained_share_by_half": [0.25, 0.75]},
                               "products": {"drawn": 8.0, "trained": 8.0,
                                            "trained_share_by_half": [0.75, 0.25]}}
    note = script.partial_notes({"dynamic@1": row})[0]
    assert note.endswith("; trained groups by task, share in the first -> second half: "
                         "lcm 0.25 -> 0.75, products 0.75 -> 0.25")
    assert script.mix_notes(None) == []
    assert script.mix_notes({"a": {"trained_share_by_half": [None, 1.0]}}) == [
        "trained groups by task, share in the first -> second half: a - -> 1.00"]


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
    """An evaluation journal as ``evaluate_cell`` appends it: one row a problem, its benchmark
    the first part of its id (``products/test/7``)."""
    (work / "eval").mkdir(parents=True, exist_ok=True)
    with open(work / "eval" / f"{label}.jsonl", "a") as f:
        for problem_id, correct in verdicts.items():
            f.write(json.dumps({"problem_id": problem_id, "benchmark": problem_id.split("/")[0], "model": label,
                                "agent": "standard", "prediction": "1", "answer": "1", "correct": correct}) + "\n")


def test_the_partial_file_gives_the_evaluations_finished_so_far(script, tmp_path):
    tests = {"products": [{"id": f"products/{k}"} for k in range(4)], "champ": [{"id": "champ/0"}]}
    log_arm(tmp_path, "static@1", 3, dynamic=False)
    log_arm(tmp_path, "dynamic@1", 2, dynamic=True)
    path = tmp_path / "grpo_dynamic.partial.json"
    writer = script.PartialWriter(path, ["static@1", "dynamic@1"], tmp_path, {"static@1": 3, "dynamic@1": 10},
                                  every=60, facts={}, evaluation=("start-sft_full", tests, ["products"]))
    journal(tmp_path, "start-sft_full", {"products/0": True, "products/1": False, "products/2": False,
                                         "products/3": False})
    writer.write()
    assert "eval" not in json.loads(path.read_text())  # the start lacks the guard's problem
    journal(tmp_path, "start-sft_full", {"champ/0": False})
    journal(tmp_path, "static@1", {"products/0": True, "products/1": True, "products/2": True, "products/3": False,
                                   "champ/0": True})
    journal(tmp_path, "dynamic@1", {"products/0": True, "products/1": True})  # still evaluating
    writer.write()
    data = json.loads(path.read_text())
    assert data["eval"]["start"] == {"pooled": 0.25, "products": 0.25, "champ": 0.0}  # champ is not pooled
    assert list(data["eval"]["arms"]) == ["static@1"]
    row = data["eval"]["arms"]["static@1"]
    assert row["pooled"] == 0.75
    assert {k: row["vs_start"][k] for k in ("n", "a_only", "b_only", "delta")} == \
        {"n": 4, "a_only": 0, "b_only": 2, "delta": 0.5}
    assert data["notes"][-2].startswith("evaluated so far: start 0.250; static@1 0.750 (+50.0 pp over the start")
    assert data["notes"][-1] == "accuracy a benchmark, start -> static@1: products 0.250 -> 0.750; champ 0.000 -> 1.000"


# products and lcm pooled, champ the guard; start 2 of 6 pooled (products 1 of 4, lcm 1 of 2), champ 0 of 2
START = {"products/0": True, "products/1": False, "products/2": False, "products/3": False,
         "lcm/0": True, "lcm/1": False, "champ/0": False, "champ/1": False}
STATIC = {"products/0": True, "products/1": True, "products/2": True, "products/3": False,
          "lcm/0": True, "lcm/1": True, "champ/0": True, "champ/1": False}
LOWLR = {"products/0": True, "products/1": False, "products/2": False, "products/3": False,
         "lcm/0": False, "lcm/1": False, "champ/0": False, "champ/1": False}


def test_a_partial_evaluation_gives_each_benchmark_and_compares_with_static(script, tmp_path):
    tests = {name: [{"id": f"{name}/{k}"} for k in range(n)] for name, n in (("products", 4), ("lcm", 2), ("champ", 2))}
    journal(tmp_path, "start-sft_full", START)
    journal(tmp_path, "static@1", STATIC)
    journal(tmp_path, "dynamic@1+lowlr", LOWLR)
    journal(tmp_path, "dynamic@2", dict.fromkeys(START, True))  # no static@2 to compare with
    journal(tmp_path, "dynamic@1", {"products/0": True, "products/1": True})  # still evaluating
    arms = ["static@1", "dynamic@1", "dynamic@1/lowlr", "dynamic@2"]
    done = script.partial_evaluation(tmp_path, arms, "start-sft_full", tests, ["products", "lcm"], "champ")
    assert (done["tasks"], done["start_label"], done["held_out"], done["n_tasks"]) == \
        (["products", "lcm"], "start-sft_full", "champ", 6)
    assert done["start"] == {"pooled": 0.3333, "products": 0.25, "lcm": 0.5, "champ": 0.0}
    assert list(done["arms"]) == ["static@1", "dynamic@1/lowlr", "dynamic@2"]
    static = done["arms"]["static@1"]
    assert static["pooled"] == 0.8333  # the existing key, beside the final results' accuracy dict
    assert static["accuracy"] == {"pooled": 0.8333, "products": 0.75, "lcm": 1.0, "champ": 0.5}
    assert {k: static["vs_start"][k] for k in ("n", "a_only", "b_only", "delta")} == \
        {"n": 6, "a_only": 0, "b_only": 3, "delta": 0.5}
    assert {k: static["held_out_vs_start"][k] for k in ("n", "a_only", "b_only", "delta")} == \
        {"n": 2, "a_only": 0, "b_only": 1, "delta": 0.5}
    assert done["arms"]["dynamic@1/lowlr"]["accuracy"] == {"pooled": 0.1667, "products": 0.25, "lcm": 0.0, "champ": 0.0}
    # dynamic@1 not evaluated yet, dynamic@2 without its static arm: one row
    [row] = done["vs_static"]
    assert {k: row[k] for k in ("arm", "static", "n", "a_only", "b_only", "delta", "p")} == \
        {"arm": "dynamic@1/lowlr", "static": "static@1", "n": 6, "a_only": 4, "b_only": 0, "delta": -0.6667, "p": 0.125}
    note = script.evaluation_note(done)
    assert note.startswith("evaluated so far: start 0.333; static@1 0.833 (+50.0 pp over the start, p 0.25 on 6 problems)")
    assert note.endswith("; dynamic@2 1.000 (+66.7 pp over the start, p 0.12 on 6 problems); "
                         "dynamic@1/lowlr against static@1: -66.7 pp, p 0.12 on 6 problems")
    # dynamic@1's journal completes: it is compared with static@1 too, in the order of the arms
    journal(tmp_path, "dynamic@1", {"products/2": False, "products/3": False, "lcm/0": False, "lcm/1": True,
                                    "champ/0": False, "champ/1": False})
    done = script.partial_evaluation(tmp_path, arms, "start-sft_full", tests, ["products", "lcm"], "champ")
    assert [(r["arm"], r["delta"]) for r in done["vs_static"]] == [("dynamic@1", -0.3333), ("dynamic@1/lowlr", -0.6667)]
    # without a guard among the tests: no held-out comparison
    no_guard = script.partial_evaluation(tmp_path, arms, "start-sft_full", tests, ["products", "lcm"], "math")
    assert no_guard["held_out"] is None and "held_out_vs_start" not in no_guard["arms"]["static@1"]


def cut_run() -> dict:
    """A partial file as a cut run's PartialWriter left it before its evaluation recorded
    what it measured: its arms' summaries, pooled accuracies and tests against the start
    (its arms sorted by name, as its JSON has them), stale notes."""
    def row(pooled: float, delta: float, p: float) -> dict:
        return {"pooled": pooled, "vs_start": {"n": 6, "a_only": 1, "b_only": 1, "delta": delta, "p": p}}
    return {"complete": False, "overrides": {"grpo": {"init": "sft_full", "max_steps": 10}},
            "machine": {"processor": "test"}, "notes": ["stale"],
            "eval": {"start": {"pooled": 0.3333},
                     "arms": {"dynamic@1/lowlr": row(0.1667, -0.1667, 1.0), "static@1": row(0.8333, 0.5, 0.25)}}}


def show(source: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "experiments" / "grpo_dynamic.py"), "--show", str(source),
                           *extra], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_show_recomputes_a_partial_files_evaluation_from_the_journals(script, tmp_path):
    work = tmp_path / "work"
    log_arm(work, "static@1", 10, dynamic=False)
    log_arm(work, "dynamic@1/lowlr", 10, dynamic=True)
    log_arm(work, "dynamic@1", 4, dynamic=True)
    run = cut_run()
    run["arms"] = {arm: script.partial_arm_summary(arm, work, max_steps=10)
                   for arm in ("dynamic@1", "dynamic@1/lowlr", "static@1")}  # sorted, as the file has them
    source = tmp_path / "grpo_dynamic.partial.json"
    source.write_text(json.dumps(run, sort_keys=True))
    journal(work, "start-sft_full", START)
    journal(work, "static@1", STATIC)
    journal(work, "dynamic@1+lowlr", LOWLR)  # dynamic@1 never evaluated

    # without --work: the notes from the file's own evaluation, its arms in the run's order
    done = show(source)
    assert done.returncode == 0, done.stderr
    # (the file's own evaluation is of the older form: pooled accuracy only, no benchmark line)
    assert done.stdout.splitlines()[-1] == ("- evaluated so far: start 0.333; static@1 0.833 (+50.0 pp over the "
                                            "start, p 0.25 on 6 problems); dynamic@1/lowlr 0.167 (-16.7 pp over "
                                            "the start, p 1 on 6 problems)")
    assert not (tmp_path / "out").exists()  # nothing written without --out

    out = tmp_path / "out" / "grpo_dynamic_cut.json"
    done = show(source, "--work", str(work), "--out", str(out))
    assert done.returncode == 0, done.stderr
    written = json.loads(out.read_text())
    assert written["complete"] is False and written["arms"].keys() == run["arms"].keys()
    ev = written["eval"]
    # tasks: the journal's benchmarks but params.yaml's guard (champ), in journal order
    assert (ev["tasks"], ev["held_out"], ev["start_label"]) == (["products", "lcm"], "champ", "start-sft_full")
    assert ev["start"] == {"pooled": 0.3333, "products": 0.25, "lcm": 0.5, "champ": 0.0}
    assert sorted(ev["arms"]) == ["dynamic@1/lowlr", "static@1"]
    assert ev["arms"]["static@1"]["accuracy"]["champ"] == 0.5
    assert ev["arms"]["static@1"]["held_out_vs_start"]["b_only"] == 1
    assert [(r["arm"], r["static"], r["a_only"]) for r in ev["vs_static"]] == [("dynamic@1/lowlr", "static@1", 4)]
    notes = written["notes"]
    assert "stale" not in notes and len(notes) == 5
    # the arms in the order a run names them, not the file's sorted one
    assert [n.split(":")[0] for n in notes[:3]] == ["static@1", "dynamic@1", "dynamic@1/lowlr"]
    assert notes[1].startswith("dynamic@1: 4 of 10 steps (not finished)")
    assert notes[2].startswith("dynamic@1/lowlr: 10 of 10 steps (not finished)")
    assert notes[3] == ("evaluated so far: start 0.333; static@1 0.833 (+50.0 pp over the start, p 0.25 on 6 "
                        "problems); dynamic@1/lowlr 0.167 (-16.7 pp over the start, p 1 on 6 problems); "
                        "dynamic@1/lowlr against static@1: -66.7 pp, p 0.12 on 6 problems")
    assert notes[4] == ("accuracy a benchmark, start -> static@1, dynamic@1/lowlr: products 0.250 -> 0.750, "
                        "0.250; lcm 0.500 -> 1.000, 0.000; champ 0.000 -> 0.500, 0.000")
    assert done.stdout.splitlines()[-2:] == [f"- {notes[3]}", f"- {notes[4]}"]
    assert str(tmp_path) not in out.read_text()

    # a file that records its evaluation's tasks and guard keeps them (here: champ pooled too)
    source.write_text(json.dumps({**run, "eval": {**run["eval"], "tasks": ["products", "lcm", "champ"],
                                                  "held_out": None, "start_label": "start-sft_full"}}))
    assert show(source, "--work", str(work), "--out", str(out)).returncode == 0
    ev = json.loads(out.read_text())["eval"]
    assert (ev["n_tasks"], ev["held_out"], ev["start"]["pooled"]) == (8, None, 0.25)


def test_show_of_a_partial_file_finds_its_start_journal(script, tmp_path):
    """No grpo.init in the file's overrides: the one start-*.jsonl journal there; two are an error."""
    work = tmp_path / "work"
    log_arm(work, "static@1", 2, dynamic=False)
    run = {**cut_run(), "overrides": {}, "arms": {"static@1": script.partial_arm_summary("static@1", work, 2)}}
    source = tmp_path / "grpo_dynamic.partial.json"
    source.write_text(json.dumps(run))
    journal(work, "start-base", {k: v for k, v in START.items() if not k.startswith("champ")})  # no guard
    journal(work, "static@1", STATIC)
    out = tmp_path / "out.json"
    done = show(source, "--work", str(work), "--out", str(out))
    assert done.returncode == 0, done.stderr
    ev = json.loads(out.read_text())["eval"]
    assert (ev["start_label"], ev["tasks"], ev["held_out"]) == ("start-base", ["products", "lcm"], None)
    assert "held_out_vs_start" not in ev["arms"]["static@1"] and ev["arms"]["static@1"]["pooled"] == 0.8333
    journal(work, "start-sft_full", START)
    done = show(source, "--work", str(work))
    assert done.returncode != 0 and "start-base, start-sft_full" in done.stderr


def test_the_well_formed_share_of_each_evaluation_comes_from_its_journal(script, tmp_path):
    """The format reward's own check on the answers each journal holds, the guard's benchmark
    apart; an arm without a journal is left out, and so is the note without the start."""
    def answers(label: str, texts: dict[str, str]) -> None:
        (tmp_path / "eval").mkdir(parents=True, exist_ok=True)
        with open(tmp_path / "eval" / f"{label}.jsonl", "a") as f:
            for problem_id, text in texts.items():
                f.write(json.dumps({"problem_id": problem_id, "benchmark": problem_id.split("/")[0],
                                    "response": text, "correct": True}) + "\n")

    boxed, bare = "<think>\n2 * 3 = 6\n</think>\nThe answer is \\boxed{6}.", "<think>\n2 * 3 = 6\n</think>"
    answers("start-sft_full", {"products/0": boxed, "products/1": boxed, "lcm/0": boxed, "champ/0": bare})
    answers("static@1", {"products/0": boxed, "products/1": bare, "lcm/0": bare, "champ/0": boxed})
    results = {"arms": {"static@1": {}, "dynamic@1": {}},
               "eval": {"tasks": ["products", "lcm"], "start": {"pooled": 0.5}}}
    script.add_format_rates(results, tmp_path, "start-sft_full", {"require_think": False})
    ev = results["eval"]
    assert ev["format_rate"] == {"start": 1.0, "static@1": round(1 / 3, 4)}  # champ apart
    assert ev["format_check"] == {"require_think": False}
    assert script.format_note(ev) == [
        "well-formed answers (the format reward's check, require_think=False) on the pooled "
        "tasks, start -> static@1: 1.000 -> 0.333"]
    strict = script.journal_format_rates(tmp_path, {"start": "start-sft_full"}, ["products"],
                                         {"require_think": True, "require_boxed": True})
    assert strict == {"start": 1.0}
    unformatted = {"arms": {}, "eval": {"tasks": ["products"]}}
    script.add_format_rates(unformatted, tmp_path, "start-sft_full", None)  # no format reward
    assert "format_rate" not in unformatted["eval"]
    assert script.format_note({"format_rate": {"static@1": 0.5}, "format_check": {}}) == []
    assert script.format_check_options(ROOT) == {"require_think": False, "require_boxed": True}
    # --show keeps the check its run recorded (a GPU run read back beside the CPU params)
    recorded = {"eval": {"format_check": {"require_think": True, "require_boxed": True}}}
    assert script.show_format_options(recorded, ROOT) == {"require_think": True, "require_boxed": True}
    assert script.show_format_options({"eval": {}}, ROOT) == script.format_check_options(ROOT)


def test_the_format_guard_in_the_notes(script, tmp_path):
    """From a finished arm's metrics (format_reward.guard) and from a cut arm's curves."""
    from dvclive import Live

    assert script.format_guard_note(None) == []
    assert script.format_guard_note({"window": 512, "restored_at_step": 41, "rate_at_restore": 0.8965,
                                     "rate_last_window": 0.95}) == [
        "format reward back at step 41 (well-formed share of the guard's window 0.90)"]
    assert script.format_guard_note({"window": 512, "restored_at_step": None, "rate_at_restore": None,
                                     "rate_last_window": 0.97}) == [
        "format reward off throughout (well-formed share of the last window 0.97)"]
    with Live(str(tmp_path / "static@1" / "dvclive" / "grpo"), save_dvc_exp=False, dvcyaml=None) as live:
        for step, (weight, rate) in enumerate([(0.0, 0.95), (0.0, 0.89), (1.0, 0.89), (1.0, 0.93)], 1):
            live.step = step
            live.log_metric("reward", 0.5)
            live.log_metric("format/weight", weight)
            live.log_metric("format/rate", rate)
    row = script.partial_arm_summary("static@1", tmp_path, max_steps=4)
    assert row["format_guard"] == {"restored_at_step": 3, "rate_last_window": 0.93}
    assert script.partial_notes({"static@1": row})[0].endswith("format reward back at step 3")
