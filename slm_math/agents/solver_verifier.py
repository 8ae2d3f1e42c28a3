"""solver_verifier: a solver attempts, a verifier judges, the solver revises; up to N rounds.

Each iteration, batched over the problems still open (one `generate` call per step):

1. Solve. The solver answers the problem (the `tool` user turn, code_solve.jinja, with
   `tools`, else the `standard` one, solve.jinja). With `tools` the solver stops at
   "```output"; a reply holding ```python blocks has them run in the sandbox, the output
   block appended, and the solver continues that same reply (at most `max_code_rounds` such
   round trips an iteration): the attempt is one tool-integrated solution
   (`trace_formats.tool`), code, output and answer, as the verifier then reads it.
2. Verify (not after the last iteration: its verdict could change nothing). The verifier
   sees the problem and the attempt (the `verdict` user turn, verify.jinja). With
   `open_verdict` (default) its reply is opened with `VERDICT:`, as grpo_verifier trains
   it and best_of_n's scorer reads it (`prompts.open_verdict`), so the verdict is the word
   the reply begins with (`split_opened_verdict`) and any text after it is the feedback;
   else, or when the reply does not begin with one, the last `VERDICT: CORRECT`,
   `VERDICT: INCORRECT` or `VERDICT: UNCLEAR` line of the reply counts (`parse_verdict`,
   case-insensitive). None at all reads as UNCLEAR, and the step says `verdict_parsed:
   false`, counted in the eval metrics' `verdict_parsed_rate`.
3. Stop on CORRECT. A reply with no verdict at all stops the loop too (`on_no_verdict:
   stop`, the default): it carries no judgment to act on, and a small model revising a
   right answer on feedback that says nothing loses more answers than it wins (the CPU
   default's verifier wrote none, and its solver's second attempts turned right answers
   wrong); `on_no_verdict: revise` revises as on UNCLEAR. Otherwise the verifier's
   text (its verdict line removed) is the feedback for the next attempt (`revise.jinja`).

The solver–checker variants are the `memory` option of this one loop:
- `chat`: the solver sees the whole conversation (attempts, code output, feedback), trimmed
  by the context budget (`context.fit_rounds`: oldest whole rounds dropped first).
- `stateless`: the solver sees only the problem, its last attempt and the last feedback.
- `summary`: a summarizer call (the solver model, `summarize.jinja`) condenses each attempt
  and its feedback into short notes; the solver sees the problem and all notes so far.

The answer is the latest attempt's, or, when it has none, the most recent attempt's that
has one. `iteration_responses` holds that response after each iteration, so the
evaluation reports `accuracy_by_iteration`. The verifier may be another checkpoint
(`verifier_model`: a model folder, loaded with the solver's backend); default: the solver.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from slm_math.agents.base import Agent, AgentResult, Usage, completion_step
from slm_math.agents.code import CODE_DEFAULTS, CODE_OPTIONS, run_replies, step_of, tool_sampling
from slm_math.agents.context import ContextOverflow, fit_continuation, fit_rounds
from slm_math.agents.standard import build_messages
from slm_math.agents.python_tools import code_prompt
from slm_math.generation import Generator, Message, backend_of, load_generator
from slm_math.grading import extract_answer
from slm_math.grading.verdict import parse_verdict, split_opened_verdict
from slm_math.prompts import VERDICT_PREFIX, render, user_turn
from slm_math.trace_formats.tool import code_of

MEMORIES = ("chat", "stateless", "summary")
DEFAULTS: dict[str, Any] = {
    "max_iterations": 5, "memory": "chat", "tools": True, "max_code_rounds": 1,
    "verifier_model": None, "verifier_max_new_tokens": None, "max_feedback_chars": 1500,
    "open_verdict": True, "on_no_verdict": "stop",
    **CODE_DEFAULTS,
}
ON_NO_VERDICT = ("stop", "revise")
_VERDICT_LINE = re.compile(r"^.*VERDICT\s*[:：].*$", re.IGNORECASE | re.MULTILINE)


def read_verdict(text: str, opened: bool) -> tuple[str | None, str]:
    """(verdict or None, the text left for feedback) of a verifier reply; `opened`: the reply
    continues a prompt that ends in `VERDICT:`, so a verdict is the word it begins with (the
    rest is feedback); else, or without one there, its last verdict line counts."""
    if opened:
        found, rest = split_opened_verdict(text)
        if found is not None:
            return found, rest
    return parse_verdict(text), text


def feedback_of(text: str, max_chars: int) -> str:
    """The verifier's text without its verdict lines, at most `max_chars` (the end kept)."""
    body = _VERDICT_LINE.sub("", text).strip()
    if not body:
        return "The final answer may be wrong."
    return body if len(body) <= max_chars else "..." + body[-(max_chars - 3):]


