"""The standard agent: its prompt, its results on a real (tiny) model, and the eval rows."""

from __future__ import annotations

import pytest

from slm_math.agents import AGENTS, AgentResult, StandardAgent, UnknownAgentError, build_agent
from slm_math.agents.standard import build_messages
from slm_math.evaluation.metrics import cell_metrics
from slm_math.evaluation.run import evaluate_cell, grade_results
from slm_math.generation import SamplingParams

PROBLEMS = [
    {"id": "t/1", "source": "toy", "split": "test", "problem": "What is 2 + 3?", "answer": "5",
     "rule": "numeric", "level": 1},
    {"id": "t/2", "source": "toy", "split": "test", "problem": "What is 4 * 6?", "answer": "24",
     "rule": "numeric", "level": 2},
    {"id": "u/1", "source": "other", "split": "test", "problem": "Compute 9 - 11.", "answer": "-2",
     "rule": "numeric"},
]
EXAMPLE = {"id": "toy/train/0", "source": "toy", "split": "train", "problem": "What is 1 + 1?",
           "answer": "2", "rule": "numeric", "solution": "1 + 1 = 2"}
ROW_KEYS = {"problem_id", "benchmark", "model", "agent", "prediction", "answer", "rule", "correct",
            "response", "tokens", "tokens_in", "latency_s", "iterations", "finish_reason", "trace"}


def test_prompt_zero_shot_and_few_shot():
    [user] = build_messages(PROBLEMS[0])
    assert user["role"] == "user"
    assert user["content"].startswith("What is 2 + 3?\n")
    assert user["content"].endswith("put your final answer within \\boxed{}.")
    messages = build_messages(PROBLEMS[0], [EXAMPLE])
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    worked = messages[1]["content"]
    assert worked.index("1 + 1 = 2") < worked.index("\\boxed{2}")  # computation before the box
    assert messages[0]["content"].startswith("What is 1 + 1?")


def test_agent_uses_the_few_shot_of_each_problems_benchmark(tiny_hf):
    agent = StandardAgent(sampling=SamplingParams(max_new_tokens=4), fewshot={"toy": [EXAMPLE]})
    assert len(agent.prompt(PROBLEMS[0])) == 3   # toy has an example
    assert len(agent.prompt(PROBLEMS[2])) == 1   # other has none: zero-shot
    results = agent.solve(tiny_hf, PROBLEMS)
    assert results[0].trace[0]["fewshot_turns"] == 2
    assert results[2].trace[0]["fewshot_turns"] == 0


def test_standard_agent_on_a_tiny_model_gives_rows_and_metrics(tiny_hf):
    agent = build_agent("standard", sampling=SamplingParams(max_new_tokens=6))
    rows = evaluate_cell(agent, tiny_hf, {"toy": PROBLEMS[:2], "other": PROBLEMS[2:]},
                         model="tiny", agent_name="standard", chunk_size=2)
    assert [r["problem_id"] for r in rows["toy"]] == ["t/1", "t/2"]
    for r in rows["toy"] + rows["other"]:
        assert ROW_KEYS <= set(r)
        assert r["model"] == "tiny" and r["agent"] == "standard" and r["iterations"] == 1
        assert 1 <= r["tokens"] <= 6 and r["tokens_in"] > 10
        assert r["trace"][-1]["role"] == "assistant" and r["trace"][-1]["content"] == r["response"]
        assert isinstance(r["correct"], bool)
    assert rows["toy"][0]["level"] == 1 and "level" not in rows["other"][0]
    m = cell_metrics(rows)
    assert m["n"] == 3 and 0 <= m["accuracy"] <= 1 and len(m["ci95"]) == 2
    assert set(m["benchmarks"]) == {"toy", "other"}
    assert m["benchmarks"]["toy"]["by_level"]["2"]["n"] == 1


def test_sampling_with_n_keeps_every_sample(tiny_hf):
    agent = build_agent("standard", sampling=SamplingParams(temperature=1.0, n=3, seed=7, max_new_tokens=5))
    rows = evaluate_cell(agent, tiny_hf, {"toy": PROBLEMS[:2]}, model="tiny", agent_name="s")
    for r in rows["toy"]:
        assert len(r["samples"]) == 3 and all(set(s) == {"answer", "correct"} for s in r["samples"])
        assert len(r["trace"]) == 4  # the prompt and three completions
    m = cell_metrics(rows)
    assert {"pass@1", "pass@2", "pass@3", "maj@3"} <= set(m)


def test_an_interrupted_cell_resumes_from_its_journal(tiny_hf, tmp_path):
    journal = tmp_path / "journal.jsonl"
    agent = build_agent("standard", sampling=SamplingParams(max_new_tokens=4))
    first = evaluate_cell(agent, tiny_hf, {"toy": PROBLEMS[:2]}, model="tiny", agent_name="a",
                          journal=journal)
    assert len(journal.read_text().splitlines()) == 2

    def must_not_load():
        raise AssertionError("the journal holds every row: no model should be loaded")
    again = evaluate_cell(agent, must_not_load, {"toy": PROBLEMS[:2]}, model="tiny", agent_name="a",
                          journal=journal)
    assert again == first
    # a torn last line (a killed writer) is dropped and that problem redone
    journal.write_text(journal.read_text().splitlines()[0] + "\n" + '{"problem_id": "t/2", "tru')
    calls = []

    def loader():
        calls.append(1)
        return tiny_hf
    resumed = evaluate_cell(agent, loader, {"toy": PROBLEMS[:2]}, model="tiny", agent_name="a",
                            journal=journal)
    assert calls == [1] and [r["problem_id"] for r in resumed["toy"]] == ["t/1", "t/2"]


def test_grading_follows_each_problems_rule():
    def result(text):
        return AgentResult(response=text, answer=None, tokens=3, tokens_in=9, latency_s=0.1,
                           iterations=1, trace=[])
    rows = grade_results(PROBLEMS, [result("2 + 3 = 5, so \\boxed{5}"), result("\\boxed{4 * 6}"),
                                    result("no idea")], model="m", agent="a", benchmark="toy")
    assert [r["correct"] for r in rows] == [True, False, False]  # a computation is not a number
    assert rows[2]["prediction"] is None and rows[1]["graded_answer"] == "4 * 6"


def test_registry_errors_are_clear():
    assert "standard" in AGENTS
    with pytest.raises(UnknownAgentError, match="did you mean 'standard'"):
        build_agent("standart", sampling=SamplingParams())
    with pytest.raises(ValueError, match="unknown options"):
        build_agent("standard", sampling=SamplingParams(), votes=3)
