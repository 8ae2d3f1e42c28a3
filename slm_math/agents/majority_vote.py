"""majority_vote: n runs of the standard prompt, a vote on their normalized answers.

Run 1 is greedy; runs 2..n are sampled (`temperature`, `top_p`) with distinct seeds: one
batched call with n-1 samples per problem, sample j seeded by (the agent's seed, j) so
every run draws its own noise, reproducibly (see `slm_math.generation.sampling`). Answers
vote by value under the problem's rule (`voting.answer_key`: `1/2` and `0.5` together);
the most votes win, a tie goes to the class seen first, i.e. to the greedy run when it is
tied; the response is the first run giving the winning answer. With no answer at all, the
greedy run's text is the response. All n texts are kept as `samples` (pass@k, maj@n).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from slm_math.agents.base import AgentResult, Usage, completion_step
from slm_math.agents.standard import StandardAgent
from slm_math.agents.voting import vote
from slm_math.generation import Generator
from slm_math.grading import extract_answer

DEFAULTS = {"runs": 5, "temperature": 0.7, "top_p": 0.95}


class MajorityVoteAgent(StandardAgent):
    """n runs (greedy first, then seeded samples), voted; two batched calls in all."""

    name = "majority_vote"

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        """runs: n (>= 1); temperature, top_p: how runs 2..n sample."""
        return tuple(DEFAULTS)

    def option(self, key: str) -> Any:
        """An option's value, or its default."""
        return self.options.get(key, DEFAULTS[key])

    def solve(self, generator: Generator, problems: Sequence[Mapping[str, Any]]) -> list[AgentResult]:
        """Greedy pass, sampled pass, vote; see the module docstring."""
        runs = int(self.option("runs"))
        if runs < 1:
            raise ValueError(f"agent majority_vote: runs must be >= 1, got {runs}")
        prompts = [self.prompt(p) for p in problems]
        greedy = generator.generate(prompts, replace(self.sampling, temperature=0.0, n=1))
        sampled: list[list] = [[] for _ in problems]
        seed = self.sampling.seed if self.sampling.seed is not None else 0
        if runs > 1:
            sampled = generator.generate(prompts, replace(
                self.sampling, temperature=float(self.option("temperature")),
                top_p=float(self.option("top_p")), n=runs - 1, seed=seed))
        results = []
        for problem, messages, first, rest in zip(problems, prompts, greedy, sampled):
            completions = [first[0], *rest]
            usage = Usage()
            for c in completions:
                usage.add(c)
            answers = [extract_answer(c.text) for c in completions]
            winner = vote(answers, rule=problem.get("rule", "auto"))
            chosen = completions[winner if winner is not None else 0]
            trace = [messages[-1] | {"fewshot_turns": len(messages) - 1}]
            for j, (c, a) in enumerate(zip(completions, answers)):
                run = {"run": j + 1, "answer": a}
                run.update({"seed": None} if j == 0 else {"seed": seed, "sample_index": j - 1})
                trace.append(completion_step(c) | run)
            trace.append({"role": "vote", "winner_run": None if winner is None else winner + 1,
                          "answer": answers[winner] if winner is not None else None})
            results.append(AgentResult(
                response=chosen.text, answer=extract_answer(chosen.text), tokens=usage.tokens,
                tokens_in=usage.tokens_in, latency_s=usage.latency_s, iterations=runs,
                trace=trace, samples=[c.text for c in completions] if runs > 1 else None,
                finish_reason=chosen.finish_reason))
        return results
