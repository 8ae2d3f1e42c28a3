"""Isolation layers: which ones work on this machine, and the command line and child settings of each.

Four modes, strongest (and fastest) first; ``available_isolations()`` lists those that work here
and ``run_python`` uses the first unless told otherwise:

``zygote`` everything ``bwrap`` gives, per run, at a fork's cost: one bubblewrap sandbox holds a
           pre-started interpreter that forks each run into fresh mount (private /tmp, /var/tmp,
           /dev/shm), network and IPC namespaces, a fresh working directory, environment and
           uid (zygote.py: the design and why runs share nothing). Needs root (for the uid per
           run and the namespaces) and an interpreter outside /tmp, /var/tmp and /dev/shm.
``bwrap``  bubblewrap: new mount, network, pid, ipc and uts namespaces. The host filesystem is
           mounted read-only, /tmp, /var/tmp and /dev/shm are fresh small tmpfs, the home
           directories are hidden under empty tmpfs (the interpreter's own directories are
           bound back read-only if they live there), and only the working directory is
           writable. No network device but an isolated loopback. Everything left alive dies
           with the pid namespace.
``netns``  no bubblewrap, but root: a network namespace by unshare(2) in the child, nothing
           else from the kernel. Files are protected by the uid drop below (host permission
           bits) plus the audit-hook guards of bootstrap.py (Python-level only: a shell command
           can still write to world-writable places such as /tmp).
``none``   no namespace at all (not root, no usable bubblewrap): rlimits and the audit-hook
           guards only. Network and file policy then hold against Python code but not against
           ctypes or programs the code starts. Use it for trusted-ish code only.

In every mode, when the parent runs as root the child drops to a random unused uid before it
runs any user code, so RLIMIT_NPROC (which root ignores) bounds the fork bomb, and the host's
permission bits apply. If the interpreter's files are not readable by such a uid (e.g. a pyenv
under a 0700 /root) and no bubblewrap re-binds them, the uid is kept and the guards refuse to
start processes at all instead.
"""

from __future__ import annotations

import functools
import os
import pwd
import random
import shutil
import site
import stat
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass

from .limits import Limits

MODES = ("zygote", "bwrap", "netns", "none")
TMPFS_BYTES = 64 * 1024 * 1024
HIDDEN_TMPFS_BYTES = 1024 * 1024
#: Random uids come from this range: far above any distribution's users and subuid ranges.
UID_RANGE = (2_000_000_000, 2_100_000_000)
#: -S: no ``site`` at start-up. It costs ~20 ms CPU a run (this venv's .pth files import pathlib,
#: re, urllib...); the bootstrap puts site_paths() on sys.path instead, without running .pth files.
PYTHON_FLAGS = ("-I", "-S", "-B", "-X", "utf8")
#: Capabilities the zygote keeps inside its sandbox, only to set up each child before the uid
#: drop: unshare and mount (SYS_ADMIN), the loopback (NET_ADMIN), setuid and setgid.
ZYGOTE_CAPS = ("CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_SETUID", "CAP_SETGID")


@dataclass(frozen=True)
class Plan:
    """How to start one sandboxed run: argv before the interpreter, the uid, the child's settings."""

    mode: str
    prefix: tuple[str, ...]
    uid: int | None
    child_args: dict[str, str]


def hidden_dirs() -> tuple[str, ...]:
    """Home directories the sandbox must not read: $HOME, the user's passwd home and /root."""
    candidates = {os.path.expanduser("~"), os.environ.get("HOME", ""), pwd.getpwuid(os.getuid()).pw_dir}
    if os.access("/root", os.X_OK):
        candidates.add("/root")
    dirs = {os.path.realpath(c) for c in candidates if c and os.path.isdir(c)}
    dirs.discard("/")
    return tuple(sorted(dirs))


@functools.cache
def interpreter_paths() -> tuple[str, ...]:
    """Directories the interpreter needs to read: prefixes, the real binary's dir, site-packages."""
    paths = {
        sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
        os.path.dirname(os.path.realpath(sys.executable)), *site.getsitepackages(),
    }
    return tuple(sorted({os.path.realpath(p) for p in paths if os.path.isdir(p)}))


