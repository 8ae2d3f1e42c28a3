"""run_python and run_many: start the sandboxed interpreter, watch it, kill it, clean up.

The parent reads stdout and stderr incrementally (a 1 GB print never sits in memory), watches
for the end of the run (a pidfd of the process it started, or the zygote's result pipe),
enforces the wall clock and the output cap, and, whatever happened, kills the whole process
tree before it returns: the process group, plus every process of the run's private uid when
there is one (a child that called setsid() has left the group but not the uid). The working
directory is fresh and removed afterwards: a temporary directory on the host, or, under
isolation="zygote", a directory in the run's own tmpfs that dies with it (zygote.py).
"""

from __future__ import annotations

import functools
import os
import secrets
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .isolation import PYTHON_FLAGS, TMPFS_BYTES, Plan, clean_env, default_isolation, make_plan
from .limits import Limits
from .pool import zygote_pool
from .result import SandboxResult

READ_CHUNK = 65536
#: After the started process exits, how long stragglers' pipe ends may keep us reading.
DRAIN_GRACE_S = 0.5
#: After the run's uid was killed, how long the zygote may take to report the end.
ZYGOTE_REAP_TIMEOUT_S = 10


@functools.cache
def _bootstrap_source() -> str:
    return (Path(__file__).with_name("bootstrap.py")).read_text(encoding="utf-8")


#: One os.fork at a time from this process's threads: filelock (>= 3.19, on Python >= 3.12)
#: audits os.fork and refuses one while another thread is inside its fork hooks.
_FORK_LOCK = threading.Lock()


def _kill_uid(uid: int) -> None:
    """SIGKILL every process of uid: kill(-1) from a child that has become that uid."""
    with _FORK_LOCK:
        pid = os.fork()
    if pid == 0:  # only async-signal-safe syscalls here: the parent may have threads
        try:
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
        except BaseException:
            pass
        os._exit(0)
    os.waitpid(pid, 0)


def _kill_tree(proc: subprocess.Popen, plan: Plan, *, whole_uid: bool = True) -> None:
    """SIGKILL the process group, and every process of the run's uid unless whole_uid is False.

    Under bwrap the uid sweep is unneeded: the pid namespace dies with bwrap (its pid 1 has
    --die-with-parent), and the kernel kills everything inside.
    """
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if whole_uid and plan.uid is not None and plan.mode != "bwrap":
        _kill_uid(plan.uid)


def _watch(out_fd: int, err_fd: int, exit_fd: int, on_exit: Callable[[], None], limits: Limits,
           deadline: float) -> tuple[bytes, bytes, str | None, bool]:
    """Read both pipes until the run has ended and they are at EOF, or the deadline or output cap.

    exit_fd turns readable when the started process is gone (a pidfd, or the zygote's result
    pipe); on_exit is then called once and must kill what the run left behind, so the pipes
    reach EOF (or DRAIN_GRACE_S passes). A run that closed its stdout and stderr still runs to
    its end or the deadline. Returns (stdout, stderr, limit, exited): exited tells on_exit ran,
    and kill(-1) of the run's uid is atomic with fork, so nothing of the uid is left.
    """
    buffers = {out_fd: bytearray(), err_fd: bytearray()}
    cap = limits.max_output_bytes
    limit = None
    exited_at = None
    with selectors.DefaultSelector() as selector:
        for fd in buffers:
            selector.register(fd, selectors.EVENT_READ)
        selector.register(exit_fd, selectors.EVENT_READ)
        open_pipes = len(buffers)
        while (open_pipes or exited_at is None) and limit is None:
            now = time.monotonic()
            if now >= deadline:
                limit = "time"
                break
            wait = deadline - now
            if exited_at is not None:
                wait = min(wait, exited_at + DRAIN_GRACE_S - now)
                if wait <= 0:
                    break
            for key, _ in selector.select(wait):
                fd = key.fd
                if fd == exit_fd:
                    selector.unregister(exit_fd)
                    exited_at = time.monotonic()
                    on_exit()
                    continue
                chunk = os.read(fd, READ_CHUNK)
                if not chunk:
                    selector.unregister(fd)
                    open_pipes -= 1
                    continue
                buffer = buffers[fd]
                if len(buffer) + len(chunk) > cap:
                    buffer += chunk[: cap - len(buffer)]
                    limit = "output"
                    break
                buffer += chunk
    return bytes(buffers[out_fd]), bytes(buffers[err_fd]), limit, exited_at is not None


