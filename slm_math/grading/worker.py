"""Entry point of a grading worker process (`python -m slm_math.grading.worker MEMORY_MB`).

Protocol, one line each way: the parent writes a JSON job `{"p": prediction, "g": gold,
"t": soft_limit_s}`; the worker answers `1` (equivalent), `0` (not), `T` (its own soft time limit
fired) or `E` (the comparison raised). It prints `ready` once math-verify is imported and warm,
and exits when its stdin closes. The soft limit (an interval timer, fine-grained, raising an
exception math-verify cannot swallow) saves a respawn in the common slow case; the parent's kill
is the hard limit for everything else (code that never returns to the interpreter loop,
swallowed exceptions, a crash).
"""

from __future__ import annotations

import json
import signal
import sys


class _SoftTimeout(BaseException):
    """Raised by the interval timer; a BaseException so `except Exception` in sympy lets it pass."""


def _on_alarm(signum, frame):
    raise _SoftTimeout()


def _limit_memory(memory_mb: int) -> None:
    if memory_mb <= 0:
        return
    try:
        import resource

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass  # not available here: the parent's kill still bounds time


def main(argv: list[str]) -> int:
    """Serve jobs from stdin until it closes."""
    _limit_memory(int(argv[1]) if len(argv) > 1 else 0)
    from slm_math.grading.equivalence import latex_equivalent, warm

    warm()
    signal.signal(signal.SIGALRM, _on_alarm)
    out = sys.stdout.buffer
    out.write(b"ready\n")
    out.flush()
    for line in sys.stdin.buffer:
        reply = b"E"
        try:
            job = json.loads(line)
            signal.setitimer(signal.ITIMER_REAL, max(float(job["t"]), 0.001))
            reply = b"1" if latex_equivalent(job["p"], job["g"]) else b"0"
            signal.setitimer(signal.ITIMER_REAL, 0)
        except _SoftTimeout:
            reply = b"T"
        except BaseException:  # MemoryError, RecursionError, parser bugs: no verdict
            reply = b"E"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        out.write(reply + b"\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
