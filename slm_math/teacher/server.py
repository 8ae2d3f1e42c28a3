"""The local teacher: an OpenAI-compatible server for a model folder, on 127.0.0.1.

Three engines (`cotgen.server.engine`; "auto" picks vLLM where it is installed, else hf):
- `vllm`: vLLM's OpenAI server (`generation.vllm_env.vllm_server_command`), with the CPU
  variables of `vllm_env.cpu_env` on a CPU machine. On 2 CPU cores it answers several times
  more requests/s than the others, for a longer start-up (benchmarks/teacher_server.py).
- `hf`: this package's server (`slm_math.generation.server`) over the hf backend, on the GPU
  when one is visible, where concurrent requests share one static-cache decoding batch
  (CUDA graphs). It honours each request's temperature and seed.
- `transformers`: `transformers serve <folder> --continuous-batching --device cpu` (nothing
  beyond fastapi/uvicorn to install; loads any folder `from_pretrained` can). As started
  here it answered greedily whatever the request's temperature and seed (transformers
  5.19: the same text for seeds 1 and 2 at temperature 1), so it is named, never picked.
All serve the model under the folder's path as given (`served_model_name`), which is the
name cotgen's client sends. `command` replaces the engine's argv.

The server runs under generation's `group_guard` as a process group (`LocalServer`): it is
health-waited with a bounded timeout, and the whole group is killed in every exit path,
SIGTERM of cotgen included, and when cotgen dies without running any code (SIGKILL): the
guard gets a parent-death signal from the kernel. A group, not one process: vLLM's API
server runs its engine in a child process that outlives a killed API server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from slm_math.config.params import TRANSFORMERS_SERVE, LocalServerParams
from slm_math.generation import LocalServer
from slm_math.generation.local_server import hf_server_command
from slm_math.generation.vllm_env import auto_engine, cpu_env, vllm_server_command


def served_model_name(model_dir: str) -> str:
    """The model name the local server answers to, and cotgen's client sends: the folder as given."""
    return model_dir


def server_engine(params: LocalServerParams) -> str:
    """"vllm", "hf" or "transformers": params.engine, with "auto" resolved (and logged once):
    vllm where it is installed, else hf."""
    return auto_engine(params.engine, fallback="hf", what="cotgen.server.engine")


def server_command(model_dir: str, params: LocalServerParams) -> tuple[list[str], dict[str, str]]:
    """The server's argv template ({model}, {host}, {port} left to fill) and the extra
    environment it needs."""
    engine = server_engine(params)
    env = cpu_env(params.kv_cache_gib) if engine == "vllm" else {}
    if params.command is not None:
        command = list(params.command)
    elif engine == "vllm":
        command = vllm_server_command(served_name=served_model_name(model_dir))
    elif engine == "hf":
        command = hf_server_command("--served-name", served_model_name(model_dir))
    else:
        command = list(TRANSFORMERS_SERVE)
    # a program next to this interpreter first (`transformers`): the environment cotgen runs in
    if os.sep not in command[0] and Path(sys.executable).with_name(command[0]).exists():
        command[0] = str(Path(sys.executable).with_name(command[0]))
    return command, env


@contextlib.contextmanager
def local_teacher_server(model_dir: str, params: LocalServerParams) -> Iterator[LocalServer]:
    """Serve `model_dir` while the block runs; SIGTERM/SIGHUP also stop it (as SystemExit)."""
    command, env = server_command(model_dir, params)
    server = LocalServer(model_dir, command=command, env=env,
                         startup_timeout_s=params.startup_timeout_s, health_path=params.health_path)
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
