"""run_python on ordinary code: output, exit codes, errors, the interpreter and environment it gets."""

from __future__ import annotations

import os
import sys

import pytest

from slm_math.sandbox import SandboxResult, run_many, run_python


def test_stdout_and_clean_exit():
    result = run_python("print('hello', 6 * 7)")
    assert isinstance(result, SandboxResult)
    assert (result.stdout, result.stderr, result.exit_code, result.limit) == ("hello 42\n", "", 0, None)
    assert result.ok and result.wall_s > 0 and result.isolation


def test_stderr_and_exit_code():
    result = run_python("import sys\nprint('out')\nprint('err', file=sys.stderr)\nsys.exit(3)")
    assert (result.stdout, result.stderr, result.exit_code, result.limit) == ("out\n", "err\n", 3, None)
    assert not result.ok


def test_uncaught_exception_reads_like_plain_python():
    result = run_python("def f(x):\n    return 1 / x\nprint('before')\nf(0)\n")
    assert result.exit_code == 1 and result.limit is None
    assert result.stdout == "before\n"
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert 'File "main.py", line 4, in <module>' in result.stderr
    assert "    return 1 / x\n" in result.stderr  # source lines are shown
    assert result.stderr.rstrip().endswith("ZeroDivisionError: division by zero")
    assert "<string>" not in result.stderr  # the bootstrap's own frame is hidden


def test_exit_and_quit_builtins_work():
    """The interpreter starts without site (-S); the builtins site would add are still there."""
    assert run_python("print(1)\nexit(3)").exit_code == 3
    assert run_python("quit()").exit_code == 0
    assert run_python("print(callable(help), 'Python' in str(copyright))").stdout == "True True\n"


def test_syntax_error():
    result = run_python("x = (1,\n")
    assert result.exit_code == 1 and result.limit is None
    assert "SyntaxError" in result.stderr and 'File "main.py"' in result.stderr


def test_unicode_round_trip():
    text = "π ≈ 3.14159, ∑ 1/n², naïve 🙂 日本語"
    result = run_python(f"s = {text!r}\nprint(s)\nimport sys\nprint(s, file=sys.stderr)")
    assert result.stdout == text + "\n" and result.stderr == text + "\n"


def test_invalid_utf8_output_is_replaced_not_raised():
    result = run_python("import sys\nsys.stdout.buffer.write(b'ok \\xff\\xfe end\\n')")
    assert result.exit_code == 0 and result.stdout == "ok \ufffd\ufffd end\n"


def test_large_output_below_cap_is_complete():
    result = run_python("import sys\nsys.stdout.write('ab' * 30000)", max_output_bytes=65536)
    assert result.limit is None and result.exit_code == 0
    assert result.stdout == "ab" * 30000


def test_output_exactly_at_cap_is_not_a_limit():
    result = run_python("import sys\nsys.stdout.write('x' * 1000)", max_output_bytes=1000)
    assert result.limit is None and len(result.stdout) == 1000


def test_sympy_works_inside():
    result = run_python("import sympy as sp\nx = sp.symbols('x')\nprint(sp.solve(x**2 - 2, x))\n"
                        "print(sp.integrate(sp.sin(x)**2, (x, 0, sp.pi)))")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "[-sqrt(2), sqrt(2)]\npi/2\n"


def test_same_interpreter_isolated_mode_and_utf8():
    result = run_python("import sys\nprint(sys.executable)\nprint(sys.flags.isolated, sys.flags.utf8_mode)\n"
                        "print(sys.argv, __name__)")
    assert result.stdout.splitlines() == [sys.executable, "1 1", "['main.py'] __main__"]


def test_environment_is_clean_and_home_is_the_workdir(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-never-leak")
    monkeypatch.setenv("PYTHONPATH", "/should/not/apply")
    result = run_python("import os, sys\nprint(sorted(os.environ))\nprint(os.environ['HOME'] == os.getcwd())\n"
                        "print('sk-should' in repr(dict(os.environ)), '/should/not/apply' in sys.path)")
    lines = result.stdout.splitlines()
    assert "OPENAI_API_KEY" not in lines[0] and "PYTHONPATH" not in lines[0]
    assert lines[1:] == ["True", "False False"]


def test_fresh_workdir_is_writable_and_removed_afterwards():
    code = ("import os\nopen('data.txt', 'w').write('12')\nos.mkdir('sub')\n"
            "print(os.getcwd())\nprint(sorted(os.listdir('.')))\nprint(open('data.txt').read())")
    first = run_python(code)
    second = run_python(code)
    assert first.exit_code == 0, first.stderr
    workdir, listing, content = first.stdout.splitlines()
    assert listing == "['data.txt', 'main.py', 'sub']" and content == "12"
    assert second.stdout.splitlines()[0] != workdir
    assert not os.path.exists(workdir)


def test_closing_stdout_and_stderr_does_not_end_the_run(isolation):
    code = "import os, sys, time\nos.close(1)\nos.close(2)\ntime.sleep(0.3)\nsys.exit(4)"
    result = run_python(code, isolation=isolation)
    assert (result.exit_code, result.limit) == (4, None)
    assert result.wall_s >= 0.3


def test_stdin_is_empty():
    result = run_python("import sys\nprint(repr(sys.stdin.read()))")
    assert result.stdout == "''\n"


def test_multiprocessing_and_threads_within_limits_work():
    code = ("import threading, subprocess, sys\nout = []\n"
            "t = threading.Thread(target=lambda: out.append(sum(range(10))))\nt.start(); t.join()\n"
            "print(out[0])\n")
    result = run_python(code)
    assert result.stdout == "45\n" and result.ok


def test_bad_limits_are_rejected():
    with pytest.raises(ValueError):
        run_python("pass", timeout_s=0)
    with pytest.raises(ValueError):
        run_python("pass", memory_mb=1)
    with pytest.raises(ValueError):
        run_python("pass", isolation="docker")


def test_run_many_keeps_order_and_isolates_runs():
    codes = [f"print({i} ** 2)" for i in range(8)] + ["raise SystemExit(5)", "while True: pass"]
    results = run_many(codes, workers=2, timeout_s=1)
    assert [r.stdout for r in results[:8]] == [f"{i ** 2}\n" for i in range(8)]
    assert results[8].exit_code == 5 and results[8].limit is None
    assert results[9].limit == "time"
    assert run_many([]) == []