@dataclass
class _Problem:
    """The state of one problem in the loop."""

    problem: Mapping[str, Any]
    head: list[Message]
    rounds: list[list[Message]] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    feedback: str | None = None
    usage: Usage = field(default_factory=Usage)
    trace: list[dict[str, Any]] = field(default_factory=list)
    iteration_responses: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    done: bool = False

    def response(self) -> str:
        """The latest attempt with an answer (the latest attempt when none has one)."""
        for text in reversed(self.attempts):
            if extract_answer(text) is not None:
                return text
        return self.attempts[-1] if self.attempts else ""

    def stop(self, reason: str, **detail: Any) -> None:
        self.done = True
        self.trace.append({"role": "stop", "reason": reason, **detail})


class SolverVerifierAgent(Agent):
    """The solver–verifier loop; see the module docstring."""

    name = "solver_verifier"

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.opts = {**DEFAULTS, **self.options}
        if self.opts["memory"] not in MEMORIES:
            raise ValueError(f"agent solver_verifier: memory must be one of {MEMORIES}, "
                             f"got {self.opts['memory']!r}")
        if self.opts["on_no_verdict"] not in ON_NO_VERDICT:
            raise ValueError(f"agent solver_verifier: on_no_verdict must be one of "
                             f"{ON_NO_VERDICT}, got {self.opts['on_no_verdict']!r}")
        if int(self.opts["max_iterations"]) < 1:
            raise ValueError(f"agent solver_verifier: max_iterations must be >= 1, "
                             f"got {self.opts['max_iterations']}")
        self._verifier: Generator | None = None

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        """max_iterations, memory (chat | stateless | summary), tools, max_code_rounds,
        verifier_model, verifier_max_new_tokens, max_feedback_chars, open_verdict,
        on_no_verdict (stop | revise), the sandbox limits."""
        return tuple(DEFAULTS)

    def verifier(self, solver: Generator) -> Generator:
        """The verifier's generator: `verifier_model` loaded once, else the solver's."""
        path = self.opts["verifier_model"]
        if path is None:
            return solver
        if self._verifier is None:
            options = {}
            if backend_of(solver) == "hf":
                options = {"device": str(solver.model.device), "batch_size": solver.batch_size}
            self._verifier = load_generator(backend_of(solver), str(path), **options)
        return self._verifier

    def solve(self, generator: Generator, problems: Sequence[Mapping[str, Any]]) -> list[AgentResult]:
        """Run the loop over all problems at once; see the module docstring."""
        tools = bool(self.opts["tools"])
        states = []
        for p in problems:
            examples = self.fewshot.get(p["source"], ())
            head = code_prompt(p, examples) if tools else build_messages(p, examples)
            states.append(_Problem(p, head, trace=[head[-1] | {"fewshot_turns": len(head) - 1}]))
        max_iterations = int(self.opts["max_iterations"])
        for iteration in range(1, max_iterations + 1):
            active = [s for s in states if not s.done]
            if not active:
                break
            self._attempt(generator, active, iteration)
            for s in active:
                s.iteration_responses.append(s.response())
            still = [s for s in active if not s.done]
            if iteration < max_iterations and still:
                self._verify(generator, still, iteration)
        for s in states:
            if not s.done:
                s.stop("max_iterations")
        return [AgentResult(
            response=s.response(), answer=extract_answer(s.response()), tokens=s.usage.tokens,
            tokens_in=s.usage.tokens_in, latency_s=s.usage.latency_s,
            iterations=len(s.iteration_responses), trace=s.trace,
            finish_reason=s.finish_reason, iteration_responses=list(s.iteration_responses))
            for s in states]

    def _solver_prompt(self, s: _Problem) -> tuple[list[Message], list[list[Message]]]:
        """The head and rounds of the solver's next prompt, by memory mode."""
        if s.feedback is None:
            return s.head, []
        memory = self.opts["memory"]
        if memory == "chat":
            return s.head, s.rounds
        if memory == "stateless":
            extra = render("revise", previous=s.attempts[-1], feedback=s.feedback, notes=None)
        else:
            extra = render("revise", previous=None, feedback=None, notes="\n".join(
                f"{k}. {note}" for k, note in enumerate(s.notes, 1)))
        last = s.head[-1]
        return [*s.head[:-1], {"role": last["role"], "content": f"{last['content']}\n\n{extra}"}], []

    def _generate(self, generator: Generator, states: list[_Problem], prompts: list[tuple],
                  sampling, step: str, iteration: int):
        """One batched call over the prompts that fit; problems whose prompt does not fit stop.

        A prompt is (head, rounds) or (head, rounds, partial): with a partial reply the
        model continues it (`context.fit_continuation`).
        """
        fitted, keep = [], []
        for s, (head, rounds, *partial) in zip(states, prompts):
            try:
                if partial and partial[0] is not None:
                    messages, dropped = fit_continuation(generator, head, rounds, partial[0],
                                                         reserve=sampling.max_new_tokens)
                else:
                    messages, dropped = fit_rounds(generator, head, rounds, reserve=sampling.max_new_tokens)
            except ContextOverflow as exc:
                s.stop("context", step=step, detail=str(exc))
                continue
            if dropped:
                s.trace.append({"role": "context", "dropped_rounds": dropped, "step": step})
            fitted.append(messages)
            keep.append(s)
        outputs = generator.generate(fitted, sampling) if fitted else []
        replies = []
        for s, out in zip(keep, outputs):
            reply = s.usage.add(out[0])
            s.trace.append(completion_step(reply) | {"step": step, "iteration": iteration})
            replies.append(reply)
        return keep, replies

    def _attempt(self, generator: Generator, states: list[_Problem], iteration: int) -> None:
        """The solver's attempt (with code round trips) for each open problem."""
        tools = bool(self.opts["tools"])
        sampling = tool_sampling(self.sampling) if tools else self.sampling
        keep, replies = self._generate(generator, states, [self._solver_prompt(s) for s in states],
                                       sampling, "solve", iteration)
        texts = {id(s): r.text for s, r in zip(keep, replies)}
        latest = dict(zip(map(id, keep), replies))
        pending = keep if tools else []
        for _ in range(int(self.opts["max_code_rounds"])):
            if not pending:
                break
            runs = run_replies([texts[id(s)] for s in pending], self.opts)
            with_code, prompts = [], []
            for s, run in zip(pending, runs):
                s.trace.append(step_of(run) | {"iteration": iteration})
                if run is not None:
                    texts[id(s)] = run.continued
                    with_code.append(s)
                    prompts.append((*self._solver_prompt(s), run.continued + "\n"))
            done, replies = self._generate(generator, with_code, prompts, sampling,
                                           "solve_after_code", iteration)
            pending = []
            for s, r in zip(done, replies):
                texts[id(s)] = f"{texts[id(s)]}\n{r.text}"
                latest[id(s)] = r
                if code_of(r.text).strip():  # more code: another round trip, if allowed
                    pending.append(s)
        for s in keep:
            s.attempts.append(texts[id(s)])
            s.finish_reason = latest[id(s)].finish_reason
            s.rounds.append([{"role": "assistant", "content": texts[id(s)]}])

    def _verify(self, generator: Generator, states: list[_Problem], iteration: int) -> None:
        """The verifier's verdict on each open problem's latest attempt; CORRECT stops it, and
        so does a reply without a verdict unless `on_no_verdict` is `revise`."""
        verifier = self.verifier(generator)
        max_new = self.opts["verifier_max_new_tokens"] or self.sampling.max_new_tokens
        sampling = replace(self.sampling, max_new_tokens=int(max_new), n=1)
        opened = bool(self.opts["open_verdict"])
        prompts = [([{"role": "user", "content": user_turn(
            "verdict", s.problem["problem"], s.attempts[-1])}], [],
            VERDICT_PREFIX if opened else None) for s in states]
        keep, replies = self._generate(verifier, states, prompts, sampling, "verify", iteration)
        revising = []
        for s, reply in zip(keep, replies):
            found, rest = read_verdict(reply.text, opened)
            verdict = found or "UNCLEAR"
            s.trace[-1].update(verdict=verdict, verdict_parsed=found is not None,
                               **({"opened_with": VERDICT_PREFIX} if opened else {}))
            if verdict == "CORRECT":
                s.stop("verified", iteration=iteration)
                continue
            if found is None and self.opts["on_no_verdict"] == "stop":
                s.stop("no_verdict", iteration=iteration)
                continue
            s.feedback = feedback_of(rest, int(self.opts["max_feedback_chars"]))
            s.rounds[-1].append({"role": "user", "content": render(
                "revise", previous=None, feedback=s.feedback, notes=None)})
            revising.append(s)
        if self.opts["memory"] == "summary" and revising:
            prompts = [([{"role": "user", "content": render(
                "summarize", problem=s.problem["problem"], attempt=s.attempts[-1],
                feedback=s.feedback)}], []) for s in revising]
            kept, notes = self._generate(generator, revising, prompts, sampling, "summarize", iteration)
            for s, note in zip(kept, notes):
                s.notes.append(note.text.strip())
