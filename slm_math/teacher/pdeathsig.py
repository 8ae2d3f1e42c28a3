"""Run a command that dies with its parent: `python slm_math/teacher/pdeathsig.py CMD...`.

The local teacher server runs in its own process group (so it can be killed as a whole);
cotgen kills that group in every exit path it sees, but a SIGKILL of cotgen runs no code.
On Linux this wrapper asks the kernel to SIGKILL the server when its parent dies
(PR_SET_PDEATHSIG survives exec), then execs the command; elsewhere it only execs.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import sys

PR_SET_PDEATHSIG = 1
PARENT_ENV = "SLM_MATH_PARENT_PID"  # the pid that must be alive: set by the launcher


def main(argv: list[str]) -> None:
    """Arm the parent-death signal and exec `argv` (resolved next to this Python first)."""
    if not argv:
        raise SystemExit("usage: python pdeathsig.py COMMAND [ARGS...]")
    # getppid() here could already be init's pid if the parent died while Python started
    parent = int(os.environ.pop(PARENT_ENV, os.getppid()))
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the signal was armed
            raise SystemExit(1)
    local = os.path.join(os.path.dirname(sys.executable), argv[0])
    program = local if os.access(local, os.X_OK) else shutil.which(argv[0]) or argv[0]
    os.execv(program, [program, *argv[1:]])


if __name__ == "__main__":
    main(sys.argv[1:])
