"""`LocalServer`: an OpenAI-compatible server in a child process on a free loopback port.

It starts the server in its own process group, waits (bounded) until its health endpoint
answers, and on exit kills the whole group, so no process outlives the `with` block. The
group's leader is `group_guard`, which also kills the group when the owner dies without
running any code (SIGKILL, OOM killer), children of the server included.
By default the server is this package's `server` module over the hf backend; any other
(`transformers serve`, `vllm serve`) runs through `command`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Sequence


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on `host` a moment ago."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def hf_server_command(*server_args: str) -> list[str]:
    """The argv template of this package's server (``{model}``, ``{host}``, ``{port}`` to
    fill), followed by ``server_args`` (e.g. "--device", "cpu")."""
    return [sys.executable, "-m", "slm_math.generation.server",
            "--model", "{model}", "--host", "{host}", "--port", "{port}", *server_args]


class LocalServer:
    """Run an OpenAI-compatible server for `model` while the `with` block lasts.

    command: the server's argv, with "{model}", "{host}" and "{port}" filled in; default
        this package's server, `hf_server_command(*server_args)` (server_args e.g.
        ["--device", "cpu"]).
    startup_timeout_s: how long to wait for health before giving up (the server is killed).
    health_path: polled with GET until it answers 200.
    env: variables added to this process's environment for the server.
    guard: run the server under `group_guard` (default), so that it dies with this process.
    The server's stdout and stderr go to `log_path`, a temporary file, kept after exit.
    """

    def __init__(
        self,
        model: str,
        *,
        command: Sequence[str] | None = None,
        server_args: Sequence[str] = (),
        host: str = "127.0.0.1",
        port: int | None = None,
        startup_timeout_s: float = 300.0,
        health_path: str = "/health",
        env: dict[str, str] | None = None,
        guard: bool = True,
    ):
        self.model, self.host = model, host
        self.port = port or free_port(host)
        template = command or hf_server_command(*server_args)
        self.argv = [a.format(model=model, host=host, port=self.port) for a in template]
        self.guard = guard
        self.startup_timeout_s = startup_timeout_s
        self.health_path = health_path
        self.env = env
        self.process: subprocess.Popen | None = None
        self.log_path: str | None = None
        self._finalizer: weakref.finalize | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI base URL, for the openai backend's `base_url`."""
        return f"http://{self.host}:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        """The process group id of the server (the guard's pid, or the server's without one)."""
        return self.process.pid if self.process else None

    def start(self) -> "LocalServer":
        """Start the server and wait until it is healthy; raise if it dies or times out."""
        fd, self.log_path = tempfile.mkstemp(prefix="slm-math-server-", suffix=".log")
        with os.fdopen(fd, "wb") as log:
            argv = self.argv
            if self.guard:
                argv = [sys.executable, "-m", "slm_math.generation.group_guard",
                        "--parent", str(os.getpid()), "--", *argv]
            self.process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, env={**os.environ, **(self.env or {})},
            )
        # if the owner forgets stop() (or the interpreter exits), still kill the group
        self._finalizer = weakref.finalize(self, _kill_group, self.process)
        deadline = time.monotonic() + self.startup_timeout_s
        url = f"http://{self.host}:{self.port}{self.health_path}"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self._log_tail()
                self.stop()
                raise RuntimeError(
                    f"server exited with code {self.process.returncode} before it was healthy: "
                    f"{' '.join(self.argv)}\n--- log tail ---\n{tail}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.2)
        tail = self._log_tail()
        self.stop()
        raise TimeoutError(
            f"server not healthy at {url} within {self.startup_timeout_s}s\n--- log tail ---\n{tail}"
        )

    def stop(self) -> None:
        """Kill the server's process group (TERM, then KILL after 10 s) and reap it."""
        if self._finalizer is not None:
            self._finalizer()
        self._finalizer = None

    def _log_tail(self, chars: int = 4000) -> str:
        try:
            with open(self.log_path or "", errors="replace") as f:
                return f.read()[-chars:]
        except OSError:
            return ""

    def __enter__(self) -> "LocalServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _kill_group(process: subprocess.Popen) -> None:
    """TERM the process group, KILL it if it lingers, and reap the leader."""
    for sig, wait_s in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue
        # the leader is gone; KILL whatever else of the group is left
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        break
    if process.poll() is None:
        process.wait(timeout=5)
