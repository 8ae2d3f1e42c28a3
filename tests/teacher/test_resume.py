"""The cotgen stage as a process: SIGKILL mid-run then resume (exactly one record per slot,
nothing answered asked again). No local server outliving it: test_server_lifetime.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

from slm_math.jsonl import read_jsonl
from slm_math.teacher.prompts import stable_hash
from tests.teacher.conftest import PROBLEMS, write_problems

REPO = Path(__file__).resolve().parents[2]
MANY = [{**p, "id": f"{p['id']}-{i}", "problem": f"{p['problem']} (#{i})"}
        for i in range(3) for p in PROBLEMS]


def stage(project: Path, name: str, **env_vars: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), **env_vars}
    return subprocess.Popen([sys.executable, "-m", f"stages.{name}"], cwd=project, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def write_params(project: Path, local: dict) -> None:
    params = {"cotgen": {"progress": False, "cache_dir": str(project / "cache"), "teachers": [
        {"name": "local", "attempts": 2, "max_tokens": 4, "concurrency": 3, "backoff_s": 0.01,
         **local},
        {"name": "reference", "kind": "reference"}]},
        "verify": {"tokenizer": None, "workers": 1}}
    (project / "params.yaml").write_text(yaml.safe_dump(params))


def request_id(body: dict) -> str:
    return stable_hash([body["messages"], body["seed"]])


def record_id(record: dict, prompts: dict[str, list]) -> str:
    return stable_hash([prompts[record["prompt_hash"]], record["attempt"] - 1])


def wait_for_lines(path: Path, n: int, process: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= n:
            return
        assert process.poll() is None, process.stdout.read()
        time.sleep(0.05)
    raise AssertionError(f"{path} did not reach {n} lines")


def test_sigkill_then_resume_is_exactly_once(tmp_path, proxy, tiny_model_dir):
    write_problems(tmp_path, MANY)
    write_params(tmp_path, {"base_url": proxy.base_url, "model": tiny_model_dir})
    traces = tmp_path / "data" / "cot" / "traces.jsonl"
    proxy.reset(default="slow:0.3")
    first = stage(tmp_path, "cotgen")
    wait_for_lines(traces, 6, first)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    with traces.open("ab") as f:  # what a kill in the middle of a write leaves
        f.write(b'{"problem_id": "products/train/0-0", "teacher": "loc')
    answered_before = {r["prompt_hash"] for r in read_jsonl(traces, allow_truncated_tail=True)}
    kept = read_jsonl(traces, allow_truncated_tail=True)
    asked_first = [request_id(b) for b in proxy.chat_requests()]
    prompts = {stable_hash(b["messages"]): b["messages"] for b in proxy.chat_requests()}
    assert answered_before and len(kept) < 3 * len(MANY)

    proxy.reset(default="ok")
    second = stage(tmp_path, "cotgen")
    assert second.wait(300) == 0, second.stdout.read()
    records = read_jsonl(traces)
    slots = Counter((r["problem_id"], r["teacher"], r["attempt"]) for r in records)
    expected = {(p["id"], t, a) for p in MANY for t, a in [("local", 1), ("local", 2),
                                                          ("reference", 1)]}
    assert set(slots) == expected and max(slots.values()) == 1  # none lost, none doubled
    asked_again = {request_id(b) for b in proxy.chat_requests()}
    answered = {record_id(r, prompts) for r in kept if r["teacher"] == "local"}
    assert not answered & asked_again  # nothing already answered was asked again
    assert len(asked_first) + len(asked_again) >= 2 * len(MANY)
    metrics = json.loads((tmp_path / "metrics" / "cotgen.json").read_text())
    assert metrics["requests"] == len(asked_again)
    # verify runs on what resumed cotgen left
    verify = stage(tmp_path, "verify")
    assert verify.wait(120) == 0, verify.stdout.read()
    cot = json.loads((tmp_path / "metrics" / "cot.json").read_text())
    assert cot["problems"] == len(MANY) and cot["solved_by"] == {"local": 0, "reference": 9}
    assert cot["unsolved"] == 3 and cot["yield_pct"] == 75.0
    assert len(read_jsonl(tmp_path / "data" / "cot" / "verified.jsonl")) == 9