def _read_status(fd: int) -> list[str]:
    """Lines the bootstrap wrote to the status pipe (all writers are dead by now)."""
    os.set_blocking(fd, False)
    data = bytearray()
    try:
        while chunk := os.read(fd, READ_CHUNK):
            data += chunk
    except BlockingIOError:
        pass
    return data.decode("utf-8", "replace").split()


def _exit_code(status: int, mode: str) -> int:
    code = os.waitstatus_to_exitcode(status)
    # bubblewrap reports a child killed by signal N as exit status 128 + N.
    if mode == "bwrap" and 128 < code < 128 + signal.NSIG:
        return -(code - 128)
    return code


def _classify(parent_limit: str | None, reported: list[str], exit_code: int, cpu_s: float,
              limits: Limits, stderr: bytes) -> str | None:
    if parent_limit:
        return parent_limit
    words = [w for w in reported if "=" not in w]
    if words:
        return words[0]
    if exit_code == -signal.SIGXCPU or (exit_code == -signal.SIGKILL and cpu_s >= limits.cpu_seconds - 0.05):
        return "cpu"
    if exit_code == -signal.SIGXFSZ:
        return "file_size"
    if exit_code != 0 and b"MemoryError" in stderr[-2048:]:
        return "memory"
    return None


def run_python(code: str, *, timeout_s: float = 10, memory_mb: int = 1024, max_output_bytes: int = 65536,
               cpu_s: float | None = None, max_processes: int = 32, max_file_mb: int = 64,
               isolation: str | None = None) -> SandboxResult:
    """Run code as ``main.py`` in a fresh sandbox with the same interpreter, and report what happened.

    Never raises for anything the code does; raises ValueError for bad limits or an unknown
    isolation. See Limits for the limits and isolation.py for what each mode guarantees
    (default: the strongest that works here).
    """
    limits = Limits(timeout_s=timeout_s, memory_mb=memory_mb, max_output_bytes=max_output_bytes,
                    cpu_s=cpu_s, max_processes=max_processes, max_file_mb=max_file_mb)
    mode = isolation or default_isolation()
    start = time.monotonic()
    if mode == "zygote":
        return _run_in_zygote(code, limits, start)
    with tempfile.TemporaryDirectory(prefix="slm-sandbox-", ignore_cleanup_errors=True) as workdir:
        workdir = os.path.realpath(workdir)
        Path(workdir, "main.py").write_text(code, encoding="utf-8", errors="surrogatepass")
        plan = make_plan(mode, workdir, limits)
        if plan.uid is not None:
            os.chown(workdir, plan.uid, plan.uid)
            os.chown(os.path.join(workdir, "main.py"), plan.uid, plan.uid)
        status_read, status_write = os.pipe()
        args = {**plan.child_args, "status_fd": str(status_write)}
        argv = [*plan.prefix, sys.executable, *PYTHON_FLAGS, "-c", _bootstrap_source(),
                *(f"{k}={v}" for k, v in args.items())]
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, cwd=workdir, env=clean_env(workdir),
                                    start_new_session=True, pass_fds=(status_write,))
        finally:
            os.close(status_write)
        swept = False
        pidfd = os.pidfd_open(proc.pid)
        try:
            stdout, stderr, parent_limit, swept = _watch(
                proc.stdout.fileno(), proc.stderr.fileno(), pidfd, lambda: _kill_tree(proc, plan),
                limits, start + limits.timeout_s)
        finally:
            os.close(pidfd)
            _kill_tree(proc, plan, whole_uid=not swept)
            _, status, rusage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            proc.stdout.close()
            proc.stderr.close()
            reported = _read_status(status_read)
            os.close(status_read)
        exit_code = _exit_code(status, mode)
        cpu = max([rusage.ru_utime + rusage.ru_stime,
                   *(float(w[4:]) for w in reported if w.startswith("cpu="))])
        limit = _classify(parent_limit, reported, exit_code, cpu, limits, stderr)
    return SandboxResult(
        stdout=stdout.decode("utf-8", "replace"),
        stderr=stderr.decode("utf-8", "replace"),
        exit_code=exit_code,
        limit=limit,
        wall_s=time.monotonic() - start,
        cpu_s=cpu,
        isolation=mode,
    )


