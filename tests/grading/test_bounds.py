"""Bounds: grade never raises and returns in time, from the main thread, threads and processes."""

import concurrent.futures
import multiprocessing
import os
import signal
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slm_math.grading import grade, judge, warm_up
from slm_math.grading.timeout import pool

LIMIT_S = 2.0  # the promise: no single grade over 2 s, whatever the input
B = "\\boxed"

ADVERSARIAL = {
    "100k chars": "7" * 50_000 + " " + "x" * 50_000,
    "100k boxed": B + "{" + "1+" * 50_000 + "1}",
    "1000-deep braces": B + "{" + "{" * 1000 + "1" + "}" * 1000 + "}",
    "1000-deep parens": B + "{" + "(" * 1000 + "1" + ")" * 1000 + "}",
    "power tower": B + "{9^{9^{9^{9}}}}",
    "frac chain": B + "{" + "\\frac{1}{" * 300 + "2" + "}" * 300 + "}",
    "huge factorial": B + "{(10^{9999999})!}",
    "many boxes": (B + "{") * 20_000,
    "huge exponent number": B + "{1e999999999}",
    "100k separated digits": "1," + "000," * 25_000 + "000x",
    "90k-char answer sentence": "Final Answer: " + "The big one is " * 6_000 + "7",
    "200-step assignment chain": B + "{" + "x = " * 200 + "7}",
}
LATEX_ALPHABET = st.sampled_from(
    ["\\boxed{", "}", "{", "\\frac", "\\sqrt", "^", "_", "\\pi", "(", ")", "[", "]", ",", "x", "=", "+", "-", "*",
     "/", "9", "0", "1.5", "\\infty", "\\{", "\\}", "\\text{", " ", "\\left(", "\\right)", "$", "#### ", "%", "\\\\"]
)


@pytest.fixture(scope="module", autouse=True)
def _warm():
    assert warm_up(1)


def _timed(fn, *args, **kwargs):
    start = time.monotonic()
    result = fn(*args, **kwargs)
    return result, time.monotonic() - start


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
@pytest.mark.parametrize("rule", ["numeric", "latex"])
def test_adversarial_inputs_are_bounded(name, rule):
    verdict, elapsed = _timed(judge, ADVERSARIAL[name], "5", rule=rule)
    assert verdict.correct is False
    assert elapsed < LIMIT_S, (name, rule, elapsed, verdict)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(response=st.text(max_size=300), gold=st.text(max_size=30), rule=st.sampled_from(["auto", "numeric", "latex", "fraction_lowest_terms", "factor_list"]))
def test_arbitrary_text_never_raises_and_is_bounded(response, gold, rule):
    result, elapsed = _timed(grade, response, gold, rule=rule)
    assert isinstance(result, bool)
    assert elapsed < LIMIT_S


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(LATEX_ALPHABET, max_size=40), gold=st.sampled_from(["5", "\\frac{\\pi}{2}", "(1,2]", "x+1"]))
def test_latex_like_text_never_raises_and_is_bounded(parts, gold):
    result, elapsed = _timed(grade, "".join(parts), gold, rule="latex")
    assert isinstance(result, bool)
    assert elapsed < LIMIT_S


@settings(max_examples=100, deadline=None)
@given(value=st.integers(min_value=-10**12, max_value=10**12))
def test_numeric_integers_round_trip(value):
    assert grade(f"#### {value:,}", str(value), rule="numeric") is True
    assert grade(f"#### {value + 1}", str(value), rule="numeric") is False


def test_math_verify_signal_timeout_refuses_threads():
    """The claim behind timeout.py: math-verify's own timeout does not work off the main thread."""
    from math_verify import parse

    errors = []

    def target():
        try:
            parse("$\\frac{1}{2}$")
        except ValueError as error:
            errors.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    assert errors and "thread" in str(errors[0])


def test_grade_works_and_is_bounded_in_threads():
    inputs = [(B + "{(1, 2]}", "(1,2]", True), (ADVERSARIAL["power tower"], "5", False),
              (B + "{\\frac{\\pi}{2}}", "\\pi/2", True), (ADVERSARIAL["frac chain"], "5", False)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as executor:
        futures = [executor.submit(_timed, grade, r, g, rule="latex") for r, g, _ in inputs]
        results = [f.result() for f in futures]
    for (verdict, elapsed), (_, _, expected) in zip(results, inputs):
        assert verdict is expected
        assert elapsed < LIMIT_S


def _grade_in_child(args):
    response, gold = args
    warm_up(1)
    start = time.monotonic()
    verdict = grade(response, gold, rule="latex")
    return verdict, time.monotonic() - start, os.getpid()


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_grade_works_and_is_bounded_in_process_pool_workers(method):
    context = multiprocessing.get_context(method)
    jobs = [(B + "{3\\sqrt{2}}", "\\sqrt{18}"), (ADVERSARIAL["power tower"], "5")]
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as executor:
        results = list(executor.map(_grade_in_child, jobs))
    assert [r[0] for r in results] == [True, False]
    assert all(r[1] < LIMIT_S for r in results)
    assert results[0][2] != os.getpid()


def test_hung_worker_is_killed_at_the_time_limit_and_replaced():
    """A worker that never answers (stopped) is killed at time_limit_s; the next grade still works."""
    stats_before = pool().stats["killed"]
    worker = pool()._take()
    assert worker.wait_ready(time.monotonic() + 10)
    os.kill(worker.proc.pid, signal.SIGSTOP)
    pool()._give_back(worker)
    with pool()._lock:  # make the stopped worker the one the next grade picks
        pool()._idle.remove(worker)
        pool()._idle.append(worker)
    verdict, elapsed = _timed(judge, B + "{(1, 2]}", "(1,2]", rule="latex", time_limit_s=0.5)
    assert verdict.correct is False and verdict.reason == "no_verdict_in_time"
    assert 0.45 < elapsed < 1.0
    assert pool().stats["killed"] == stats_before + 1
    assert worker.proc.poll() is not None  # really dead
    assert grade(B + "{(1, 2]}", "(1,2]", rule="latex") is True


def test_numeric_path_never_starts_the_latex_parser():
    """GSM8K-style grading runs in a fresh interpreter without importing sympy or math-verify."""
    import subprocess
    import sys

    code = (
        "import sys; from slm_math.grading import grade_many\n"
        "r = grade_many(['#### 18', '\\\\boxed{2602 - -(9777 * -3677)}', 'x 1,234 apples'], ['18', '5', '1234'])\n"
        "print(r, 'sympy' in sys.modules, 'math_verify' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert out.stdout.strip() == "[True, False, True] False False", out.stderr
