"""`slm-math run --jobs`: independent stages at once through real `dvc repro` calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from slm_math import cli
from slm_math.parallel_repro import downstream_counts, pipeline_graph, run_parallel

# each stage records when it ran; b and c sleep long enough that, run together, they overlap
STAGE = ("python -c \"import json,sys,time;t=time.time();time.sleep({sleep});"
         "open('{name}.json','w').write(json.dumps([t,time.time()]));"
         "print('[{name}] done in {sleep} s');sys.exit({fail})\"")


def make_project(root: Path, fail: str = "") -> None:
    """a -> (b, c) -> d, and e on its own; `fail` names a stage that exits 1."""
    def stage(name: str, deps: list[str], sleep: float) -> dict:
        entry = {"cmd": STAGE.format(name=name, sleep=sleep, fail=int(name == fail)),
                 "outs": [f"{name}.json"]}
        if deps:
            entry["deps"] = [f"{d}.json" for d in deps]
        return entry

    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["dvc", "init", "-q"], cwd=root, check=True)
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": {
        "a": stage("a", [], 0), "b": stage("b", ["a"], 3), "c": stage("c", ["a"], 3),
        "d": stage("d", ["b", "c"], 0), "e": stage("e", [], 0)}}, sort_keys=False))


@pytest.fixture
def project(tmp_path, monkeypatch):
    # `dvc` from PATH: the one installed beside this interpreter
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def interval(root: Path, name: str) -> tuple[float, float]:
    return tuple(json.loads((root / f"{name}.json").read_text()))


def test_graph_and_priorities_come_from_dvc(project):
    make_project(project)
    graph = pipeline_graph(project)
    assert graph == {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"], "e": []}
    assert downstream_counts(graph) == {"a": 3, "b": 1, "c": 1, "d": 0, "e": 0}


def test_independent_stages_overlap_and_the_lock_is_dvcs_own(project):
    make_project(project)
    assert cli.main(["run", "--jobs", "3", "--times", "times.json"]) == 0
    (b0, b1), (c0, c1) = interval(project, "b"), interval(project, "c")
    assert max(b0, c0) < min(b1, c1), "b and c did not run at the same time"
    assert interval(project, "d")[0] >= max(b1, c1) and interval(project, "a")[1] <= min(b0, c0)
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    assert set(lock["stages"]) == {"a", "b", "c", "d", "e"}
    status = subprocess.run(["dvc", "status", "--json"], capture_output=True, text=True, check=True)
    assert json.loads(status.stdout) == {}
    times = json.loads((project / "times.json").read_text())
    assert times["jobs"] == 3 and times["returncode"] == 0
    by_stage = {s["stage"]: s for s in times["stages"]}
    assert by_stage["b"]["seconds"] == 3.0 and by_stage["b"]["end_s"] > by_stage["b"]["start_s"]
    # nothing changed: a second run skips every stage (DVC's decision), so d is not rewritten
    assert times["complete"] is True
    before = (project / "d.json").read_text()
    finished = []
    runs = run_parallel(pipeline_graph(project), 3,
                        on_done=lambda done: finished.append([r.stage for r in done]))
    assert [len(f) for f in finished] == [1, 2, 3, 4, 5] and finished[-1][-1] == "d"
    assert all(r.returncode == 0 for r in runs)
    assert all(any("didn't change, skipping" in line for line in r.lines) for r in runs)
    assert (project / "d.json").read_text() == before


def test_a_failure_skips_what_is_downstream_and_keep_going_runs_the_rest(project):
    make_project(project, fail="b")
    runs = {r.stage: r for r in run_parallel(pipeline_graph(project), 1, keep_going=True)}
    assert runs["b"].returncode != 0 and runs["d"].returncode is None
    assert runs["c"].returncode == 0 and runs["e"].returncode == 0
    assert not (project / "d.json").exists()
    entries = {e["stage"]: e for e in cli.parallel_stage_times(r for r in runs.values() if r.returncode is not None)}
    assert entries["b"]["returncode"] != 0 and "returncode" not in entries["c"]
    # without keep_going nothing starts after the failure (one job: b runs before c and e)
    for name in ("a", "c", "e"):
        (project / f"{name}.json").unlink()
    subprocess.run(["dvc", "status"], check=True, capture_output=True)
    runs = {r.stage: r for r in run_parallel(pipeline_graph(project), 1)}
    assert runs["b"].returncode != 0
    assert [s for s, r in runs.items() if r.returncode is None] == ["c", "d", "e"]


def test_jobs_refuses_targets_with_one_line(project, capsys):
    make_project(project)
    assert cli.main(["run", "--jobs", "2", "d"]) == 2
    assert "--jobs runs the whole pipeline" in capsys.readouterr().err
    with pytest.raises(ValueError, match="jobs must be at least 1"):
        run_parallel({"a": []}, 0)
