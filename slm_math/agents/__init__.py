"""Agents by name (open-r1 style registry): `AGENTS[name]` is an `Agent` subclass.

    agent = build_agent("standard", sampling=SamplingParams(max_new_tokens=512), fewshot={})
    results = agent.solve(generator, problems)   # one AgentResult per problem

To add an agent: a module here with an `Agent` subclass, and one line in `AGENTS`.
"""

from __future__ import annotations

import difflib
from typing import Any

from slm_math.agents.base import Agent, AgentResult
from slm_math.agents.best_of_n import BestOfNAgent
from slm_math.agents.code_feedback import CodeFeedbackAgent
from slm_math.agents.majority_vote import MajorityVoteAgent
from slm_math.agents.python_tools import PythonToolsAgent
from slm_math.agents.solver_verifier import SolverVerifierAgent
from slm_math.agents.standard import StandardAgent

AGENTS: dict[str, type[Agent]] = {
    "standard": StandardAgent,
    "majority_vote": MajorityVoteAgent,
    "solver_verifier": SolverVerifierAgent,
    "code_feedback": CodeFeedbackAgent,
    "python_tools": PythonToolsAgent,
    "best_of_n": BestOfNAgent,
}


class UnknownAgentError(ValueError):
    """An agent type that is not in the registry (a user error: one line, exit 2)."""


def build_agent(kind: str, **kwargs: Any) -> Agent:
    """An agent of registry type `kind`, built with `kwargs` (sampling, fewshot, options)."""
    try:
        cls = AGENTS[kind]
    except KeyError:
        close = difflib.get_close_matches(kind, list(AGENTS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownAgentError(f"unknown agent type {kind!r}{hint}; known: {', '.join(AGENTS)}") from None
    return cls(**kwargs)


__all__ = ["AGENTS", "Agent", "AgentResult", "BestOfNAgent", "CodeFeedbackAgent", "MajorityVoteAgent",
           "PythonToolsAgent", "SolverVerifierAgent", "StandardAgent", "UnknownAgentError",
           "build_agent"]
