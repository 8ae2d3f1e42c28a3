"""The cotgen cascade: each problem goes to the teachers in order until one is verified.

For every problem, teacher by teacher: ask its attempts (one by one, stopping at the first
verified answer, or all of them), grade each with `slm_math.grading.grade` under the
problem's rule, and go on to the next teacher only when every attempt failed. Each answer
is stored in the content-addressed cache, then appended to the trace log; a slot that
either already holds is never asked again, so a killed run resumes where it stopped.

Teachers of each trace format (`format`: standard, tool) form a cascade of their own, so a
problem gets a verified trace of every format. A tool-integrated answer is finished before
it is logged (its code run in the sandbox, the real output put in: `trace_formats.tool`)
and verified only when that code ran, its output supports the boxed answer and the answer
is right (`check_tool_trace`); the cache keeps the teacher's own text.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

from slm_math.config.params import TeacherParams
from slm_math.grading import extract_answer, grade
from slm_math.teacher.cache import ResponseCache, request_key
from slm_math.teacher.client import ChatClient, ChatResult, RetriesExhausted
from slm_math.teacher.progress import CascadeProgress
from slm_math.prompts import user_turn
from slm_math.sandbox import SandboxResult
from slm_math.teacher.prompts import chat_messages, stable_hash
from slm_math.teacher.reference import reference_tool_trace, reference_trace
from slm_math.teacher.traces import Slot, TraceLog
from slm_math.trace_formats.tool import check_tool_trace, finish


@dataclass
class Teacher:
    """A teacher ready to ask: its params, the model identity in cache keys, its client."""

    params: TeacherParams
    model_id: str
    client: ChatClient | None = None  # None for the reference teacher

    @property
    def name(self) -> str:
        return self.params.name

    def admits(self, index: int) -> bool:
        """Whether the problem at `index` (run order) goes to this teacher at all."""
        limit = self.params.max_problems
        return limit is None or index < limit

    @property
    def format(self) -> str:
        return self.params.format

    def request(self, problem: dict, attempt: int, *, prompt: str, seed: int) -> tuple[list[dict], dict]:
        """The chat messages and sampling params of one attempt."""
        p = self.params
        if p.kind == "reference":  # the key follows the trace text (solution, template)
            trace = self._reference(problem)
            return [{"role": "reference", "content": trace.text or trace.error}], {}
        if p.format == "tool":  # the prompt the tool agents send
            messages = [{"role": "user", "content": user_turn("tool", problem["problem"])}]
        else:
            messages = chat_messages(prompt, problem, thinking_budget=p.thinking_budget)
        sampling = {"max_tokens": p.max_tokens, "temperature": p.temperature, "top_p": p.top_p,
                    "seed": seed + attempt - 1, "extra_body": p.extra_body or None}
        return messages, sampling

    async def ask(self, problem: dict, messages: list[dict], sampling: dict) -> ChatResult:
        """One attempt's response (the reference teacher answers without a request)."""
        if self.client is None:
            return self._reference(problem)
        return await self.client.complete(messages, sampling)

    def _reference(self, problem: dict) -> ChatResult:
        return reference_tool_trace(problem) if self.format == "tool" else reference_trace(problem)

    def grade(self, problem: dict, text: str, run: SandboxResult | None = None) -> tuple[bool, str | None]:
        """(verified, the tool check's reason) of a finished answer; `run`: its code's run
        when it was just made, else it is run again (blocking: call it in a thread)."""
        rule = problem.get("rule", "auto")
        if self.format != "tool":
            return grade(text, problem["answer"], rule=rule), None
        if run is None:
            run = finish(text)[1]
        check = check_tool_trace(text, run, problem["answer"], rule)
        return check.ok, check.reason

    def cost(self, result: ChatResult | dict) -> float:
        """USD for a response's tokens at this teacher's prices."""
        get = result.get if isinstance(result, dict) else lambda k: getattr(result, k)
        return (get("tokens_in") * self.params.price_in + get("tokens_out") * self.params.price_out) / 1e6


@dataclass
class CascadeReport:
    """What a cotgen run did: problems solved by each teacher, requests, tokens, spend."""

    problems: int = 0
    solved_by: Counter = field(default_factory=Counter)
    unsolved: int = 0  # (problem, format) pairs no teacher of that format solved
    unsolved_by_format: Counter = field(default_factory=Counter)
    incomplete: int = 0  # a request kept failing: the problem waits for the next run
    requests: int = 0  # asked this run
    cache_hits: int = 0  # answered from the response cache, appended again
    reused: int = 0  # already in the trace log
    tokens_in: int = 0  # asked this run
    tokens_out: int = 0
    cost_usd: float = 0.0  # spent this run
    dropped_stale: int = 0
    wall_s: float = 0.0
    client_stats: dict = field(default_factory=dict)
    first_incomplete_error: str | None = None

    def to_dict(self) -> dict:
        """As metrics JSON."""
        return {"problems": self.problems, "solved_by": dict(self.solved_by),
                "unsolved": self.unsolved, "unsolved_by_format": dict(self.unsolved_by_format),
                "incomplete": self.incomplete,
                "requests": self.requests, "cache_hits": self.cache_hits, "reused": self.reused,
                "tokens_in": self.tokens_in, "tokens_out": self.tokens_out,
                "cost_usd": round(self.cost_usd, 6), "dropped_stale": self.dropped_stale,
                "wall_s": round(self.wall_s, 2), "client": self.client_stats}


