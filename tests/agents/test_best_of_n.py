"""best_of_n: scorers (a sequence-classification reward model built from a config, and a
causal LM as generative verifier), and the agent end to end on the tiny real model."""

from __future__ import annotations

import math

import pytest

from slm_math.agents import build_agent
from slm_math.agents.scoring import SequenceClassifierScorer, VerifierScorer, load_scorer
from slm_math.evaluation.metrics import cell_metrics
from slm_math.evaluation.run import evaluate_cell
from slm_math.generation import SamplingParams
from tests.agents.conftest import TOY

CANDIDATES = [("What is 2 + 3?", "2 + 3 = 5. \\boxed{5}"),
              ("What is 2 + 3?", "It is \\boxed{6}"),
              ("What is 7 * 8?", "7 * 8 = 56, so the answer is \\boxed{56}. " * 3)]


@pytest.fixture(scope="module")
def reward_model_dir(tmp_path_factory, tiny_model_dir):
    """A tiny LlamaForSequenceClassification (one label) with the SmolLM2 tokenizer."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForSequenceClassification

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    torch.manual_seed(1)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, num_labels=1,
                         pad_token_id=tok.eos_token_id, max_position_embeddings=2048)
    path = tmp_path_factory.mktemp("tiny-rm")
    LlamaForSequenceClassification(config).save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


def test_reward_model_scores_are_probabilities_and_batch_independent(reward_model_dir):
    scorer = load_scorer(reward_model_dir, batch_size=3)
    assert isinstance(scorer, SequenceClassifierScorer)
    batched = scorer.score(CANDIDATES)
    scorer.batch_size = 1
    alone = scorer.score(CANDIDATES)
    assert all(0 < s < 1 for s in batched) and len(set(batched)) == 3
    assert batched == pytest.approx(alone, abs=1e-5)   # padding does not change a score


def test_continuations_share_one_pass_over_their_prompt(tiny_hf):
    """Each distinct prompt runs once; every continuation's log-prob is the one a full
    forward pass of prompt + continuation gives (lengths 0-3, prompts of different lengths)."""
    import torch

    scorer = VerifierScorer(tiny_hf.model, tiny_hf.tokenizer)
    encode = lambda text: scorer.tokenizer(text, add_special_tokens=False).input_ids  # noqa: E731
    short, long = encode("VERDICT:"), encode(scorer.prompt(*CANDIDATES[2]))
    pairs = [(long, scorer.yes), (long, scorer.no), (short, scorer.no), (short, []),
             (long, encode(" 56")), (short, scorer.yes)]
    seen = []
    hook = scorer.model.register_forward_pre_hook(
        lambda _, args, kwargs: seen.append(tuple(kwargs["input_ids"].shape)), with_kwargs=True)
    try:
        got = scorer.continuation_logprobs(pairs)
    finally:
        hook.remove()
    assert seen == [(2, len(long)), (len(pairs), 2)]  # 2 prompts once; the continuations' rest

    def alone(prompt, continuation):
        with torch.inference_mode():
            logp = torch.log_softmax(scorer.model(torch.tensor([prompt + continuation])).logits.float(), -1)[0]
        return sum(float(logp[len(prompt) - 1 + k, t]) for k, t in enumerate(continuation))

    assert got == pytest.approx([alone(p, c) for p, c in pairs], abs=1e-4)
    assert got[3] == 0.0 and len({round(g, 4) for g in got}) == len(pairs)
    with pytest.raises(ValueError, match="at least one token"):
        scorer.continuation_logprobs([([], scorer.yes)])


def test_verifier_scorer_reads_p_correct(tiny_model_dir, tiny_hf):
    scorer = load_scorer(tiny_model_dir, batch_size=3)
    assert isinstance(scorer, VerifierScorer)
    batched = scorer.score(CANDIDATES)
    scorer.batch_size = 1
    assert batched == pytest.approx(scorer.score(CANDIDATES), abs=1e-5)
    assert all(0 < s < 1 for s in batched)
    # the score is P(" CORRECT") / (P(" CORRECT") + P(" INCORRECT")) after "VERDICT:", by hand
    import torch

    text = scorer.prompt(*CANDIDATES[0])
    assert text.endswith("<|im_start|>assistant\nVERDICT:")

    def logprob(continuation):
        ids = scorer.tokenizer(text, add_special_tokens=False).input_ids
        full = torch.tensor([ids + continuation])
        with torch.inference_mode():
            logp = torch.log_softmax(scorer.model(full).logits.float(), -1)[0]
        return sum(float(logp[len(ids) - 1 + k, t]) for k, t in enumerate(continuation))

    yes, no = logprob(scorer.yes), logprob(scorer.no)
    assert batched[0] == pytest.approx(1 / (1 + math.exp(no - yes)), abs=1e-5)
    # the verdict mass: how much of the verifier's probability goes to either verdict
    score, mass = scorer.judge(CANDIDATES[:1])[0]
    assert score == pytest.approx(batched[0], abs=1e-6)
    assert mass == pytest.approx(math.exp(yes) + math.exp(no), rel=1e-4) and 0 < mass < 1
    # with no reward_model the solver's own model is the verifier
    assert isinstance(load_scorer(None, fallback=tiny_hf), VerifierScorer)


def test_load_scorer_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="no config.json"):
        load_scorer(tmp_path)
    with pytest.raises(ValueError, match="needs its weights"):
        load_scorer(None, fallback=None)


def test_best_of_n_counts_the_verdicts_its_verifier_gives(tiny_hf):
    # a random model puts almost no probability on " CORRECT" / " INCORRECT": no verdicts given
    agent = build_agent("best_of_n", sampling=SamplingParams(max_new_tokens=4, seed=5), samples=2,
                        temperature=1.0)
    rows = evaluate_cell(agent, tiny_hf, {"toy": TOY[:2]}, model="tiny", agent_name="bon")
    scored = [s for r in rows["toy"] for s in r["trace"] if "score" in s]
    assert len(scored) == 4 and all(s["verdict_mass"] < 0.5 and s["verdict_parsed"] is False for s in scored)
    m = cell_metrics(rows)
    assert m["verdicts"] == 4 and m["verdict_parsed_rate"] == 0.0


@pytest.mark.parametrize("aggregation", ["best", "weighted_majority"])
def test_best_of_n_end_to_end(tiny_hf, reward_model_dir, aggregation):
    agent = build_agent("best_of_n", sampling=SamplingParams(max_new_tokens=6, seed=5), samples=3,
                        temperature=1.0, reward_model=reward_model_dir, aggregation=aggregation)
    rows = evaluate_cell(agent, tiny_hf, {"toy": TOY[:2]}, model="tiny", agent_name="bon")
    for row in rows["toy"]:
        assert len(row["samples"]) == 3
        scored = [s for s in row["trace"] if "score" in s]
        choice = row["trace"][-1]
        assert len(scored) == 3 and choice["aggregation"] == aggregation
        chosen = scored[choice["chosen_sample"]]
        assert chosen["content"] == row["response"]
        if aggregation == "best":
            assert chosen["score"] == max(s["score"] for s in scored)
        assert "verdict_parsed" not in chosen      # a reward model gives scores, not verdicts


def test_unknown_options_and_bad_values_are_refused():
    with pytest.raises(ValueError, match="unknown options"):
        build_agent("best_of_n", sampling=SamplingParams(), sample=3)
    with pytest.raises(ValueError, match="aggregation must be one of"):
        build_agent("best_of_n", sampling=SamplingParams(), aggregation="mean")
    with pytest.raises(ValueError, match="memory must be one of"):
        build_agent("solver_verifier", sampling=SamplingParams(), memory="notes")
