"""Every agent is registered, and every agent configuration in params.yaml builds."""

from __future__ import annotations

from pathlib import Path

from slm_math.agents import AGENTS, build_agent
from slm_math.config import load_params
from slm_math.generation import SamplingParams

ROOT = Path(__file__).resolve().parents[2]


def test_registry_holds_every_agent_of_the_issue():
    assert set(AGENTS) == {"standard", "majority_vote", "solver_verifier", "code_feedback",
                           "python_tools", "best_of_n"}
    for name, cls in AGENTS.items():
        assert cls.name == name and (ROOT / "slm_math" / "agents" / f"{name}.py").exists()


def test_every_agent_type_is_configured_and_every_configuration_builds():
    params = load_params(ROOT / "params.yaml")
    cell_agents = {cell.agent for cell in params.eval.cells.values()}
    assert cell_agents <= set(params.agents)
    assert {params.report.baseline, params.report.fewshot_baseline} <= set(params.eval.cells)
    assert cell_agents >= {"standard", "fewshot", "majority_vote", "solver_verifier",
                           "code_feedback", "python_tools", "best_of_n"}
    assert {config.type for config in params.agents.values()} == set(AGENTS)
    for name, config in params.agents.items():
        agent = build_agent(config.type, sampling=SamplingParams(max_new_tokens=config.max_new_tokens),
                            **config.options)
        assert set(config.options) <= set(agent.option_names()), name
