"""The context budget: whole oldest rounds dropped, head and latest round kept, nothing cut."""

from __future__ import annotations

import pytest

from slm_math.agents.context import ContextOverflow, fit_rounds
from tests.agents.scripted import ScriptedGenerator

HEAD = [{"role": "system", "content": "You are a careful solver."},
        {"role": "user", "content": "What is 17 * 23? Put the answer in \\boxed{}."}]


def round_(k: int, words: int = 60):
    return [{"role": "assistant", "content": f"attempt {k}: " + " ".join(["step"] * words) + " \\boxed{391}"},
            {"role": "user", "content": f"feedback {k}: check it again."}]


def test_everything_fits_nothing_dropped(tokenizer):
    gen = ScriptedGenerator(lambda *a: "", tokenizer, context_length=4096)
    messages, dropped = fit_rounds(gen, HEAD, [round_(1), round_(2)], reserve=256)
    assert dropped == 0 and messages == HEAD + round_(1) + round_(2)


def test_oldest_whole_rounds_are_dropped_first(tokenizer):
    rounds = [round_(k) for k in range(1, 5)]
    full = ScriptedGenerator(lambda *a: "", tokenizer, context_length=None)
    need_two = full.count_tokens(HEAD + rounds[2] + rounds[3])
    gen = ScriptedGenerator(lambda *a: "", tokenizer, context_length=need_two + 100)
    messages, dropped = fit_rounds(gen, HEAD, rounds, reserve=100)
    assert dropped == 2
    assert messages == HEAD + rounds[2] + rounds[3]   # whole messages, in order, none cut
    assert gen.count_tokens(messages) <= gen.context_length - 100


def test_head_and_latest_round_always_kept_or_overflow(tokenizer):
    rounds = [round_(1), round_(2, words=400)]
    gen = ScriptedGenerator(lambda *a: "", tokenizer, context_length=200)
    with pytest.raises(ContextOverflow, match="budget is 150"):
        fit_rounds(gen, HEAD, rounds, reserve=50)
    with pytest.raises(ContextOverflow):
        fit_rounds(gen, HEAD, [], reserve=190)


def test_unknown_context_length_keeps_everything(tokenizer):
    gen = ScriptedGenerator(lambda *a: "", tokenizer, context_length=None)
    rounds = [round_(k, words=2000) for k in range(3)]
    messages, dropped = fit_rounds(gen, HEAD, rounds, reserve=10**6)
    assert dropped == 0 and len(messages) == len(HEAD) + 6
