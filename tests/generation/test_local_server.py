"""LocalServer: health wait, bounded startup, and no process left behind."""

import os
import sys
import time

import pytest

from slm_math.generation import LocalServer

# a "server" that forks a child (as real servers do) and serves HTTP on the given port
SERVER_WITH_CHILD = (
    "import subprocess, sys, http.server, socketserver\n"
    "child = subprocess.Popen(['sleep', '300'])\n"
    "open(sys.argv[3], 'w').write(str(child.pid))\n"
    "http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), http.server.SimpleHTTPRequestHandler)"
    ".serve_forever()\n"
)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead but still has a pid until reaped
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(")")[-1].split()[0] != "Z"


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def test_server_and_its_children_are_gone_after_the_block(tmp_path):
    pid_file = tmp_path / "child.pid"
    command = [sys.executable, "-c", SERVER_WITH_CHILD, "{host}", "{port}", str(pid_file)]
    with LocalServer("unused", command=command, health_path="/", startup_timeout_s=30) as srv:
        pid = srv.pid
        assert alive(pid) and srv.base_url == f"http://127.0.0.1:{srv.port}/v1"
        child = int(pid_file.read_text())
        assert alive(child)
    deadline = time.monotonic() + 5
    while (alive(child) or group_alive(pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid) and not alive(child) and not group_alive(pid)


def test_a_server_that_dies_reports_its_log():
    command = [sys.executable, "-c", "import sys; print('bad model path'); sys.exit(3)"]
    with pytest.raises(RuntimeError, match="(?s)exited with code 3.*bad model path"):
        LocalServer("m", command=command, startup_timeout_s=30).start()


def test_a_server_never_healthy_times_out_and_is_killed():
    srv = LocalServer("m", command=["sleep", "300"], startup_timeout_s=1)
    start = time.monotonic()
    with pytest.raises(TimeoutError, match="not healthy"):
        srv.start()
    assert time.monotonic() - start < 15
    assert not group_alive(srv.pid)


OWNER = (
    "import sys, time\n"
    "from slm_math.generation import LocalServer\n"
    "command = [sys.executable, '-c', sys.argv[1], '{host}', '{port}', sys.argv[2]]\n"
    "with LocalServer('unused', command=command, health_path='/', startup_timeout_s=30) as srv:\n"
    "    print(srv.pid, flush=True)\n"
    "    time.sleep(300)\n"
)


def test_a_sigkilled_owner_takes_the_server_and_its_children_along(tmp_path):
    # without the group guard this fails: the server and its child outlive a SIGKILLed owner
    import subprocess
    from pathlib import Path

    pid_file = tmp_path / "child.pid"
    root = str(Path(__file__).resolve().parents[2])
    owner = subprocess.Popen([sys.executable, "-c", OWNER, SERVER_WITH_CHILD, str(pid_file)],
                             stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": root})
    group = int(owner.stdout.readline())
    child = int(pid_file.read_text())
    assert alive(group) and alive(child)
    owner.kill()  # SIGKILL: the owner runs no cleanup; the guard must notice
    owner.wait()
    deadline = time.monotonic() + 20
    while (alive(child) or group_alive(group)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child) and not group_alive(group)
