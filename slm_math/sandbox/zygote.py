"""The zygote: one interpreter inside one bubblewrap sandbox that forks a fresh, locked-down child per run.

Starting bwrap and an interpreter per run costs ~40-80 ms of wall time (namespaces, mounts,
``site``, imports); a fork costs ~1 ms. So ``isolation="zygote"`` (pool.py starts it) runs this
file once, inside a bubblewrap sandbox like the per-run one (read-only host filesystem, homes
hidden, no network), with ``-I -S -B -X utf8 -c SOURCE CTL_FD BOOTSTRAP_SOURCE SITE_PATHS``. It imports
PRELOAD, says ``ready`` on the control socket, then for each request (limits, uid, environment,
and the fds: code, stdout, stderr, status, result) forks a child that, before any
model-written code runs:

1. starts a new session, puts /dev/null, the run's pipes and its status pipe on fds 0-3 and
   closes every other fd (the control socket, other runs' pipes);
2. enters new mount, network and IPC namespaces: a /proc that shows only its own uid's
   processes (hidepid), fresh tmpfs on /tmp, /var/tmp and /dev/shm, a network namespace
   with nothing but its own loopback, its own SysV IPC;
3. replaces the environment by the runner's clean one;
4. drops to the run's random unused uid (setgroups/setgid/setuid: every capability goes;
   bwrap set no_new_privs, so no exec can bring one back);
5. makes its working directory (mode 0700) in its private /tmp, writes main.py there;
6. sets the rlimits and the audit-hook guards (bootstrap.py), then runs main.py as
   ``__main__`` and leaves as the interpreter would (threads joined, atexit run, buffers
   flushed; see exit_after).

When the child ends, the zygote reaps it, kills every process of its uid (what the run left
running, a ``setsid`` daemon included; see _kill_uid) and then writes ``STATUS CPU_SECONDS`` on
the run's result pipe. The runner on the host enforces the wall clock and the output cap; to
stop a run it sends ``{"kill": uid}`` and the zygote kills the run the same way (_stop_run).

Why a fork of the zygote leaks nothing between runs
---------------------------------------------------
Every child is forked from the zygote, never from an earlier run, and the zygote never runs
model-written code nor reads its output: it only receives limits and fds and reports exit
statuses. So what a run starts from is a pure function of the zygote's start-up, the same for
every run. What a run shares with the zygote, and why that is safe:

- its memory image: the interpreter and the modules PRELOAD imported, copy-on-write:
  a run's writes (``math.pi = 3``, a sympy cache entry) never reach the zygote or another run.
  A run finds those modules already in ``sys.modules``, as if it had imported them first. The
  str hash seed is the zygote's (set iteration order is the same in every run of one pool);
  ``random`` reseeds itself in every forked child (os.register_at_fork), so runs do not
  replay one random sequence. The preloaded modules count towards a run's address-space
  limit (sympy: ~40 MB of it), as they would had the run imported them.
- the pool's user (none: the host's), pid, uts and cgroup namespaces. Runs of one pool do not
  see each other in /proc (hidepid), and under distinct uids without capabilities cannot
  signal or trace one another or the zygote (root), even knowing a pid.
- the read-only host filesystem. Nothing is writable to a run but its private tmpfs mounts,
  which die with its mount namespace when its last process is gone.

What every run gets fresh, as with a per-run bwrap: a process (own session, rlimits, CPU clock
starting at 0), working directory, /tmp, /var/tmp, /dev/shm, /proc, network namespace, SysV
IPC, environment and uid. (Not a pid namespace of its own: as its pid 1 the run would ignore
SIGXCPU, the CPU limit's signal.) When the host process dies, bwrap (``--die-with-parent``) and
its pid namespace die, and with them the zygote and every run.

Stdlib only, like bootstrap.py: slm_math need not be importable inside the sandbox.
"""

import ctypes
import fcntl
import gc
import json
import os
import selectors
import socket
import struct
import sys

#: Imported once here, so no run pays for them. Only import-time state: safe to share (above).
PRELOAD = ("math", "cmath", "fractions", "decimal", "itertools", "functools", "collections",
           "statistics", "re", "string", "heapq", "bisect", "operator", "traceback", "errno",
           "sympy")
CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWIPC = 0x00020000, 0x40000000, 0x08000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x8, 0x4000, 0x40000
SIOCSIFFLAGS, IFF_UP, IFF_LOOPBACK, IFF_RUNNING = 0x8914, 0x1, 0x8, 0x40
PRIVATE_TMPFS = ("/tmp", "/var/tmp", "/dev/shm")
STATUS_FD = 3
MAX_REQUEST = 1 << 16
SETUP_FAILED_EXIT = 125

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _private_namespaces(tmpfs_bytes):
    """New mount, network and IPC namespaces; a /proc showing only our uid, fresh tmpfs on the scratch dirs."""
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC), "unshare")
    # Our mounts must not propagate back into the pool's namespace.
    _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    # A /proc that shows only the processes of our own uid: no other run, nor the zygote.
    _check(_libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, b"hidepid=invisible"),
           "mount proc")
    options = f"size={tmpfs_bytes},mode=1777".encode()
    for path in PRIVATE_TMPFS:
        _check(_libc.mount(b"tmpfs", path.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options), f"mount tmpfs {path}")
    # Bring up the loopback of the new network namespace (as bwrap does): local-only sockets work.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", IFF_UP | IFF_LOOPBACK | IFF_RUNNING))


