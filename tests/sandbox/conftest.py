"""Fixtures for the sandbox tests: the isolation modes to run each safety test under, and a
check after every test that the sandbox left nothing running and no working directory behind."""

from __future__ import annotations

import glob
import os
import tempfile
import time

import pytest

from slm_math.sandbox import available_isolations
from slm_math.sandbox.isolation import UID_RANGE

MODES = available_isolations()
#: Modes with a kernel network namespace (the audit-hook guard is not all that stops a socket).
NETNS_MODES = tuple(m for m in MODES if m != "none")


def sandbox_processes() -> list[int]:
    """Live (non-zombie) processes owned by a sandbox uid."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        uid = int(fields["Uid"].split()[0])
        if UID_RANGE[0] <= uid < UID_RANGE[1] and not fields["State"].strip().startswith("Z"):
            found.append(int(entry))
    return found


def processes_with_arg(token: str, settle_s: float = 3.0) -> list[int]:
    """Live processes whose command line contains token, after up to settle_s for reaping.

    A killed pid namespace (bwrap) is torn down by the kernel asynchronously: the processes
    are already SIGKILLed when run_python returns, but may show for some milliseconds more.
    """
    import time

    deadline = time.monotonic() + settle_s
    while True:
        found = _live_with_arg(token)
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _live_with_arg(token: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmdline = f.read()
                with open(f"/proc/{entry}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if token.encode() in cmdline and state != "Z" and int(entry) != os.getpid():
                found.append(int(entry))
    return found


def _workdirs() -> set[str]:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "slm-sandbox-*")))


@pytest.fixture(autouse=True)
def machine_unharmed():
    """Every sandbox test must leave no sandbox process alive and no working directory behind."""
    before = _workdirs()
    yield
    deadline = time.monotonic() + 2
    while (left := sandbox_processes()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left == [], f"sandbox processes survived the test: {left}"
    assert _workdirs() - before == set(), "a sandbox working directory was not removed"


@pytest.fixture(params=MODES)
def isolation(request) -> str:
    """Each isolation mode that works on this machine."""
    return request.param
