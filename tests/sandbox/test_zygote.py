"""isolation="zygote": runs forked from one pre-started interpreter share nothing, hold no privilege,
cannot see each other, and the pool survives its own death and the runner's forks.

The containment tests (test_containment.py) run under "zygote" too, like every other mode.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

import pytest

from slm_math.sandbox import pool, run_many, run_python
from slm_math.sandbox.isolation import UID_RANGE

from .conftest import MODES, processes_with_arg

pytestmark = pytest.mark.skipif(
    "zygote" not in MODES,
    reason=("isolation 'zygote' needs root, bubblewrap, a uid per run and the interpreter "
            "outside /tmp (isolation.zygote_possible)"))


def test_a_run_leaves_nothing_for_the_next():
    dirty = ("import math, os, random, sympy, wave\nmath.pi = 3\nsympy.pi = 3\n"
             "open('/tmp/leak', 'w').write('x')\nopen('/var/tmp/leak', 'w').write('x')\n"
             "open('/dev/shm/leak', 'w').write('x')\nopen('mine', 'w').write('x')\n"
             "os.environ['LEAK'] = '1'\nprint(random.random(), os.getcwd())")
    probe = ("import math, os, random, sys, sympy\n"
             "print(math.pi, sympy.pi, 'wave' in sys.modules, 'LEAK' in os.environ)\n"
             "print([p for p in ('/tmp/leak', '/var/tmp/leak', '/dev/shm/leak') if os.path.exists(p)])\n"
             "print(os.listdir('.'), os.listdir('/tmp'))\nprint(random.random(), os.getcwd())")
    first = run_python(dirty, isolation="zygote")
    second = run_python(probe, isolation="zygote")
    assert first.ok and second.ok, first.stderr + second.stderr
    lines = second.stdout.splitlines()
    assert lines[0] == "3.141592653589793 pi False False"
    assert lines[1] == "[]"
    workdir = os.path.basename(lines[3].split()[1])
    assert lines[2] == f"['main.py'] ['{workdir}']"
    first_random, first_dir = first.stdout.split()
    second_random, second_dir = lines[3].split()
    assert first_random != second_random  # reseeded after the fork, not the zygote's sequence
    assert first_dir != second_dir


def test_runs_hold_no_privilege_and_distinct_uids():
    code = ("import os\nstatus = dict(l.split(':', 1) for l in open('/proc/self/status'))\n"
            "print(*(status[k].strip() for k in ('CapEff', 'CapPrm', 'CapAmb', 'NoNewPrivs')), os.getuid(), os.getgid())")
    results = [run_python(code, isolation="zygote") for _ in range(2)]
    uids = set()
    for result in results:
        cap_eff, cap_prm, cap_amb, no_new_privs, uid, gid = result.stdout.split()
        assert (cap_eff, cap_prm, cap_amb, no_new_privs) == ("0" * 16, "0" * 16, "0" * 16, "1")
        assert UID_RANGE[0] <= int(uid) < UID_RANGE[1] and gid == uid
        uids.add(uid)
    assert len(uids) == 2


def test_concurrent_runs_cannot_see_or_reach_each_other():
    """A listens on its loopback and leaves a file and a process; B, running meanwhile, finds none."""
    token = f"{uuid.uuid4().int % 10**6}.{uuid.uuid4().int % 10**6}"
    port = 20000 + uuid.uuid4().int % 20000
    sockaddr = ("import ctypes, socket, struct\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                "fd = libc.socket(socket.AF_INET, socket.SOCK_STREAM, 0)\n"
                f"addr = struct.pack('=H', socket.AF_INET) + struct.pack('!H', {port}) + socket.inet_aton('127.0.0.1') + bytes(8)\n")
    holder = (sockaddr + "assert libc.bind(fd, addr, len(addr)) == 0 and libc.listen(fd, 8) == 0\n"
              "open('/tmp/marker', 'w').write('x')\nimport subprocess, time\n"
              f"subprocess.Popen(['sleep', '{token}'])\ntime.sleep(30)")
    results = {}
    thread = threading.Thread(target=lambda: results.update(a=run_python(holder, timeout_s=6, isolation="zygote")))
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not processes_with_arg(token, settle_s=0) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert processes_with_arg(token, settle_s=0), "the holder run never started its process"
        seeker = (sockaddr + "print(libc.connect(fd, addr, len(addr)))\nimport os\n"
                  "cmdlines = [open(f'/proc/{p}/cmdline', 'rb').read() for p in os.listdir('/proc') if p.isdigit()]\n"
                  f"print(any(b'{token}' in c for c in cmdlines), len(cmdlines), os.path.exists('/tmp/marker'))")
        seen = run_python(seeker, isolation="zygote")
    finally:
        thread.join()
    assert seen.stdout.splitlines() == ["-1", "False 1 False"], seen.stdout + seen.stderr
    assert results["a"].limit == "time"


def test_pool_restarts_after_the_zygote_died():
    assert run_python("print(1)", isolation="zygote").stdout == "1\n"
    old = pool._pool
    old._proc.kill()
    old._proc.wait()
    result = run_python("print(2)", isolation="zygote")
    assert result.stdout == "2\n" and pool._pool is not old


def test_a_forked_runner_gets_its_own_pool():
    assert run_python("print(1)", isolation="zygote").ok
    parent_pool = pool._pool
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child may not use, nor close, the parent's zygote
        try:
            result = run_python("print(3)", isolation="zygote")
            os.write(write, f"{result.stdout.strip()} {pool._pool is not parent_pool}".encode())
            pool.close_pool()
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 100) == b"3 True"
    os.close(read)
    assert pool._pool is parent_pool and parent_pool.alive
    assert run_python("print(4)", isolation="zygote").stdout == "4\n"


def test_run_many_spreads_over_the_pool():
    results = run_many([f"print({i} * {i})" for i in range(20)], workers=2, isolation="zygote")
    assert [r.stdout for r in results] == [f"{i * i}\n" for i in range(20)]
    assert {r.isolation for r in results} == {"zygote"}
