"""GRPO rewards: TRL's signature, values, and each row's answer rule."""

import inspect

import pytest

from slm_math.grading.rewards import (
    REWARD_FACTORIES,
    build_rewards,
    completion_text,
    correctness_reward,
    format_reward,
    length_penalty,
)

B = "\\boxed"
HACK = f"<think>copy the question</think> {B}{{2602 - -(9777 * -3677)}}"
RIGHT = f"<think>2602 - 35950829</think> {B}{{-35947427}}"


def test_signature_and_names_match_trl():
    for name, factory in REWARD_FACTORIES.items():
        func = factory()
        assert func.__name__ == name
        params = inspect.signature(func).parameters
        assert "completions" in params
        assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def test_correctness_values_and_rule_column():
    reward = correctness_reward(correct=1.0, incorrect=-1.0)
    scores = reward(
        prompts=["p"] * 4,
        completions=[HACK, RIGHT, f"{B}{{37840/68542}}", f"{B}{{440/797}}"],
        answer=["-35947427", "-35947427", "440/797", "440/797"],
        rule=["numeric", "numeric", "fraction_lowest_terms", "fraction_lowest_terms"],
        trainer_state=None,
    )
    assert scores == [-1.0, 1.0, -1.0, 1.0]


def test_boxed_computation_earns_nothing_without_rule_column():
    reward = correctness_reward()  # auto: a plain-number gold means the numeric rule
    assert reward(completions=[HACK, RIGHT], answer=["-35947427"] * 2) == [0.0, 1.0]


def test_conversational_completions_and_missing_gold():
    reward = correctness_reward()
    completions = [[{"role": "assistant", "content": f"{B}{{2 \\times 3 \\times 7 \\times 19}}"}],
                   [{"role": "assistant", "content": f"{B}{{798}}"}],
                   [{"role": "assistant", "content": "#### 1"}]]
    scores = reward(completions=completions, answer=["2 × 3 × 7 × 19", "2 × 3 × 7 × 19", None])
    assert scores == [1.0, 0.0, None]


def test_correctness_latex_rows():
    reward = correctness_reward()
    scores = reward(completions=[f"{B}{{(1, 2]}}", f"{B}{{[1, 2]}}"], answer=["(1,2]", "(1,2]"], rule=["latex", "latex"])
    assert scores == [1.0, 0.0]


def test_correctness_needs_answer_column():
    with pytest.raises(KeyError):
        correctness_reward()(completions=["#### 1"], solution=["1"])


def test_format_reward():
    reward = format_reward(0.2)
    completions = [
        f"<think>reasoning</think> so {B}{{3}}",
        f"reasoning</think> so {B}{{3}}",  # <think> opened by the chat template in the prompt
        f"{B}{{3}}",  # no think block
        f"<think></think>{B}{{3}}",  # empty think
        "<think>a</think> no box",
        f"<think>{B}{{3}}</think> answer outside",  # box only inside the thinking
        f"<think>a</think><think>b</think>{B}{{3}}",  # two blocks
    ]
    assert reward(completions=completions) == [0.2, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert format_reward(1.0, require_think=False)(completions=[f"{B}{{3}}", "3"]) == [1.0, 0.0]
    # echoing the prompt's empty box earns no format reward
    assert format_reward(1.0, require_think=False)(
        completions=[f"answer within {B}{{}}.", f"within {B}{{}}: {B}{{4}}"]) == [0.0, 1.0]


def test_length_penalty_tokens_and_chars():
    reward = length_penalty(max_length=100, cache_length=20, penalty=1.0)
    assert reward(completions=["a" * 50, "a" * 90, "a" * 101]) == [0.0, -0.5, -1.0]
    assert reward(completions=["x", "y"], completion_ids=[[0] * 85, [0] * 10]) == [-0.25, 0.0]
    with pytest.raises(ValueError):
        length_penalty(max_length=10, cache_length=20)


def test_build_rewards_from_spec():
    funcs = build_rewards({"correctness": {"correct": 1.0, "incorrect": -1.0}, "format": {"value": 0.1}})
    assert [f.__name__ for f in funcs] == ["correctness", "format"]
    assert funcs[0](completions=["#### 5"], answer=["6"]) == [-1.0]
    with pytest.raises(ValueError):
        build_rewards({"nope": {}})


def test_completion_text_shapes():
    assert completion_text("x") == "x"
    assert completion_text([{"role": "assistant", "content": [{"type": "text", "text": "a"}]}]) == "a"
    assert completion_text([{"role": "user", "content": "q"}, {"role": "assistant", "content": "b"}]) == "b"
