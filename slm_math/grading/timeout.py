"""Hard time limits for LaTeX equivalence: persistent worker processes, killed on timeout.

Why processes: math-verify bounds its work with `signal.alarm`, which only works in the main
thread (elsewhere its `parse`/`verify` raise ValueError) and counts whole seconds; an exception
raised by a signal can also be swallowed by library code. A separate process can always be killed.
So the LaTeX path runs in a small pool of worker processes (`worker.py`), each started once and
reused; the calling thread waits on the worker's pipe with `select` until the deadline, and on
timeout kills the worker (SIGKILL) and starts a replacement. This works the same from the main
thread, from any thread, and from inside a process-pool worker (each process has its own pool).

One spare worker is kept starting in the background, so a kill does not make the next grade wait
for a cold start. A grade waits at most `startup_timeout_s` for a worker to become ready, then at
most `time_limit_s` for the verdict. The exception is the very first start in a process (imports of
sympy and math-verify, about 0.7 s here, more on a loaded machine): until one worker of this
process has been ready, a grade waits up to `COLD_START_TIMEOUT_S` rather than grade a right answer
wrong for want of a worker. `warm_up()` (called by `grade_many` and `build_rewards`) pays it early.
"""

from __future__ import annotations

import atexit
import collections
import json
import logging
import os
import select
import subprocess
import sys
import threading
import time

logger = logging.getLogger(__name__)

# Address-space cap of a worker: huge sympy integers fail with MemoryError instead of swapping.
WORKER_MEMORY_MB = 2048
# Fraction of the time limit the worker's own soft timer gets before the parent's kill.
_SOFT_FRACTION = 0.9
# How long the first grade in a process may wait for the first worker to start (see above).
COLD_START_TIMEOUT_S = 10.0
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class _Worker:
    """One worker process and the buffered reading end of its stdout."""

    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = _PACKAGE_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "slm_math.grading.worker", str(WORKER_MEMORY_MB)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
            start_new_session=True,  # a terminal's Ctrl-C goes to the parent, not to idle workers
        )
        self._buffer = b""
        self.ready = False

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _read_line(self, deadline: float) -> bytes | None:
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = max(0.0, deadline - time.monotonic())  # past the deadline: one last poll
            readable, _, _ = select.select([fd], [], [], remaining)
            if not readable:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:  # the worker died
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def wait_ready(self, deadline: float) -> bool:
        if not self.ready:
            self.ready = self._read_line(deadline) == b"ready"
        return self.ready

    def ask(self, job: bytes, deadline: float) -> bytes | None:
        try:
            self.proc.stdin.write(job)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            return None
        return self._read_line(deadline)

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(timeout=1.0)
        except (OSError, subprocess.TimeoutExpired):
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except (OSError, ValueError):
                pass


class WorkerPool:
    """Workers shared by the threads of one process; grows while callers wait for a ready one."""

    _POLL_S = 0.01  # how often a waiting caller checks whether a starting worker became ready

    def __init__(self) -> None:
        self._idle: list[_Worker] = []  # ready or still starting, not in use
        self._cond = threading.Condition()
        self._waiting = 0
        self._ever_ready = False
        self.stats: collections.Counter[str] = collections.Counter()

    @property
    def _lock(self) -> threading.Condition:
        return self._cond

    def _start_worker(self) -> None:
        self._idle.append(_Worker())
        self.stats["started"] += 1

    def _acquire(self, wait_s: float) -> _Worker | None:
        """A ready worker, waiting up to `wait_s` for one to start or to be given back."""
        deadline = time.monotonic() + wait_s
        with self._cond:
            self._waiting += 1
            try:
                while True:
                    for worker in [w for w in self._idle if not w.alive()]:
                        self._idle.remove(worker)
                        worker.kill()  # closes its pipes
                    ready = [w for w in self._idle if w.ready or w.wait_ready(time.monotonic())]
                    if ready:
                        worker = ready[-1]
                        self._idle.remove(worker)
                        self._ever_ready = True
                        if not self._idle:  # keep a spare warming up for the next caller
                            self._start_worker()
                        return worker
                    if len(self._idle) < self._waiting:  # every waiting caller gets a worker starting
                        self._start_worker()
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return None
                    self._cond.wait(min(remaining, self._POLL_S))
            finally:
                self._waiting -= 1

    def _take(self) -> _Worker:
        """A worker, ready or not (tests use it to reach a worker directly)."""
        with self._cond:
            if not self._idle:
                self._start_worker()
            return self._idle.pop()

    def _give_back(self, worker: _Worker) -> None:
        with self._cond:
            self._idle.append(worker)
            self._cond.notify()

    def warm_up(self, n: int = 1, timeout_s: float = 30.0) -> bool:
        """Have `n` ready workers (plus a spare starting); True if they became ready in time."""
        workers = [w for w in (self._acquire(timeout_s) for _ in range(max(1, n))) if w is not None]
        for worker in workers:
            self._give_back(worker)
        return len(workers) == max(1, n)

    def run(self, prediction: str, gold: str, *, time_limit_s: float, startup_timeout_s: float) -> bool | None:
        """`latex_equivalent(prediction, gold)` in a worker; None when no verdict came in time."""
        wait_s = startup_timeout_s if self._ever_ready else max(startup_timeout_s, COLD_START_TIMEOUT_S)
        worker = self._acquire(wait_s)
        if worker is None:
            self.stats["unavailable"] += 1
            logger.warning("no grading worker ready within %.2fs: graded as wrong", wait_s)
            return None
        job = json.dumps({"p": prediction, "g": gold, "t": time_limit_s * _SOFT_FRACTION}).encode() + b"\n"
        reply = worker.ask(job, time.monotonic() + time_limit_s)
        if reply is None:
            worker.kill()
            self.stats["killed"] += 1
            with self._cond:
                if not self._idle:
                    self._start_worker()
            return None
        self._give_back(worker)
        if reply in (b"T", b"E"):
            self.stats["soft_timeout" if reply == b"T" else "error"] += 1
            return None
        return reply == b"1"

    def close(self) -> None:
        """Kill every idle worker (busy ones are killed by their caller's deadline or at exit)."""
        with self._cond:
            workers, self._idle = self._idle, []
        for worker in workers:
            worker.kill()


_pool = WorkerPool()
_abandoned: list[WorkerPool] = []


def pool() -> WorkerPool:
    """This process's worker pool."""
    return _pool


def _reset_after_fork() -> None:
    # A forked child must not share its parent's workers (their pipes would interleave); the
    # parent's pool object is kept referenced so the child never reaps or kills them.
    global _pool
    _abandoned.append(_pool)
    _pool = WorkerPool()


os.register_at_fork(after_in_child=_reset_after_fork)
atexit.register(lambda: _pool.close())
