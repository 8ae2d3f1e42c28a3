"""The first code the sandboxed interpreter runs: it locks itself down, then runs main.py.

The runner passes this file's source with ``python -I -S -B -X utf8 -c SOURCE KEY=VALUE...``, so it
needs no readable path, and it must stay stdlib-only: the slm_math package may not be importable
inside the sandbox. Its start-up cost is paid on every run, hence no json/argparse and lazy imports.

In order it: (1) enters a new network namespace when asked (needs CAP_SYS_ADMIN), (2) sets the
rlimits, (3) drops to an unused uid when asked (root only; this makes RLIMIT_NPROC count just
this sandbox's processes and leaves the permission bits of the host filesystem in force),
(4) installs the audit-hook guards, (5) runs main.py as ``__main__``. An uncaught exception that
a limit or guard caused is reported on the status pipe (one word a line) so the runner can set
``SandboxResult.limit``.

The guards are an audit hook (PEP 578): they see Python-level calls only; ctypes or an exec'd
program gets past them. They are the last layer, not the wall: see isolation.py.
"""

import os
import resource
import sys

CLONE_NEWNET = 0x40000000
ALWAYS_WRITABLE = ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
PATH_MUTATING_EVENTS = {
    "os.remove", "os.rmdir", "os.mkdir", "os.rename", "os.link", "os.symlink", "os.chmod",
    "os.chown", "os.truncate", "os.utime", "os.chflags", "os.mkfifo", "os.mknod",
    "shutil.rmtree", "shutil.copyfile", "shutil.copytree", "shutil.move", "shutil.chown",
}
SPAWN_EVENTS = {
    "os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
    "subprocess.Popen", "pty.spawn",
}


class SandboxDenied(PermissionError):
    """Raised by a guard; ``limit`` names the policy that refused the call."""

    def __init__(self, limit, message):
        super().__init__(message)
        self.limit = limit


def _report(status_fd, word):
    try:
        os.write(status_fd, word.encode() + b"\n")
    except OSError:
        pass


def _unshare_net():
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    return libc.unshare(CLONE_NEWNET) == 0


def _set_limits(cfg):
    cpu = int(cfg["cpu_s"])
    # The hard CPU limit one second above the soft one: SIGXCPU first, SIGKILL if ignored.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    memory = int(cfg["memory_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    file_bytes = int(cfg["file_bytes"])
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    nproc = int(cfg["nproc"])
    if nproc > 0:
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def _drop_privileges(uid):
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def _split(value):
    return tuple(p for p in value.split(os.pathsep) if p) if value else ()


def _under(path, roots):
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _install_guards(cfg):
    workdir = cfg["workdir"]
    guard_fs = cfg.get("guard_fs") == "1"
    guard_spawn = cfg.get("guard_spawn") == "1"
    hidden = _split(cfg.get("hidden", ""))
    allowed_reads = _split(cfg.get("readable", ""))
    realpath, fspath = os.path.realpath, os.fspath
    socket_families_ok = (1,)  # AF_UNIX: socketpair/multiprocessing, never the network

    def resolve(path):
        path = fspath(path)
        if isinstance(path, bytes):
            path = path.decode("utf-8", "surrogateescape")
        return realpath(path)

    def check_write(path):
        if isinstance(path, int):
            return
        target = resolve(path)
        if not _under(target, (workdir,)) and target not in ALWAYS_WRITABLE:
            raise SandboxDenied("filesystem", f"sandbox: writing outside the working directory is not allowed: {target}")

    def hook(event, args):
        if event == "open":
            path, mode, flags = args
            if not guard_fs or isinstance(path, int) or path is None:
                return
            writing = (mode is not None and any(c in mode for c in "wax+")) or (
                mode is None and isinstance(flags, int) and flags & WRITE_FLAGS
            )
            if writing:
                check_write(path)
            elif hidden:
                target = resolve(path)
                if _under(target, hidden) and not _under(target, allowed_reads):
                    raise SandboxDenied("filesystem", f"sandbox: reading under the home directory is not allowed: {target}")
        elif event in ("os.listdir", "os.scandir") and hidden and isinstance(args[0], (str, bytes, os.PathLike)):
            target = resolve(args[0])
            if _under(target, hidden) and not _under(target, allowed_reads):
                raise SandboxDenied("filesystem", f"sandbox: listing the home directory is not allowed: {target}")
        elif event == "socket.__new__":
            if args[1] not in socket_families_ok:
                raise SandboxDenied("network", "sandbox: network access is disabled")
        elif guard_fs and event in PATH_MUTATING_EVENTS:
            for arg in args[:2]:
                if isinstance(arg, (str, bytes, os.PathLike)):
                    check_write(arg)
        elif guard_spawn and event in SPAWN_EVENTS:
            raise SandboxDenied("processes", "sandbox: starting processes is not allowed here")

    sys.addaudithook(hook)


