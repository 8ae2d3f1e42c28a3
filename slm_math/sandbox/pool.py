"""The host side of ``isolation="zygote"``: start the zygote in bubblewrap once, send it runs.

One pool per host process, started on first use (``zygote_pool()``), restarted when it died or
the process forked, closed at exit. zygote.py holds the design and the security argument.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

START_TIMEOUT_S = 60


@functools.cache
def _source(name: str) -> str:
    return Path(__file__).with_name(name).read_text(encoding="utf-8")


class ZygotePool:
    """A running zygote: ``submit`` hands it one run; ``close`` ends it and every run inside."""

    def __init__(self, prefix: tuple[str, ...], python_flags: tuple[str, ...], env: dict[str, str],
                 site_paths: str):
        self.prefix = prefix
        self._lock = threading.Lock()
        self.owner_pid = os.getpid()
        self._log = tempfile.TemporaryFile(prefix="slm-sandbox-zygote-log-")
        host_end, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv = [*prefix, sys.executable, *python_flags, "-c", _source("zygote.py"),
                str(zygote_end.fileno()), _source("bootstrap.py"), site_paths]
        started = threading.Event()
        failure: list[BaseException] = []

        # bwrap --die-with-parent dies with the *thread* that started it (PR_SET_PDEATHSIG), so a
        # daemon thread that lives as long as the pool starts it, not a run_many worker.
        def keeper() -> None:
            try:
                self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                              stderr=self._log, env=env, pass_fds=(zygote_end.fileno(),),
                                              start_new_session=True)
            except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
                failure.append(exc)
                started.set()
                return
            started.set()
            self._proc.wait()

        self._keeper = threading.Thread(target=keeper, name="slm-sandbox-zygote", daemon=True)
        self._keeper.start()
        started.wait()
        zygote_end.close()
        if failure:
            host_end.close()
            raise RuntimeError(f"sandbox: could not start the zygote: {failure[0]}") from failure[0]
        self._ctl = host_end
        self._ctl.settimeout(START_TIMEOUT_S)
        try:
            ready = self._ctl.recv(16)
        except OSError:
            ready = b""
        self._ctl.settimeout(None)
        if ready != b"ready":
            self.close()
            raise RuntimeError(f"sandbox: the zygote did not start: {self.log_tail()}")

    @property
    def alive(self) -> bool:
        """Whether the zygote still runs and belongs to this process (not a fork of it)."""
        return os.getpid() == self.owner_pid and self._proc.poll() is None

    def submit(self, request: dict, code_fd: int, stdout_fd: int, stderr_fd: int, status_fd: int,
               result_fd: int) -> None:
        """Hand one run to the zygote; the caller keeps (and closes) its copies of the fds."""
        message = json.dumps(request).encode()
        with self._lock:
            socket.send_fds(self._ctl, [message], [code_fd, stdout_fd, stderr_fd, status_fd, result_fd])

    def kill(self, uid: int) -> None:
        """Have the zygote SIGKILL every process of uid (a run being stopped)."""
        with self._lock:
            self._ctl.send(json.dumps({"kill": uid}).encode())

    def log_tail(self, limit: int = 4000) -> str:
        """The end of the zygote's own stdout/stderr (its runs write elsewhere); "" once closed."""
        if self._log.closed:
            return ""
        self._log.seek(0)
        return self._log.read()[-limit:].decode("utf-8", "replace")

    def close(self) -> None:
        """End the zygote: its bwrap and pid namespace go, and with them any run still inside."""
        if os.getpid() != self.owner_pid:
            return
        self._ctl.close()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._log.close()


_pool: ZygotePool | None = None
_pool_lock = threading.Lock()


def _after_fork_in_child() -> None:
    # Another thread may have held the lock when this process forked; the child starts its own
    # pool anyway (ZygotePool.alive is False for the parent's).
    global _pool_lock
    _pool_lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def zygote_pool(prefix: tuple[str, ...], python_flags: tuple[str, ...], env: dict[str, str],
                site_paths: str) -> ZygotePool:
    """This process's zygote, started (or restarted) with these settings when needed.

    A changed prefix (say, $HOME now names another directory to hide) restarts it, so the pool
    always hides what a per-run bwrap would.
    """
    global _pool
    with _pool_lock:
        if _pool is None or not _pool.alive or _pool.prefix != prefix:
            if _pool is not None:
                _pool.close()
            _pool = ZygotePool(prefix, python_flags, env, site_paths)
        return _pool


@atexit.register
def close_pool() -> None:
    """Stop this process's zygote, if any (at exit, and for tests)."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.close()
            _pool = None
