"""Run a server so that nothing of it outlives its owner, even an owner killed by SIGKILL.

    python -m slm_math.generation.group_guard --parent PID -- COMMAND [ARGS...]

`LocalServer` starts this guard as the leader of a new process group. The guard asks the
kernel to send it SIGTERM when its parent dies (PR_SET_PDEATHSIG, Linux), starts COMMAND
in its own group, and when it is told to stop (SIGTERM, SIGINT, SIGHUP, or its parent's
death) or when COMMAND exits, it kills the whole group. A parent-death signal on the server
alone is not enough: vLLM's server runs its engine in a child process, which would survive
its parent as an orphan (about 2 GB of memory and both cores' threads).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1
GRACE_S = 10.0


def arm_parent_death_signal(parent: int) -> None:
    """Have the kernel SIGTERM this process when `parent` dies; exit if it already has."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if parent and os.getppid() != parent:  # the parent died before the signal was armed
        sys.exit(1)


def kill_group(child: subprocess.Popen) -> None:
    """TERM the child and the rest of the group, KILL what lingers, the guard last."""
    group = os.getpgid(0)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in _group_members(group):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + (GRACE_S if sig == signal.SIGTERM else 0)
        while _group_members(group) and time.monotonic() < deadline:
            try:
                child.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass
    try:
        child.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def _group_members(group: int) -> list[int]:
    """Processes of process group `group` other than this one (Linux /proc; else the child)."""
    members = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields after the command: state, ppid, pgrp, ...; a zombie holds nothing
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(int(entry))
    return members


def main(argv: list[str] | None = None) -> int:
    """Start the command, wait for it or for a stop signal, then kill the group."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parent", type=int, default=0, help="pid whose death stops the command")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    args = ap.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        ap.error("no command given")
    stop = {"signal": None}

    def on_signal(signum: int, _frame: object) -> None:
        stop["signal"] = signum

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    arm_parent_death_signal(args.parent)
    child = subprocess.Popen(command)
    while stop["signal"] is None and child.poll() is None:
        time.sleep(0.2)
    kill_group(child)
    if stop["signal"] is not None:
        return 128 + stop["signal"]
    return child.returncode if child.returncode >= 0 else 128 - child.returncode


if __name__ == "__main__":
    sys.exit(main())