def _run_in_zygote(code: str, limits: Limits, start: float) -> SandboxResult:
    """run_python for isolation="zygote": the pool's zygote forks the run (see zygote.py)."""
    workdir = f"/tmp/slm-sandbox-{secrets.token_hex(8)}"  # inside the run's private /tmp only
    plan = make_plan("zygote", workdir, limits)
    request = {"uid": plan.uid, "workdir": workdir, "env": clean_env(workdir),
               "child_args": plan.child_args, "tmpfs_bytes": TMPFS_BYTES}
    code_fd = os.memfd_create("main.py", os.MFD_CLOEXEC)
    (out_r, out_w), (err_r, err_w), (status_r, status_w), (exit_r, exit_w) = (os.pipe() for _ in range(4))
    try:
        data = memoryview(code.encode("utf-8", "surrogatepass"))
        while data:
            data = data[os.write(code_fd, data):]
        os.lseek(code_fd, 0, os.SEEK_SET)
        for attempt in (1, 2):
            pool = zygote_pool(plan.prefix, PYTHON_FLAGS, clean_env("/"), plan.child_args["site_paths"])
            try:
                pool.submit(request, code_fd, out_w, err_w, status_w, exit_w)
                break
            except OSError:  # the zygote died since (no run can kill it: the OOM killer can)
                if attempt == 2:
                    raise
                pool.close()
    except BaseException:
        for fd in (out_r, err_r, status_r, exit_r):
            os.close(fd)
        raise
    finally:
        for fd in (code_fd, out_w, err_w, status_w, exit_w):
            os.close(fd)
    ended: list[bytes] = []

    def on_exit() -> None:  # the zygote already killed what the run left behind
        ended.append(os.read(exit_r, READ_CHUNK))

    try:
        # The clock starts once the run is handed over: a pool's start-up is not the run's time.
        stdout, stderr, parent_limit, swept = _watch(out_r, err_r, exit_r, on_exit, limits,
                                                     time.monotonic() + limits.timeout_s)
        if not swept:
            try:
                pool.kill(plan.uid)
            except OSError:  # the zygote is gone (and its runs with it); make sure
                _kill_uid(plan.uid)
            if _readable(exit_r, ZYGOTE_REAP_TIMEOUT_S):
                ended.append(os.read(exit_r, READ_CHUNK))
        reported = _read_status(status_r)
    finally:
        for fd in (out_r, err_r, status_r, exit_r):
            os.close(fd)
    message = ended[0].split() if ended else []
    if len(message) != 2 or not message[0].lstrip(b"-").isdigit():
        raise RuntimeError(f"sandbox: the zygote did not report the run's end ({message!r}); "
                           f"zygote log: {pool.log_tail()}")
    if "setup_failed" in reported:
        raise RuntimeError(f"sandbox: the zygote could not set up the run: {stderr.decode('utf-8', 'replace')}")
    status, cpu = int(message[0]), float(message[1])
    exit_code = _exit_code(status, "zygote")
    cpu = max([cpu, *(float(w[4:]) for w in reported if w.startswith("cpu="))])
    return SandboxResult(
        stdout=stdout.decode("utf-8", "replace"),
        stderr=stderr.decode("utf-8", "replace"),
        exit_code=exit_code,
        limit=_classify(parent_limit, reported, exit_code, cpu, limits, stderr),
        wall_s=time.monotonic() - start,
        cpu_s=cpu,
        isolation="zygote",
    )


def _readable(fd: int, timeout_s: float) -> bool:
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        return bool(selector.select(timeout_s))


def run_many(codes: list[str], *, workers: int = 2, **kwargs) -> list[SandboxResult]:
    """Run each snippet in its own sandbox, ``workers`` at a time; results in input order.

    kwargs are run_python's keyword arguments, applied to every snippet.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers!r}")
    if not codes:
        return []
    with ThreadPoolExecutor(max_workers=min(workers, len(codes))) as pool:
        return list(pool.map(functools.partial(_run_one, kwargs), codes))


def _run_one(kwargs: dict, code: str) -> SandboxResult:
    return run_python(code, **kwargs)
