"""best_of_n with a vllm solver: its samples are scored by the engine already loaded
(`VLLMVerifierScorer`), with the numbers of the transformers verifier on the same model
(up to bf16 vs fp32). On the real SmolLM2-135M; one engine for the module (vLLM's CPU build
in CI)."""

from __future__ import annotations

import math

import pytest

from slm_math.agents import build_agent
from slm_math.agents.scoring import VerifierScorer, VLLMVerifierScorer, load_scorer
from slm_math.evaluation.run import evaluate_cell
from slm_math.generation import SamplingParams, load_generator
from tests.agents.conftest import TOY
from tests.conftest import require_vllm

# right and wrong solutions, short and long; the model's P(CORRECT) differs across them
CANDIDATES = [
    ("What is 7 * 8?", "7 * 8 = 56. The answer is \\boxed{56}."),
    ("What is 7 * 8?", "7 * 8 = 54. The answer is \\boxed{54}."),
    ("What is 15 + 27?", "15 + 27 = 42, so the answer is \\boxed{42}."),
    ("What is 15 + 27?", "I think it is \\boxed{312}."),
    ("What is the least common multiple of 4 and 6?",
     "Multiples of 4: 4, 8, 12. Multiples of 6: 6, 12. The least common one is \\boxed{12}."),
    ("What is the least common multiple of 4 and 6?", "4 * 6 = 24. \\boxed{24}"),
    ("Sam has 12 apples and gives away 5. How many are left?", "12 - 5 = 7 apples. \\boxed{7}"),
    ("Sam has 12 apples and gives away 5. How many are left?", "hello"),
]


@pytest.fixture(scope="module")
def vllm_gen(request):
    require_vllm()  # before the model is made: a skip costs nothing
    model_dir = request.getfixturevalue("smollm2_model_dir")
    with load_generator("vllm", model_dir, kv_cache_gib=1, max_model_len=2048) as gen:
        yield gen


@pytest.fixture(scope="module")
def hf_verifier(smollm2_model_dir):
    """The transformers verifier on the same folder (fp32): the reference."""
    scorer = load_scorer(smollm2_model_dir)
    assert isinstance(scorer, VerifierScorer)
    return scorer


@pytest.mark.slow
def test_engine_scores_match_the_transformers_verifier(vllm_gen, hf_verifier):
    scorer = load_scorer(None, fallback=vllm_gen)
    assert isinstance(scorer, VLLMVerifierScorer) and scorer.generator is vllm_gen
    # the same text and the same verdict tokens on both paths
    assert (scorer.yes, scorer.no) == (hf_verifier.yes, hf_verifier.no)
    assert scorer.prompt(*CANDIDATES[0]) == hf_verifier.prompt(*CANDIDATES[0])
    prompts = hf_verifier.tokenizer([hf_verifier.prompt(p, s) for p, s in CANDIDATES],
                                    add_special_tokens=False).input_ids
    pairs = [(ids, cont) for ids in prompts for cont in (hf_verifier.yes, hf_verifier.no)]
    # each engine call from a cold prefix cache: a cached prompt is not prefilled again, and
    # where the CPU's bf16 kernels round by batch shape (AMX) a warm call differs slightly
    vllm_gen.llm.reset_prefix_cache()
    engine, reference = vllm_gen.continuation_logprobs(pairs), hf_verifier.continuation_logprobs(pairs)
    assert all(x < 0 for x in engine)
    # bf16 (vLLM on CPU) vs fp32: measured here, at most 0.12 nats apart
    assert engine == pytest.approx(reference, abs=0.4)
    vllm_gen.llm.reset_prefix_cache()
    ours = scorer.score(CANDIDATES)
    assert ours == pytest.approx([1 / (1 + math.exp(n - y)) for y, n in zip(engine[::2], engine[1::2])])
    theirs = [1 / (1 + math.exp(n - y)) for y, n in zip(reference[::2], reference[1::2])]
    assert ours == pytest.approx(theirs, abs=0.04)
    # measured here: scores 0.87-0.92 (the 135M model is a weak judge), at most 0.018 apart
    assert max(theirs) - min(theirs) > 0.04, theirs
    # the ranking holds wherever the reference is not a near-tie
    for i in range(len(CANDIDATES)):
        for j in range(len(CANDIDATES)):
            if theirs[i] > theirs[j] + 0.03:
                assert ours[i] > ours[j], (i, j, ours, theirs)


@pytest.mark.slow
def test_continuations_sharing_a_prompt_are_scored_as_alone(vllm_gen):
    """Contexts shared between pairs (the two verdicts' prompt, a repeated pair) are
    requested once; each pair's total is what it is when asked for alone."""
    tok = vllm_gen.tokenizer
    prompt = tok("The capital of France is", add_special_tokens=False).input_ids
    paris, lyon = (tok(t, add_special_tokens=False).input_ids for t in (" Paris", " Lyon, the city"))
    together = vllm_gen.continuation_logprobs([(prompt, paris), (prompt, lyon), (prompt, paris), (prompt, [])])
    alone = [vllm_gen.continuation_logprobs([(prompt, c)])[0] for c in (paris, lyon)]
    assert together[:3] == pytest.approx([alone[0], alone[1], alone[0]], abs=0.05)
    assert together[3] == 0.0 and together[0] > together[1]
    with pytest.raises(ValueError, match="pair 0 has an empty prompt"):
        vllm_gen.continuation_logprobs([([], paris)])


@pytest.mark.slow
def test_best_of_n_on_vllm_loads_no_transformers_model(vllm_gen, monkeypatch):
    import transformers

    def refuse(*args, **kwargs):
        raise AssertionError("best_of_n loaded a transformers model beside the vLLM engine")

    for auto in (transformers.AutoModelForCausalLM, transformers.AutoModelForSequenceClassification):
        monkeypatch.setattr(auto, "from_pretrained", refuse)
    agent = build_agent("best_of_n", sampling=SamplingParams(max_new_tokens=24, seed=3), samples=3,
                        temperature=1.0)  # no reward_model: the solver verifies its samples
    rows = evaluate_cell(agent, vllm_gen, {"toy": TOY[:2]}, model="smollm2", agent_name="bon")
    scorer = agent.scorer(vllm_gen)
    assert isinstance(scorer, VLLMVerifierScorer)
    for problem, row in zip(TOY, rows["toy"]):
        scored = [s for s in row["trace"] if "score" in s]
        assert len(scored) == 3 and all(0 < s["score"] < 1 for s in scored)
        again = scorer.score([(problem["problem"], s["content"]) for s in scored])
        assert [s["score"] for s in scored] == pytest.approx(again, abs=0.02)  # another batch: bf16 noise
        assert scored[row["trace"][-1]["chosen_sample"]]["score"] == max(s["score"] for s in scored)


@pytest.mark.slow
def test_a_verifier_folder_beside_a_vllm_solver_gets_an_engine_of_its_own(
        vllm_gen, hf_verifier, smollm2_model_dir, monkeypatch):
    import transformers

    def refuse(*args, **kwargs):
        raise AssertionError("best_of_n loaded the verifier folder with transformers")

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", refuse)
    scorer = load_scorer(smollm2_model_dir, fallback=vllm_gen)
    try:
        assert isinstance(scorer, VLLMVerifierScorer) and scorer.generator is not vllm_gen
        # the same folder as the transformers reference: the same scores up to bf16 vs fp32
        assert scorer.score(CANDIDATES) == pytest.approx(hf_verifier.score(CANDIDATES), abs=0.05)
    finally:
        scorer.generator.close()