def _classify(exc):
    """Which limit or guard an uncaught exception came from, or None."""
    import errno

    if isinstance(exc, SandboxDenied):
        return exc.limit
    if isinstance(exc, MemoryError):
        return "memory"
    if isinstance(exc, OSError):
        if exc.errno == errno.EAGAIN and isinstance(exc, BlockingIOError):
            return "processes"  # fork() under RLIMIT_NPROC
        if exc.errno == errno.EFBIG:
            return "file_size"
        if exc.errno == errno.EROFS:
            return "filesystem"
    if isinstance(exc, RuntimeError) and "can't start new thread" in str(exc):
        return "processes"
    return None


def _run_main(status_fd):
    module = type(sys)("__main__")
    module.__file__ = os.path.abspath("main.py")
    module.__builtins__ = __builtins__
    sys.modules["__main__"] = module
    sys.argv = ["main.py"]
    try:
        with open("main.py", encoding="utf-8") as f:
            code = compile(f.read(), "main.py", "exec")
        exec(code, module.__dict__)
    except SystemExit:
        raise
    except BaseException as exc:
        import traceback

        limit = _classify(exc)
        if limit:
            _report(status_fd, limit)
        # Drop this file's frame so the traceback reads like a plain `python main.py`.
        tb = exc.__traceback__.tb_next if exc.__traceback__ else None
        if isinstance(exc, SyntaxError):
            tb = None
        traceback.print_exception(type(exc), exc, tb)
        raise SystemExit(1) from None


def run_user_code(status_fd):
    """Run main.py, then report our CPU time: under bwrap the parent's rusage misses it."""
    try:
        _run_main(status_fd)
    finally:
        # Our own CPU time, and that of children we waited for (bwrap's pid 1, or the zygote,
        # sits between us and the runner).
        times = os.times()
        _report(status_fd, f"cpu={times.user + times.system + times.children_user + times.children_system:.3f}")


def add_site_paths(value):
    """Do what ``site`` would, minus .pth files: the interpreter runs with -S.

    Puts the site-packages directories on sys.path, and defines the builtins site adds
    (exit, quit, help, ...): model-written code calls exit() often enough.
    """
    import site  # with -S, importing site does not run it: only its helpers

    sys.path.extend(p for p in _split(value) if p not in sys.path)
    site.setquit()
    site.setcopyright()
    site.sethelper()


def main():
    cfg = dict(arg.split("=", 1) for arg in sys.argv[1:])
    add_site_paths(cfg.get("site_paths", ""))
    status_fd = int(cfg["status_fd"])
    if cfg.get("unshare_net") == "1":
        _report(status_fd, "net=" + ("netns" if _unshare_net() else "none"))
    _set_limits(cfg)
    if cfg.get("uid"):
        _drop_privileges(int(cfg["uid"]))
    _install_guards(cfg)
    del cfg
    run_user_code(status_fd)


if __name__ == "__main__":
    main()