@functools.cache
def site_paths() -> tuple[str, ...]:
    """The site-packages directories the sandboxed interpreter imports from (this interpreter's)."""
    return tuple(p for p in site.getsitepackages() if os.path.isdir(p))


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _world_readable_dir(path: str) -> bool:
    mode = os.stat(path).st_mode
    return bool(mode & stat.S_IROTH and mode & stat.S_IXOTH)


def _world_reachable(path: str, start: str = "/") -> bool:
    """Whether a uid with no rights of its own can walk from start down to path and list it."""
    rel = os.path.relpath(path, start)
    current = start
    parts = [] if rel == "." else rel.split(os.sep)
    for part in parts:
        if not os.stat(current).st_mode & stat.S_IXOTH:
            return False
        current = os.path.join(current, part)
    return _world_readable_dir(current)


def uid_drop_possible(mode: str) -> bool:
    """Whether a random unprivileged uid could still run the interpreter in this mode."""
    if os.geteuid() != 0:
        return False
    hidden = hidden_dirs()
    for path in interpreter_paths():
        if mode == "bwrap" and _under(path, hidden):
            # bwrap re-binds it onto an empty tmpfs whose directories are 0755.
            if not _world_readable_dir(path):
                return False
        elif not _world_reachable(path):
            return False
    return True


def _fresh_tmp_dirs() -> list[str]:
    return [tmp for tmp in ("/tmp", "/var/tmp", "/dev/shm") if tmp == "/dev/shm" or os.path.isdir(tmp)]


def bwrap_prefix(workdir: str | None) -> tuple[str, ...]:
    """The bubblewrap command line up to (excluding) the interpreter.

    workdir None: the zygote's sandbox, with no working directory of its own (each run makes
    one in its private /tmp) and the capabilities ZYGOTE_CAPS instead of root's all.
    """
    args = [
        shutil.which("bwrap") or "bwrap", "--die-with-parent",
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        "--hostname", "sandbox",
    ]
    if os.geteuid() != 0:
        args.append("--unshare-user")
    args += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    fresh = _fresh_tmp_dirs()
    for tmp in fresh:
        args += ["--perms", "1777", "--size", str(TMPFS_BYTES), "--tmpfs", tmp]
    hidden = hidden_dirs()
    for home in hidden:
        args += ["--size", str(HIDDEN_TMPFS_BYTES), "--tmpfs", home]
    # The interpreter may live under a directory the sandbox replaces: a home (pyenv) or a
    # fresh tmpfs (a virtualenv in a checkout under /tmp, as CI clones can be).
    covered = (*hidden, *(os.path.realpath(t) for t in fresh))
    made = set(covered)
    for path in interpreter_paths():
        home = next((h for h in covered if _under(path, (h,))), None)
        if home is None:
            continue
        # bwrap would make the directories in between 0700: unreachable after the uid drop.
        between = os.path.relpath(os.path.dirname(path), home)
        current = home
        for part in [] if between == "." else between.split(os.sep):
            current = os.path.join(current, part)
            if current not in made:
                made.add(current)
                args += ["--perms", "0755", "--dir", current]
        args += ["--ro-bind", path, path]
    if workdir is None:
        args += ["--cap-drop", "ALL"]
        for cap in ZYGOTE_CAPS:
            args += ["--cap-add", cap]
        args += ["--chdir", "/", "--"]
    else:
        args += ["--bind", workdir, workdir, "--chdir", workdir, "--"]
    return tuple(args)


def zygote_possible() -> bool:
    """Whether the zygote's preconditions hold (root, a uid per run, the interpreter not on a tmpfs
    that each run replaces); _zygote_works then tries it."""
    if os.geteuid() != 0 or shutil.which("bwrap") is None or not uid_drop_possible("bwrap"):
        return False
    fresh = tuple(os.path.realpath(t) for t in _fresh_tmp_dirs())
    return not any(_under(path, fresh) for path in interpreter_paths())


def _user_task_count(uid: int) -> int:
    """Tasks (processes and threads) of uid now: RLIMIT_NPROC counts them all, system-wide."""
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry}/task"))
            except OSError:
                pass
    return count


