"""The static-cache decoder: GRPO's sampler, and the hf backend's static path against `generate`."""

from __future__ import annotations

import pytest
import torch

from slm_math.generation import SamplingParams, static_decoding
from slm_math.generation.hf import HFGenerator
from slm_math.generation.sampling import uniform_noise
from slm_math.generation.static_decoding import StaticDecoder
from slm_math.training.model_loading import load_causal_lm

PROMPTS = [[5, 6, 7, 8, 9], [10, 11], [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]]


def test_greedy_matches_generate_with_left_padding(tiny_model_dir):
    model = load_causal_lm(tiny_model_dir, "fp32").eval()
    decoder = StaticDecoder(model, eos_token_ids=[model.config.eos_token_id], pad_token_id=0)
    ours = decoder.sample(PROMPTS, 12, temperature=0.0)
    for prompt, completion in zip(PROMPTS, ours):
        ref = model.generate(torch.tensor([prompt]), max_new_tokens=12, do_sample=False,
                             eos_token_id=model.config.eos_token_id, pad_token_id=0)
        assert completion == ref[0, len(prompt):].tolist()[:len(completion)]
        assert len(completion) == 12 or completion[-1] == model.config.eos_token_id
    assert not decoder.graph_used  # CPU: eager


def test_a_trainers_mixed_precision_autocast_decodes_in_the_weights_dtype(tiny_model_dir):
    # GRPO with precision bf16_mixed (fp32 weights, bf16 autocast: CPUs with native bf16)
    model = load_causal_lm(tiny_model_dir, "fp32").eval()
    decoder = StaticDecoder(model, eos_token_ids=[], pad_token_id=0)
    plain = decoder.sample(PROMPTS, 8, temperature=0.0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = decoder.sample(PROMPTS, 8, temperature=0.0)
    assert mixed == plain and all(len(row) == 8 for row in mixed)


def test_sampling_is_seeded_and_cut_after_eos(tiny_model_dir):
    model = load_causal_lm(tiny_model_dir, "fp32")
    model.train()
    decoder = StaticDecoder(model, eos_token_ids=[7], pad_token_id=0)
    a = decoder.sample(PROMPTS, 10, temperature=1.0, seed=3)
    b = decoder.sample(PROMPTS, 10, temperature=1.0, seed=3)
    assert a == b and model.training  # the train/eval mode is given back
    # a token made an EOS: every completion ends at its first occurrence
    eos = a[0][2]
    cut = StaticDecoder(model, eos_token_ids=[eos], pad_token_id=0).sample(PROMPTS, 10, 1.0, seed=3)
    assert cut[0] == a[0][:3]


# --- the hf backend's static path against its `generate` path (CPU, eager) ---

MIXED = ["The cat", "A much longer prompt about the numbers one, two, three and four",
         [{"role": "user", "content": "What is 2 + 2?"}], "x", "Once upon a time there was"]


@pytest.fixture()
def both(tiny_hf, monkeypatch):
    """(static, generate): two hf generators over the same tiny model, 2 rows a batch.

    Attention spans grow in buckets of 8 positions, so each decode crosses several."""
    monkeypatch.setattr(static_decoding, "BUCKET", 8)
    static = HFGenerator(tiny_hf.model, tiny_hf.tokenizer, batch_size=2, progress=False,
                         decoder="static")
    plain = HFGenerator(tiny_hf.model, tiny_hf.tokenizer, batch_size=2, progress=False,
                        decoder="generate")
    return static, plain


def _view(results):
    return [[(c.text, c.tokens_in, c.tokens_out, c.finish_reason) for c in r] for r in results]


def test_static_path_is_the_default_only_on_a_gpu_and_names_are_checked(tiny_hf):
    assert tiny_hf.decoder == "generate"  # CPU
    with pytest.raises(ValueError, match="decoder must be 'static' or 'generate', got 'fast'"):
        HFGenerator(tiny_hf.model, tiny_hf.tokenizer, decoder="fast")


def test_static_greedy_equals_generate_with_mixed_lengths(both):
    static, plain = both
    params = SamplingParams(max_new_tokens=10)
    ours = static.generate(MIXED, params)
    assert _view(ours) == _view(plain.generate(MIXED, params))
    assert all(c.tokens_out == 10 for [c] in ours) and not static.graph_used  # CPU: eager


def test_static_seeded_sampling_equals_generate_and_is_batch_independent(both):
    static, plain = both
    params = SamplingParams(temperature=1.0, top_p=0.9, max_new_tokens=8, n=2, seed=7)
    ours = static.generate(MIXED, params)
    assert _view(ours) == _view(plain.generate(MIXED, params))
    assert _view(static.generate(MIXED[3:4], params)) == _view(ours[3:4])
    assert len({c.text for c in ours[0]}) == 2


def test_static_eos_and_stop_strings_end_rows_as_generate_does(both, monkeypatch):
    static, plain = both
    monkeypatch.setattr(static_decoding, "CHECK_EVERY", 4)  # several scans and early exits
    prompts = MIXED[:2] + MIXED[4:]
    [[first], *_] = plain.generate(prompts, SamplingParams(max_new_tokens=24))
    stop = first.text[len(first.text) // 2:][:3]
    assert stop.strip(), first.text
    params = SamplingParams(max_new_tokens=24, stop=[stop])
    ours = static.generate(prompts, params)
    assert _view(ours) == _view(plain.generate(prompts, params))
    assert ours[0][0].finish_reason == "stop" and ours[0][0].tokens_out < 24
    # a token the model emits made an EOS: rows end at it (EOS counted), the same both ways
    eos = static.tokenizer(first.text).input_ids[5]
    monkeypatch.setattr(static, "eos_ids", [eos])
    monkeypatch.setattr(plain, "eos_ids", [eos])
    ended = static.generate(prompts, SamplingParams(max_new_tokens=24))
    assert _view(ended) == _view(plain.generate(prompts, SamplingParams(max_new_tokens=24)))
    assert ended[0][0].finish_reason == "stop" and ended[0][0].tokens_out < 24


def test_noise_is_the_same_for_an_int_step_and_a_tensor_step():
    seeds = torch.tensor([1, -5, 2**62], dtype=torch.int64)
    for step in (0, 3, 511):
        assert torch.equal(uniform_noise(seeds, step, 50),
                           uniform_noise(seeds, torch.tensor([step]), 50))
