"""best_of_n: n sampled solutions, scored by a reward model or verifier, one chosen.

One batched call draws n samples per problem (seeded); each is scored in [0, 1] by
`scoring.load_scorer(reward_model)`: any HF sequence-classification checkpoint (a reward
model or outcome classifier), or a causal LM used as a generative verifier (its
P(CORRECT) after `VERDICT:`; the offline default is the solver's own model, or the
`grpo_verifier` checkpoint when `reward_model` names it). Then, by `aggregation`:
- `best`: the highest-scored sample with an answer (a sample the grader cannot read an
  answer from is wrong whatever its score; any sample when none has one; a tie goes to
  the earlier sample);
- `weighted_majority`: answers vote by value under the problem's rule (`voting`), each
  vote weighted by its score; the response is the best-scored sample of the winning answer.
All n texts are kept as `samples` (pass@k, maj@n); every score is in the trace, and for a
generative verifier its `verdict_mass` (P(CORRECT) + P(INCORRECT)) and `verdict_parsed`
(mass >= 0.5), which the eval metrics count (`verdict_parsed_rate`): a verifier that has
not learned the verdict format scores noise, and the report shows it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from slm_math.agents.base import AgentResult, Usage, completion_step
from slm_math.agents.scoring import Scorer, load_scorer
from slm_math.agents.standard import StandardAgent
from slm_math.agents.voting import AGGREGATIONS, choose
from slm_math.generation import Generator
from slm_math.grading import extract_answer

VERDICT_MASS = 0.5
"""A generative verifier's verdict counts as given when P(CORRECT) + P(INCORRECT) >= this:
at least half of its probability goes to one of the two verdicts."""
DEFAULTS: dict[str, Any] = {"samples": 4, "temperature": 0.7, "top_p": 0.95, "reward_model": None,
                            "aggregation": "best", "scorer_batch_size": 8}


class BestOfNAgent(StandardAgent):
    """n samples in one call, scored in batches, one chosen per problem."""

    name = "best_of_n"

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.opts = {**DEFAULTS, **self.options}
        if self.opts["aggregation"] not in AGGREGATIONS:
            raise ValueError(f"agent best_of_n: aggregation must be one of {AGGREGATIONS}, "
                             f"got {self.opts['aggregation']!r}")
        if int(self.opts["samples"]) < 1:
            raise ValueError(f"agent best_of_n: samples must be >= 1, got {self.opts['samples']}")
        self._scorer: Scorer | None = None

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        """samples, temperature, top_p, reward_model (a model folder; null: the solver as
        verifier), aggregation (best | weighted_majority), scorer_batch_size."""
        return tuple(DEFAULTS)

    def scorer(self, generator: Generator) -> Scorer:
        """The scorer, loaded once (on the solver's device)."""
        if self._scorer is None:
            model = getattr(generator, "model", None)
            device = str(model.device) if model is not None else None
            self._scorer = load_scorer(self.opts["reward_model"], fallback=generator,
                                       batch_size=int(self.opts["scorer_batch_size"]), device=device)
        return self._scorer

    def solve(self, generator: Generator, problems: Sequence[Mapping[str, Any]]) -> list[AgentResult]:
        """Sample, score, choose; see the module docstring."""
        n = int(self.opts["samples"])
        prompts = [self.prompt(p) for p in problems]
        sampling = replace(self.sampling, temperature=float(self.opts["temperature"]),
                           top_p=float(self.opts["top_p"]), n=n,
                           seed=self.sampling.seed if self.sampling.seed is not None else 0)
        outputs = generator.generate(prompts, sampling)
        candidates = [(p["problem"], c.text) for p, out in zip(problems, outputs) for c in out]
        judged = self.scorer(generator).judge(candidates)
        results = []
        for k, (problem, messages, completions) in enumerate(zip(problems, prompts, outputs)):
            scores = [score for score, _ in judged[k * n:(k + 1) * n]]
            masses = [mass for _, mass in judged[k * n:(k + 1) * n]]
            answers = [extract_answer(c.text) for c in completions]
            chosen = choose(answers, scores, aggregation=self.opts["aggregation"],
                            rule=problem.get("rule", "auto"))
            usage = Usage()
            trace = [messages[-1] | {"fewshot_turns": len(messages) - 1}]
            for j, (c, a, s, mass) in enumerate(zip(completions, answers, scores, masses)):
                step = completion_step(usage.add(c)) | {"sample_index": j, "answer": a, "score": round(s, 6)}
                if mass is not None:  # a generative verifier: did it answer in verdicts?
                    step.update(verdict_mass=round(mass, 6), verdict_parsed=mass >= VERDICT_MASS)
                trace.append(step)
            trace.append({"role": "choice", "aggregation": self.opts["aggregation"],
                          "chosen_sample": chosen})
            text = completions[chosen].text
            results.append(AgentResult(
                response=text, answer=extract_answer(text), tokens=usage.tokens,
                tokens_in=usage.tokens_in, latency_s=usage.latency_s, iterations=1, trace=trace,
                samples=[c.text for c in completions] if n > 1 else None,
                finish_reason=completions[chosen].finish_reason))
        return results