class Cascade:
    """One run of the cascade over `problems` (in run order) with `teachers` (in order)."""

    def __init__(self, teachers: list[Teacher], *, prompt: str, seed: int, cache: ResponseCache,
                 log: TraceLog, stop_at_first_correct: bool = True, progress: bool = True):
        self.teachers, self.prompt, self.seed = teachers, prompt, seed
        self.cache, self.log = cache, log
        self.stop_at_first_correct = stop_at_first_correct
        self.show_progress = progress
        self.report = CascadeReport()

    def key(self, problem: dict, teacher: Teacher, attempt: int) -> tuple[str, str, list, dict]:
        """(cache key, prompt hash, messages, sampling) of one slot."""
        messages, sampling = teacher.request(problem, attempt, prompt=self.prompt, seed=self.seed)
        key = request_key(model=teacher.model_id, messages=messages, sampling=sampling,
                          attempt=attempt)
        return key, stable_hash(messages), messages, sampling

    def key_for(self, problems: list[dict]):
        """slot -> its cache key under the current params (None: not in this cascade)."""
        index = {p["id"]: (i, p) for i, p in enumerate(problems)}
        teachers = {t.name: t for t in self.teachers}

        def key_for(slot: Slot) -> str | None:
            problem_id, name, attempt = slot
            if problem_id not in index or name not in teachers:
                return None
            i, problem = index[problem_id]
            teacher = teachers[name]
            if not (teacher.admits(i) and 1 <= attempt <= teacher.params.attempts):
                return None
            return self.key(problem, teacher, attempt)[0]
        return key_for

    def run(self, problems: list[dict]) -> CascadeReport:
        """Run to the end (or to a stop: auth or config error, propagated); report."""
        start = time.perf_counter()
        self.report.problems = len(problems)
        self.log.open(self.key_for(problems))
        self.report.dropped_stale = self.log.dropped
        complete = False
        try:
            asyncio.run(self._run_all(problems))
            complete = self.report.incomplete == 0
        finally:
            self.report.dropped_stale += self.log.close(complete=complete)
            self.report.wall_s = time.perf_counter() - start
            self.report.client_stats = {t.name: dict(t.client.stats) for t in self.teachers
                                        if t.client is not None}
        return self.report

    async def _run_all(self, problems: list[dict]) -> None:
        with CascadeProgress(len(problems), enabled=self.show_progress) as progress:
            self.progress = progress
            try:
                async with asyncio.TaskGroup() as group:
                    for i, problem in enumerate(problems):
                        group.create_task(self._solve(i, problem))
            except* Exception as errors:
                raise errors.exceptions[0] from None
            finally:
                for teacher in self.teachers:
                    if teacher.client is not None:
                        await teacher.client.close()

    async def _solve(self, index: int, problem: dict) -> None:
        formats = dict.fromkeys(t.format for t in self.teachers)
        try:
            solved_all = True
            for fmt in formats:
                for teacher in (t for t in self.teachers if t.format == fmt):
                    if teacher.admits(index) and await self._ask_teacher(teacher, problem):
                        self.report.solved_by[teacher.name] += 1
                        break
                else:
                    solved_all = False
                    self.report.unsolved += 1
                    self.report.unsolved_by_format[fmt] += 1
            self.progress.problem_done(solved=solved_all)
        except RetriesExhausted as err:
            self.report.incomplete += 1
            self.report.first_incomplete_error = self.report.first_incomplete_error or str(err)
            self.progress.problem_done(solved=False)

    async def _ask_teacher(self, teacher: Teacher, problem: dict) -> bool:
        attempts = range(1, teacher.params.attempts + 1)
        if self.stop_at_first_correct:
            for attempt in attempts:
                if (await self._attempt(teacher, problem, attempt))["correct"]:
                    return True
            return False
        records = await asyncio.gather(*(self._attempt(teacher, problem, a) for a in attempts))
        return any(r["correct"] for r in records)

    async def _attempt(self, teacher: Teacher, problem: dict, attempt: int) -> dict:
        """The trace of one slot: from the log, else the cache, else a request."""
        slot = (problem["id"], teacher.name, attempt)
        record = self.log.reuse(slot)
        if record is not None:  # graded again: the gold or the grader may have changed
            self.report.reused += 1
            correct, reason = (False, None) if record.get("error") is not None else \
                await asyncio.to_thread(teacher.grade, problem, record["text"])
            return {**record, "correct": bool(correct), "tool_check": reason}
        key, prompt_hash, messages, sampling = self.key(problem, teacher, attempt)
        cached = self.cache.get(key) if teacher.client is not None else None
        if cached is not None:
            self.report.cache_hits += 1
            result = ChatResult(**cached)
        else:
            result = await teacher.ask(problem, messages, sampling)
            if teacher.client is not None:
                self.cache.put(key, result.to_dict())  # before the log: see cache.py
                self.report.requests += 1
                self.report.tokens_in += result.tokens_in
                self.report.tokens_out += result.tokens_out
                self.report.cost_usd += teacher.cost(result)
                self.progress.spent(teacher.cost(result), result.tokens_out)
        text, correct, reason, run = result.text, False, None, None
        if result.error is None:
            if teacher.format == "tool":  # the sandbox's output in place of any guess
                text, run = await asyncio.to_thread(finish, text)
            correct, reason = await asyncio.to_thread(teacher.grade, problem, text, run)
        record = {
            "problem_id": problem["id"], "source": problem.get("source"),
            "rule": problem.get("rule", "auto"), "teacher": teacher.name,
            "model": teacher.params.model or teacher.params.serve or teacher.params.kind,
            "format": teacher.format, "attempt": attempt, "prompt_hash": prompt_hash,
            "cache_key": key, "text": text, "answer": extract_answer(text) if text else None,
            "correct": bool(correct), "tool_check": reason, "tokens_in": result.tokens_in,
            "tokens_out": result.tokens_out, "cost_usd": round(teacher.cost(result), 8),
            "latency_s": result.latency_s, "finish_reason": result.finish_reason,
            "error": result.error,
        }
        self.log.append(record)
        return record
