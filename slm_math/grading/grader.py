"""`grade`, `judge` and `grade_many`: extraction plus equivalence under an answer rule, bounded.

A grade runs in two steps. The fast step (this process, pure Python, bounded input) extracts the
answer and settles every rule but `latex`, and `latex` too when both sides are plain numbers or
the same string. Only what is left goes to math-verify, in a worker process under a hard time
limit (`timeout.py`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction

from slm_math.grading import rules as R
from slm_math.grading.extract import extract_answer
from slm_math.grading.normalize import clean_latex
from slm_math.grading.timeout import pool

logger = logging.getLogger(__name__)

DEFAULT_REL_TOL = 1e-6
DEFAULT_MAX_CHARS = 20_000
DEFAULT_MAX_ANSWER_CHARS = 1_000
DEFAULT_TIME_LIMIT_S = 1.0
DEFAULT_STARTUP_TIMEOUT_S = 0.9

_warned: set[str] = set()


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The outcome of one grade: `correct`, the rule applied, the extracted answer and why."""

    correct: bool
    rule: str
    answer: str | None
    reason: str


@dataclasses.dataclass(frozen=True)
class _LatexJob:
    prediction: str
    gold: str
    answer: str


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        logger.warning(message)


def _as_text(value) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, Fraction)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return None


def _prepare(response, gold, rule: str, rel_tol: float, max_chars: int, max_answer_chars: int, fallback):
    """Everything but math-verify: a final Verdict, or a _LatexJob still to run."""
    response, gold = _as_text(response), _as_text(gold)
    if response is None or gold is None:
        return Verdict(False, rule, None, "not_text")
    gold = R.clean_gold(gold[-max_chars:])  # a boxed gold is graded as its box's content
    if rule not in R.RULES:
        _warn_once(f"unknown answer rule {rule!r} (known: {', '.join(R.RULES)}): graded as wrong")
        return Verdict(False, rule, None, "unknown_rule")
    if rule == R.AUTO:
        rule = R.infer_rule(gold)
    use_fallback = R.FALLBACK_BY_RULE[rule] if fallback is None else bool(fallback)
    answer = extract_answer(response, fallback=use_fallback, max_chars=max_chars)
    if answer is None:
        return Verdict(False, rule, None, "no_answer")
    if len(answer) > max_answer_chars:
        return Verdict(False, rule, answer[:max_answer_chars], "answer_too_long")
    checks = {
        R.NUMERIC: lambda: R.check_numeric(answer, gold, rel_tol),
        R.FRACTION_LOWEST_TERMS: lambda: R.check_fraction_lowest_terms(answer, gold),
        R.FACTOR_LIST: lambda: R.check_factor_list(answer, gold),
    }
    if rule in checks:
        correct, reason = checks[rule]()
        if correct is not None:
            return Verdict(correct, rule, answer, reason)
        _warn_once(f"gold {gold[:80]!r} does not fit rule {rule!r} ({reason}): graded with 'latex'")
        rule = R.LATEX
    gold_bare = clean_latex(gold)
    pred_bare = clean_latex(answer)
    if " ".join(pred_bare.split()) == " ".join(gold_bare.split()) and gold_bare:
        return Verdict(True, rule, answer, "same_string")
    gold_values = R.number_readings(gold)
    pred_values = R.number_readings(answer)
    if gold_values is not None and pred_values is not None:
        ok = R.readings_match(pred_values, gold_values, rel_tol)
        return Verdict(ok, rule, answer, "match" if ok else "mismatch")
    if not pred_bare or not gold_bare:
        return Verdict(False, rule, answer, "empty")
    return _LatexJob(pred_bare, gold_bare, answer)


def _finish(job: _LatexJob, time_limit_s: float, startup_timeout_s: float) -> Verdict:
    verdict = pool().run(job.prediction, job.gold, time_limit_s=time_limit_s, startup_timeout_s=startup_timeout_s)
    if verdict is None:
        return Verdict(False, R.LATEX, job.answer, "no_verdict_in_time")
    return Verdict(verdict, R.LATEX, job.answer, "math_verify")


def _finish_safely(job: _LatexJob, time_limit_s: float, startup_timeout_s: float) -> Verdict:
    try:
        return _finish(job, time_limit_s, startup_timeout_s)
    except Exception:
        logger.exception("grading failed; graded as wrong")
        return Verdict(False, R.LATEX, job.answer, "grader_error")


