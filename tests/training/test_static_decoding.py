"""The static-cache decoder samples what generate samples (greedy: the same tokens)."""

from __future__ import annotations

import torch

from slm_math.training.model_loading import load_causal_lm
from slm_math.training.static_decoding import StaticDecoder

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
