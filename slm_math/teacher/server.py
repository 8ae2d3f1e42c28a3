"""The local teacher: an OpenAI-compatible server for a model folder, on 127.0.0.1.

Default: `transformers serve <folder> --continuous-batching` (transformers' own server:
nothing extra to install beyond fastapi/uvicorn, loads any folder `from_pretrained` can,
batches concurrent requests). It runs through `pdeathsig.py` in its own process group, is
health-waited with a bounded timeout, and killed by process group in every exit path
(generation's `LocalServer`): a `with local_teacher_server(...)` block leaves no process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator

from slm_math.config.params import LocalServerParams
from slm_math.generation import LocalServer
from slm_math.teacher import pdeathsig


def server_argv(params: LocalServerParams) -> list[str]:
    """The server command wrapped so that it dies with this process (the wrapper runs as a
    file, not `-m`: importing the package first would widen the window before it is armed)."""
    return [sys.executable, pdeathsig.__file__, *params.command]


@contextlib.contextmanager
def local_teacher_server(model_dir: str, params: LocalServerParams) -> Iterator[LocalServer]:
    """Serve `model_dir` while the block runs; SIGTERM/SIGHUP also stop it (as SystemExit)."""
    server = LocalServer(model_dir, command=server_argv(params),
                         startup_timeout_s=params.startup_timeout_s,
                         health_path=params.health_path, env={pdeathsig.PARENT_ENV: str(os.getpid())},
                         # pdeathsig already ties the server to this process; a group_guard
                         # between them would be the parent pdeathsig checks for, and is not it
                         guard=False)
    with _exit_on_termination():
        with server:
            yield server


@contextlib.contextmanager
def _exit_on_termination() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into SystemExit so `finally` blocks (the server kill) run."""
    def handler(signum, _frame):
        raise SystemExit(128 + signum)

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            previous[sig] = signal.signal(sig, handler)
        except ValueError:  # not the main thread: leave signals alone
            pass
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