def judge(
    response: str,
    gold: str,
    *,
    rule: str = "auto",
    rel_tol: float = DEFAULT_REL_TOL,
    max_chars: int = DEFAULT_MAX_CHARS,
    max_answer_chars: int = DEFAULT_MAX_ANSWER_CHARS,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S,
    fallback: bool | None = None,
) -> Verdict:
    """Like `grade`, with the details: the rule applied, the extracted answer and the reason."""
    try:
        prepared = _prepare(response, gold, rule, rel_tol, max_chars, max_answer_chars, fallback)
        if isinstance(prepared, Verdict):
            return prepared
        return _finish_safely(prepared, time_limit_s, startup_timeout_s)
    except Exception:  # the grader's promise: never raise, a failure is a wrong answer
        logger.exception("grading failed; graded as wrong")
        return Verdict(False, rule, None, "grader_error")


def grade(response: str, gold: str, *, rule: str = "auto", **options) -> bool:
    """Whether `response`'s final answer is correct for `gold` under answer `rule`.

    Rules: `numeric`, `fraction_lowest_terms`, `factor_list`, `latex`, `auto` (inferred from the
    gold). Options (defaults in this module; the config piece passes params.yaml values):
    `rel_tol` (1e-6), `max_chars` (20,000: the response's tail kept), `max_answer_chars` (1,000),
    `time_limit_s` (1.0: hard limit on math-verify), `startup_timeout_s` (0.9: wait for a worker
    process), `fallback` (None: per rule). Never raises; returns within
    `startup_timeout_s + time_limit_s` plus milliseconds, from any thread or process (the first
    LaTeX grade of a process may also wait for its first worker to start: see `timeout.py`).
    """
    return judge(response, gold, rule=rule, **options).correct


def warm_up(workers: int = 1, timeout_s: float = 30.0) -> bool:
    """Start `workers` LaTeX worker processes now and wait until ready (True if they all are)."""
    return pool().warm_up(workers, timeout_s)


def judge_many(
    responses: Sequence[str],
    golds: Sequence[str],
    *,
    rule: str | Sequence[str] = "auto",
    workers: int | None = None,
    **options,
) -> list[Verdict]:
    """`judge` over a batch: the fast step here, the LaTeX rest on `workers` worker processes."""
    if len(responses) != len(golds):
        raise ValueError(f"{len(responses)} responses but {len(golds)} golds")
    rules = [rule] * len(responses) if isinstance(rule, str) else list(rule)
    if len(rules) != len(responses):
        raise ValueError(f"{len(responses)} responses but {len(rules)} rules")
    time_limit_s = options.pop("time_limit_s", DEFAULT_TIME_LIMIT_S)
    startup_timeout_s = options.pop("startup_timeout_s", DEFAULT_STARTUP_TIMEOUT_S)
    rel_tol = options.pop("rel_tol", DEFAULT_REL_TOL)
    max_chars = options.pop("max_chars", DEFAULT_MAX_CHARS)
    max_answer_chars = options.pop("max_answer_chars", DEFAULT_MAX_ANSWER_CHARS)
    fallback = options.pop("fallback", None)
    if options:
        raise TypeError(f"unknown grading options: {sorted(options)}")
    results: list[Verdict | _LatexJob] = []
    for response, gold, item_rule in zip(responses, golds, rules):
        try:
            results.append(_prepare(response, gold, item_rule, rel_tol, max_chars, max_answer_chars, fallback))
        except Exception:
            logger.exception("grading failed; graded as wrong")
            results.append(Verdict(False, item_rule, None, "grader_error"))
    jobs = [i for i, item in enumerate(results) if isinstance(item, _LatexJob)]
    if jobs:
        n_workers = max(1, min(workers or min(4, os.cpu_count() or 1), len(jobs)))
        warm_up(n_workers)
        with ThreadPoolExecutor(max_workers=n_workers) as executor:
            done = executor.map(lambda i: _finish_safely(results[i], time_limit_s, startup_timeout_s), jobs)
            for i, verdict in zip(jobs, done):
                results[i] = verdict
    return results


def grade_many(responses: Sequence[str], golds: Sequence[str], *, rule: str | Sequence[str] = "auto",
               workers: int | None = None, **options) -> list[bool]:
    """`grade` over a batch; `rule` is one rule or one per item; LaTeX grades run on `workers`
    worker processes in parallel (default min(4, cpus)). Same options and bounds as `grade`."""
    return [v.correct for v in judge_many(responses, golds, rule=rule, workers=workers, **options)]
