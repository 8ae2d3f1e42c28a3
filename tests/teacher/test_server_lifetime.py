"""No local teacher server outlives the cotgen stage: normal exit, SIGTERM and SIGKILL.

The stage runs as `python -m stages.cotgen` in a temporary project with a marker variable in
its environment; every process it starts inherits it (the group guard, the server, vLLM's
engine-core child, multiprocessing's helpers), so /proc finds them all, whatever their
process group or command line. With vLLM the server is the real SmolLM2-135M as the download
stage writes it to models/base (vLLM's CPU build in CI).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml

from tests.conftest import require_vllm
from tests.teacher.conftest import PROBLEMS, write_problems
from tests.teacher.test_resume import stage, wait_for_lines, write_params

MARKER = "SLM_MATH_TEST_STAGE"
GONE_WITHIN_S = 30.0  # the guard TERMs the group, waits at most 10 s, then KILLs


def marked(token: str) -> dict[int, str]:
    """Live (non-zombie) processes whose environment carries MARKER=token: pid -> command."""
    needle = f"{MARKER}={token}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # gone meanwhile, or not ours
            continue
    return found


def wait_until_gone(token: str, timeout_s: float) -> tuple[dict[int, str], float]:
    """What is left of the marked processes after at most `timeout_s`, and the seconds waited."""
    start = time.monotonic()
    while (left := marked(token)) and time.monotonic() - start < timeout_s:
        time.sleep(0.1)
    return left, time.monotonic() - start


def problems(n: int) -> list[dict]:
    return [{**p, "id": f"{p['id']}-{i}", "problem": f"{p['problem']} (#{i})"}
            for i in range(n) for p in PROBLEMS][:n]


def run_and_stop(tmp_path: Path, model: str, how: str, engine: str, *, many: int,
                 max_tokens: int, startup_s: float) -> dict:
    """Run cotgen serving `model` with `engine`, end it `how`; the marked processes seen
    while it served and how long they took to go."""
    token = uuid.uuid4().hex
    write_problems(tmp_path, problems(1 if how == "finish" else many))
    write_params(tmp_path, {"serve": model, "max_tokens": 4 if how == "finish" else max_tokens,
                            "concurrency": 2})
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["cotgen"]["server"] = {"engine": engine, "kv_cache_gib": 1}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    process = stage(tmp_path, "cotgen", **{MARKER: token})
    seen: dict[int, str] = {}
    if how == "finish":
        deadline = time.monotonic() + startup_s
        while process.poll() is None and time.monotonic() < deadline:
            seen.update(marked(token))
            time.sleep(0.2)
        assert process.wait(60) == 0, process.stdout.read()
    else:
        wait_for_health(token, process, startup_s)
        wait_for_lines(tmp_path / "data" / "cot" / "traces.jsonl", 1, process, timeout_s=300)
        assert process.poll() is None, "the stage finished before it could be stopped"
        seen = marked(token)
        process.send_signal(signal.SIGTERM if how == "sigterm" else signal.SIGKILL)
        process.wait(60)
    seen.pop(process.pid, None)
    left, waited = wait_until_gone(token, GONE_WITHIN_S)
    for pid in left:  # only when the test fails: never leave a server behind
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    shown = {pid: command[:100] for pid, command in seen.items()}
    print(f"\n[{engine}/{how}] stage pid {process.pid}, exit {process.returncode}; server "
          f"processes seen: {shown}; all gone {waited:.1f} s after the stage ended")
    assert not left, f"left behind {waited:.0f} s after the stage ended: {left}"
    return seen


def wait_for_health(token: str, process, timeout_s: float) -> None:
    """Until the stage's server answers /health (its port read from its command line)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read()
        for command in marked(token).values():
            port = re.search(r"--port (\d+)", command)
            if port and "group_guard" not in command:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port[1]}/health", timeout=2) as r:
                        if r.status == 200:
                            return
                except OSError:
                    pass
        time.sleep(0.5)
    raise AssertionError(f"the server did not answer /health within {timeout_s} s")


@pytest.mark.parametrize("how", ["finish", "sigterm", "sigkill"])
def test_no_transformers_server_outlives_the_stage(tmp_path, tiny_model_dir, how):
    model = str(tmp_path / "model")
    shutil.copytree(tiny_model_dir, model)
    seen = run_and_stop(tmp_path, model, how, "transformers", many=48, max_tokens=32, startup_s=300)
    assert any("transformers serve" in c for c in seen.values()), seen


@pytest.mark.slow
@pytest.mark.parametrize("how", ["finish", "sigterm", "sigkill"])
def test_no_vllm_server_outlives_the_stage(tmp_path, smollm2_model_dir, how):
    require_vllm()
    model = tmp_path / "models" / "base"
    model.parent.mkdir()
    model.symlink_to(smollm2_model_dir)
    # enough work that the stage is still generating when it is stopped
    seen = run_and_stop(tmp_path, "models/base", how, "vllm", many=48, max_tokens=128, startup_s=600)
    commands = list(seen.values())
    assert any("group_guard" in c for c in commands), commands
    assert any("vllm.entrypoints.openai.api_server" in c for c in commands), commands
    # the engine core: the child a parent-death signal on the API server alone would orphan
    assert any("EngineCore" in c for c in commands), commands
