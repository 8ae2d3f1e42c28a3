"""The openai backend against a real local server (this package's, over the tiny model)."""

import json
import urllib.error
import urllib.request

import pytest

from slm_math.generation import LocalServer, SamplingParams, load_generator
from slm_math.generation.local_server import free_port

CHAT = [{"role": "user", "content": "What is 2 + 2?"}]


@pytest.fixture(scope="module")
def server(tiny_model_dir):
    with LocalServer(tiny_model_dir, server_args=["--device", "cpu"], startup_timeout_s=180) as srv:
        yield srv


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def test_params_are_honored_like_the_in_process_backend(server, tiny_model_dir, tiny_hf):
    remote = load_generator("openai", tiny_model_dir, base_url=server.base_url, max_retries=0)
    prompts = [CHAT, "Once upon a time there was"]
    for params in (
        SamplingParams(max_new_tokens=6),
        SamplingParams(max_new_tokens=6, temperature=1.0, top_p=0.9, n=3, seed=7),
        SamplingParams(max_new_tokens=8, stop=["was", "\n"]),
    ):
        got, want = remote.generate(prompts, params), tiny_hf.generate(prompts, params)
        assert [[c.text for c in r] for r in got] == [[c.text for c in r] for r in want]
        assert [[c.finish_reason for c in r] for r in got] == [[c.finish_reason for c in r] for r in want]
        assert [r[0].tokens_in for r in got] == [r[0].tokens_in for r in want]
        assert [sum(c.tokens_out for c in r) for r in got] == [sum(c.tokens_out for c in r) for r in want]
    assert remote.context_length == 2048


def test_concurrency_is_bounded(server, tiny_model_dir):
    stats_url = server.base_url.removesuffix("/v1") + "/stats"
    prompts = [f"Count {i}:" for i in range(8)]
    counts = {}
    for limit in (2, 8):
        get_json(stats_url + "?reset=true")
        served = get_json(stats_url)["served"]
        gen = load_generator("openai", tiny_model_dir, base_url=server.base_url, max_concurrency=limit)
        # 32 tokens a request: long enough that the 8 requests overlap on a loaded 2-core
        # machine (at 4 the first could finish before the second arrived: max_in_flight 1)
        assert len(gen.generate(prompts, SamplingParams(max_new_tokens=32))) == 8
        stats = get_json(stats_url)
        assert stats["served"] - served == 8
        counts[limit] = stats["max_in_flight"]
    assert counts[2] <= 2 < counts[8] <= 8


def test_bad_parameters_get_a_400(server):
    body = json.dumps({"model": "m", "prompt": "x", "n": 0}).encode()
    req = urllib.request.Request(server.base_url + "/completions", body, {"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 400


def test_unreachable_server_gives_a_clear_error():
    url = f"http://127.0.0.1:{free_port()}/v1"
    gen = load_generator("openai", "m", base_url=url, max_retries=0, timeout_s=5)
    with pytest.raises(ConnectionError, match=f"cannot reach the OpenAI-compatible server at {url}"):
        gen.generate(["hello"], SamplingParams(max_new_tokens=2))


def test_remote_server_needs_its_key(monkeypatch):
    monkeypatch.delenv("SLM_TEST_KEY", raising=False)
    with pytest.raises(ValueError, match="SLM_TEST_KEY"):
        load_generator("openai", "gpt-4o-mini", base_url="https://api.example.com/v1", api_key_env="SLM_TEST_KEY")
    monkeypatch.setenv("SLM_TEST_KEY", "sk-test")
    gen = load_generator("openai", "gpt-4o-mini", base_url="https://api.example.com/v1", api_key_env="SLM_TEST_KEY")
    assert gen.api_key == "sk-test"
    assert gen.count_tokens("12345678") == 2  # no tokenizer: the 4-characters estimate