def make_plan(mode: str, workdir: str, limits: Limits) -> Plan:
    """Everything mode-specific about one run in workdir under limits."""
    if mode not in MODES:
        raise ValueError(f"unknown isolation {mode!r}; expected one of {MODES}")
    drop = uid_drop_possible("bwrap" if mode == "zygote" else mode)
    uid = random.randrange(*UID_RANGE) if drop else None
    if uid is not None:
        nproc = limits.max_processes  # the fresh uid owns nothing else
    elif os.geteuid() != 0:
        # Shared with the user's other tasks: allow those plus the sandbox's own.
        nproc = _user_task_count(os.getuid()) + limits.max_processes
    else:
        nproc = 0  # root ignores RLIMIT_NPROC; guard_spawn below stands in
    child = limits.child_args(nproc)
    child.update(
        workdir=workdir,
        site_paths=os.pathsep.join(site_paths()),
        unshare_net="1" if mode == "netns" else "0",
        guard_fs="0" if mode in ("zygote", "bwrap") else "1",
        guard_spawn="1" if os.geteuid() == 0 and uid is None else "0",
    )
    if uid is not None:
        child["uid"] = str(uid)
    if mode not in ("zygote", "bwrap"):
        child["hidden"] = os.pathsep.join(hidden_dirs())
        child["readable"] = os.pathsep.join(interpreter_paths())
    if mode == "zygote" and uid is None:
        raise ValueError("isolation 'zygote' needs root and a uid per run; see isolation.py")
    prefix = bwrap_prefix(workdir if mode == "bwrap" else None) if mode in ("zygote", "bwrap") else ()
    return Plan(mode=mode, prefix=prefix, uid=uid, child_args=child)


def clean_env(workdir: str) -> dict[str, str]:
    """The child's whole environment: nothing inherited (no tokens or keys), HOME in workdir."""
    return {
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": workdir,
        "TMPDIR": workdir,
        "USER": "sandbox",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        # Math libraries start a thread per core by default; threads count as processes here.
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
    }


def _bwrap_works() -> bool:
    if shutil.which("bwrap") is None:
        return False
    with tempfile.TemporaryDirectory(prefix="slm-sandbox-probe-") as workdir:
        probe = f"import sys; sys.path += {list(site_paths())!r}; import sympy"
        argv = [*bwrap_prefix(workdir), sys.executable, *PYTHON_FLAGS, "-c", probe]
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=30, env=clean_env(workdir))
        except (OSError, subprocess.SubprocessError):
            return False
    return done.returncode == 0


def _zygote_works() -> bool:
    if not zygote_possible():
        return False
    from .runner import run_python  # runner imports this module

    try:
        result = run_python("import sympy\nprint(1)", timeout_s=60, isolation="zygote")
    except (OSError, RuntimeError):
        return False
    return result.stdout == "1\n" and result.ok


def _netns_works() -> bool:
    if os.geteuid() != 0:
        return False
    probe = "import ctypes, sys; sys.exit(ctypes.CDLL(None, use_errno=True).unshare(0x40000000) != 0)"
    try:
        done = subprocess.run([sys.executable, *PYTHON_FLAGS, "-c", probe], capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


@functools.cache
def available_isolations() -> tuple[str, ...]:
    """The modes that work on this machine, strongest first (probed once per process)."""
    modes = []
    bwrap = _bwrap_works()
    if bwrap and _zygote_works():
        modes.append("zygote")
    if bwrap:
        modes.append("bwrap")
    if _netns_works():
        modes.append("netns")
    modes.append("none")
    return tuple(modes)


@functools.cache
def default_isolation() -> str:
    """The strongest working mode; warns once when that is not bubblewrap."""
    mode = available_isolations()[0]
    if mode not in ("zygote", "bwrap"):
        warnings.warn(
            f"bubblewrap is not usable here; sandbox falls back to isolation={mode!r} "
            "(weaker: see slm_math/sandbox/isolation.py). Install the `bubblewrap` package.",
            RuntimeWarning,
            stacklevel=3,
        )
    return mode
