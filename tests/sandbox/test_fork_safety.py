"""The sandbox's own forks under filelock's fork audit.

filelock (>= 3.19) adds an audit hook on Python >= 3.12 that refuses os.fork while another
thread is inside its fork hooks. run_many kills each run's uid from a forked child, from
several threads at once, so without a lock the agents' code cells failed on such a machine
("os.fork is unsafe while filelock is changing descriptor ownership"). The hook is added by hand
here so the check runs on any Python; audit hooks cannot be removed, so each check runs in a
fresh interpreter. concurrent.futures is imported first, as in a stage that has loaded its
libraries: its own at-fork hook then runs after filelock's and no longer hides the race.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from .conftest import MODES

HOOK = """
import sys
import concurrent.futures.thread
try:
    from filelock._core._fork import _audit_fork_safety  # filelock 4
except ImportError:
    from filelock._api import _audit_fork_safety  # filelock 3.19-3.32
sys.addaudithook(_audit_fork_safety)
"""


def _run(script: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(HOOK) + textwrap.dedent(script)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


THREADED_CALLS = """
from concurrent.futures import ThreadPoolExecutor
refused = []
def many(_):
    for _ in range(30):
        try:
            {call}
        except RuntimeError:
            refused.append(1)
with ThreadPoolExecutor(8) as ex:
    list(ex.map(many, range(8)))
print(len(refused))
"""

FORK_AND_REAP = """
import os
def fork_and_reap():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
"""


def _refusals(setup: str, call: str) -> int:
    """How many of 8 threads x 30 calls of ``call`` (after ``setup``) the hook refused."""
    return int(_run(setup + THREADED_CALLS.format(call=call)))


def test_the_hook_refuses_a_fork_while_another_thread_forks():
    """The hazard is real where the hook is: bare concurrent forks trip it."""
    assert _refusals(FORK_AND_REAP, "fork_and_reap()") > 0


def test_kill_uid_from_many_threads_is_never_refused():
    assert _refusals("from slm_math.sandbox import runner", "runner._kill_uid(64999)") == 0


@pytest.mark.parametrize("isolation", [m for m in MODES if m in ("netns", "none")])
def test_run_many_in_a_uid_mode_under_the_hook(isolation):
    """netns is what a GPU box without bubblewrap gets: a uid per run, killed by a fork."""
    out = _run(f"""
        from slm_math.sandbox import run_many
        results = run_many([f"print({{i}} * 3)" for i in range(24)], workers=8,
                           isolation={isolation!r}, timeout_s=20)
        print(sum(r.stdout == f"{{i * 3}}\\n" for i, r in enumerate(results)))
    """)
    assert int(out) == 24
