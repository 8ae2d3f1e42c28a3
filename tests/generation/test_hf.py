"""The hf backend on a tiny random Llama (fp32, CPU), and once on the real SmolLM2-135M."""

import pytest
import torch

from slm_math.generation import SamplingParams, load_generator
from slm_math.generation.hf import HFGenerator

from .conftest import GGUF_FILE, smollm2_dir

PROMPTS = [
    "The cat",
    "A much longer prompt about the numbers one, two, three and four",
    [{"role": "user", "content": "What is 2 + 2?"}],
    "x",
    "Once upon a time there was",
]


def plain_greedy(gen: HFGenerator, prompt, max_new_tokens: int) -> tuple[list[int], str]:
    """One prompt alone through plain `model.generate`: the reference greedy output."""
    ids = gen._encode(prompt)
    out = gen.model.generate(
        input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
        max_new_tokens=max_new_tokens, do_sample=False,
    )
    new = out[0, len(ids):].tolist()
    return new, gen.tokenizer.decode(new, skip_special_tokens=True)


def test_batched_sorted_greedy_equals_plain_generate_one_by_one(tiny_hf):
    tiny_hf.batch_size = 2  # several batches of mixed lengths, sorted
    try:
        results = tiny_hf.generate(PROMPTS, SamplingParams(max_new_tokens=12))
    finally:
        tiny_hf.batch_size = 16
    for prompt, [completion] in zip(PROMPTS, results):
        ids, text = plain_greedy(tiny_hf, prompt, 12)
        # same tokens: same text and same count (the random model emits no special tokens)
        assert completion.text == text
        assert completion.tokens_out == len(ids) == 12
        assert completion.tokens_in == len(tiny_hf._encode(prompt))


def test_order_is_the_callers_and_greedy_is_deterministic(tiny_hf):
    params = SamplingParams(max_new_tokens=8)
    forward = tiny_hf.generate(PROMPTS, params)
    backward = tiny_hf.generate(PROMPTS[::-1], params)
    assert [r[0].text for r in forward] == [r[0].text for r in backward[::-1]]
    assert len({r[0].text for r in forward}) == len(PROMPTS)  # really different outputs
    again = tiny_hf.generate(PROMPTS, params)
    assert [(r[0].text, r[0].tokens_out) for r in again] == [(r[0].text, r[0].tokens_out) for r in forward]


def test_greedy_n_gives_n_copies(tiny_hf):
    [results] = tiny_hf.generate(["The cat"], SamplingParams(max_new_tokens=6, n=3))
    assert len(results) == 3 and len({c.text for c in results}) == 1


def test_seeded_sampling_is_reproducible_distinct_and_batch_independent(tiny_hf):
    params = SamplingParams(temperature=1.0, top_p=0.95, max_new_tokens=6, n=3, seed=123)
    a = tiny_hf.generate(PROMPTS[:3], params)
    b = tiny_hf.generate(PROMPTS[2::-1], params)[::-1]
    alone = tiny_hf.generate([PROMPTS[2]], params)[0]
    texts = [[c.text for c in r] for r in a]
    assert texts == [[c.text for c in r] for r in b]
    assert [c.text for c in alone] == texts[2]
    assert all(len(set(r)) == 3 for r in texts)  # the n samples differ
    other_seed = tiny_hf.generate(PROMPTS[:1], SamplingParams(**{**vars(params), "seed": 124}))
    assert [c.text for c in other_seed[0]] != texts[0]


def test_stop_string_cuts_text_and_ends_generation(tiny_hf):
    [[full]] = tiny_hf.generate(["Once upon a time there was"], SamplingParams(max_new_tokens=16))
    stop = full.text[len(full.text) // 2 :][:3]
    assert stop.strip(), full.text
    params = SamplingParams(max_new_tokens=16, stop=[stop])
    [[cut]] = tiny_hf.generate(["Once upon a time there was"], params)
    assert cut.text == full.text[: full.text.find(stop)]
    assert stop not in cut.text
    assert cut.finish_reason == "stop" and full.finish_reason == "length"
    assert cut.tokens_out < full.tokens_out


def test_max_new_tokens_is_respected(tiny_hf):
    for max_new in (1, 5):
        results = tiny_hf.generate(PROMPTS[:3], SamplingParams(max_new_tokens=max_new, temperature=0.8, seed=1))
        for [c] in results:
            assert 1 <= c.tokens_out <= max_new
            assert c.finish_reason == "length" or c.tokens_out < max_new


def test_chat_template_is_applied(tiny_hf):
    messages = [{"role": "user", "content": "What is 2 + 2?"}]
    text = tiny_hf.format_prompt(messages)
    assert text.startswith("<|im_start|>system\n")
    assert "<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n" in text
    assert text.endswith("<|im_start|>assistant\n")
    assert tiny_hf.format_prompt("raw text") == "raw text"
    [[c]] = tiny_hf.generate([messages], SamplingParams(max_new_tokens=2))
    assert c.tokens_in == tiny_hf.count_tokens(messages) == len(tiny_hf.tokenizer(text).input_ids)


def test_token_counting_and_context(tiny_hf):
    assert tiny_hf.context_length == 2048
    assert tiny_hf.count_tokens("hello world") == len(tiny_hf.tokenizer("hello world").input_ids) > 0


def test_bad_prompts_are_refused(tiny_hf):
    with pytest.raises(TypeError, match="list of prompts"):
        tiny_hf.generate("just a string")
    with pytest.raises(TypeError, match="prompt 1"):
        tiny_hf.generate(["ok", [{"content": "no role"}]])


def test_close_releases_the_model(tiny_model_dir):
    with load_generator("hf", tiny_model_dir, device="cpu", progress=False) as gen:
        assert gen.generate(["a"], SamplingParams(max_new_tokens=1))[0][0].tokens_out == 1
    assert gen.model is None


@pytest.mark.slow
def test_real_smollm2_answers_a_chat_prompt():
    with load_generator("hf", smollm2_dir(), gguf_file=GGUF_FILE, device="cpu", progress=False) as gen:
        params = SamplingParams(max_new_tokens=16, stop=["\n\n"])
        prompts = [[{"role": "user", "content": "What is 2 + 3? Answer with a number."}], "2 + 3 ="]
        batched = gen.generate(prompts, params)
        alone = gen.generate(prompts[:1], params)
        assert batched[0][0].text == alone[0][0].text  # left padding changes nothing
        assert "5" in batched[0][0].text
        assert all(r[0].tokens_out <= 16 and "\n\n" not in r[0].text for r in batched)