def _read_all(fd):
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def _become_run(request, fds, boot):
    """In the forked child: everything up to (not including) running main.py; see the docstring."""
    code_fd, out_fd, err_fd, status_fd = fds
    os.setsid()
    null = os.open("/dev/null", os.O_RDONLY)
    for source, target in ((null, 0), (out_fd, 1), (err_fd, 2), (status_fd, STATUS_FD)):
        os.dup2(source, target)
    code = _read_all(code_fd)
    os.closerange(STATUS_FD + 1, os.sysconf("SC_OPEN_MAX"))
    _private_namespaces(int(request["tmpfs_bytes"]))
    os.environ.clear()
    os.environ.update(request["env"])
    uid = int(request["uid"])
    boot._drop_privileges(uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise OSError("the uid drop did not take")
    workdir = request["workdir"]
    os.mkdir(workdir, 0o700)
    os.chdir(workdir)
    with open("main.py", "wb") as f:
        f.write(code)
    cfg = request["child_args"]
    boot._set_limits(cfg)
    boot._install_guards(cfg)


def _kill_uid(uid):
    """SIGKILL every process of uid (what a run left running, a setsid daemon included).

    kill(-1) with real and effective uid set to uid reaches exactly the processes whose uid is
    uid (the kernel skips the caller and pid 1), atomically: no fork can slip through. The saved
    uid stays 0, so we take root back after. No fork of this process needed.
    """
    os.setresuid(uid, uid, 0)
    try:
        os.kill(-1, 9)
    except ProcessLookupError:
        pass  # nothing was left
    finally:
        os.setresuid(0, 0, 0)


def _stop_run(uid, running):
    """Kill a run: its main process (it may still be root, setting up) and every process of uid."""
    for pid, _, run_uid in running.values():
        if run_uid == uid:
            try:
                os.kill(pid, 9)  # allowed while it is still root like us; EPERM once it is uid
            except (ProcessLookupError, PermissionError):
                pass
    _kill_uid(uid)  # the main process once it dropped to uid, and all it started


def serve(ctl):
    """Fork a child per request and report each child's end; returns only in a child: (request, fds)."""
    selector = selectors.DefaultSelector()
    selector.register(ctl, selectors.EVENT_READ)
    running = {}  # pidfd -> (pid, result fd, uid)
    while True:
        for key, _ in selector.select():
            if key.fileobj is ctl:
                message, fds, _, _ = socket.recv_fds(ctl, MAX_REQUEST, 5)
                if not message:
                    raise SystemExit(0)  # the runner closed the pool
                request = json.loads(message)
                if "kill" in request:  # the runner stops a run (wall clock, output cap)
                    _stop_run(int(request["kill"]), running)
                    continue
                *run_fds, result_fd = fds
                try:
                    pid = os.fork()
                except OSError as exc:
                    os.write(result_fd, f"error {exc}\n".encode())
                    pid = None
                if pid == 0:
                    selector.close()
                    ctl.close()
                    os.close(result_fd)
                    return request, run_fds
                for fd in run_fds:
                    os.close(fd)
                if pid is None:
                    os.close(result_fd)
                    continue
                pidfd = os.pidfd_open(pid)
                selector.register(pidfd, selectors.EVENT_READ)
                running[pidfd] = (pid, result_fd, int(request["uid"]))
            else:
                pidfd = key.fd
                selector.unregister(pidfd)
                os.close(pidfd)
                pid, result_fd, uid = running.pop(pidfd)
                _, status, usage = os.wait4(pid, 0)
                _kill_uid(uid)
                try:
                    os.write(result_fd, f"{status} {usage.ru_utime + usage.ru_stime:.4f}\n".encode())
                except OSError:
                    pass  # the runner gave up on this run
                os.close(result_fd)


def main():
    """Load the bootstrap, preload, serve; in a forked child, return what runs main.py."""
    ctl_fd, boot_source, site_paths = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    boot = type(sys)("sandbox_bootstrap")
    exec(compile(boot_source, "<sandbox-bootstrap>", "exec"), boot.__dict__)
    boot.add_site_paths(site_paths)
    for name in PRELOAD:
        try:
            __import__(name)
        except ImportError:
            pass
    # Out of the collector's sight: a run's collections then never touch (and copy) these pages.
    gc.freeze()
    ctl = socket.socket(fileno=ctl_fd)
    ctl.send(b"ready")
    request, fds = serve(ctl)
    try:
        _become_run(request, fds, boot)
    except BaseException as exc:  # never run model code half set up
        boot._report(STATUS_FD, "setup_failed")
        os.write(2, f"sandbox: zygote child setup failed: {exc!r}\n".encode())
        os._exit(SETUP_FAILED_EXIT)
    return boot


def exit_after(boot):
    """Run main.py, then leave as ``python main.py`` would, minus the interpreter's teardown.

    Non-daemon threads are joined, atexit functions run, stdout and stderr flushed, the exit
    status follows SystemExit's rules; then os._exit. Tearing down the preloaded modules
    object by object would touch (and copy) every page the run shares with the zygote: that
    took ~0.2 CPU-seconds a run with sympy preloaded, 40 times the run itself. Only objects'
    finalizers at teardown are skipped; an unclosed file in the private /tmp dies unflushed
    with its tmpfs either way.
    """
    import atexit
    import threading

    try:
        boot.run_user_code(STATUS_FD)
        status = 0
    except SystemExit as exc:
        status = _exit_status(exc.code)
    try:
        threading._shutdown()
        atexit._run_exitfuncs()
    except SystemExit as exc:
        status = _exit_status(exc.code)
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(status)


def _exit_status(code):
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        print(code, file=sys.stderr)
    except Exception:  # noqa: BLE001 - as the interpreter does, any failure to print is ignored
        pass
    return 1


if __name__ == "__main__":
    exit_after(main())
