"""The local teacher server's argv and environment, by engine (`cotgen.server`)."""

from __future__ import annotations

import sys

import pytest

from slm_math.config.params import LocalServerParams
from slm_math.generation import vllm_env
from slm_math.teacher import server


@pytest.fixture()
def vllm_present(monkeypatch):
    """Set whether `find_spec("vllm")` finds vllm; forget which engine "auto" announced."""
    def set_present(present: bool) -> None:
        real = vllm_env.importlib.util.find_spec
        monkeypatch.setattr(vllm_env.importlib.util, "find_spec",
                            lambda name, *a: (real("os") if present else None) if name == "vllm"
                            else real(name, *a))
        monkeypatch.setattr(vllm_env, "_told", set())
    return set_present


def test_auto_is_vllm_where_installed_and_says_so_once(vllm_present, caplog, monkeypatch):
    vllm_present(True)
    monkeypatch.setattr(vllm_env, "has_cuda", lambda: False)
    monkeypatch.delenv("VLLM_CPU_KVCACHE_SPACE", raising=False)
    argv, env = server.server_command("models/base", LocalServerParams())
    assert argv[:3] == [sys.executable, "-m", "vllm.entrypoints.openai.api_server"]
    # the name vLLM serves is the one cotgen's client sends: the folder as given
    i = argv.index("--served-model-name")
    assert argv[i + 1] == server.served_model_name("models/base") == "models/base"
    assert env["VLLM_CPU_KVCACHE_SPACE"] == "2"  # the engine refuses to start without it
    server.server_command("models/base", LocalServerParams())
    said = [r.getMessage() for r in caplog.records if "cotgen.server.engine" in r.getMessage()]
    assert said == ["cotgen.server.engine: auto -> vllm (vllm is installed)"]


def test_auto_without_vllm_is_the_hf_server(vllm_present, caplog):
    vllm_present(False)
    argv, env = server.server_command("models/base", LocalServerParams(kv_cache_gib=1))
    assert argv[:3] == [sys.executable, "-m", "slm_math.generation.server"] and env == {}
    assert any("auto -> hf (vllm is not installed" in r.getMessage() for r in caplog.records)


def test_an_explicit_engine_or_command_wins(vllm_present, monkeypatch):
    vllm_present(False)
    monkeypatch.delenv("VLLM_CPU_KVCACHE_SPACE", raising=False)
    monkeypatch.setattr(vllm_env, "has_cuda", lambda: False)
    argv, env = server.server_command("m", LocalServerParams(engine="vllm", kv_cache_gib=3))
    assert "vllm.entrypoints.openai.api_server" in argv and env["VLLM_CPU_KVCACHE_SPACE"] == "3"
    argv, env = server.server_command("m", LocalServerParams(engine="transformers"))
    assert argv[1:3] == ["serve", "{model}"] and argv[0].endswith("transformers") and env == {}
    assert "--continuous-batching" in argv
    mine = ["my-server", "--model", "{model}", "--port", "{port}"]
    argv, _ = server.server_command("m", LocalServerParams(engine="transformers", command=mine))
    assert argv == mine


def test_hf_is_this_packages_server_under_the_folders_name(vllm_present):
    vllm_present(True)  # an explicit engine is taken as named
    argv, env = server.server_command("models/base", LocalServerParams(engine="hf"))
    assert argv[:3] == [sys.executable, "-m", "slm_math.generation.server"] and env == {}
    assert argv[argv.index("--model") + 1] == "{model}"
    assert argv[argv.index("--served-name") + 1] == server.served_model_name("models/base")
    assert "--device" not in argv  # the backend takes the GPU where there is one


def test_the_hf_engine_serves_chat_requests_cotgen_sends(tiny_model_dir):
    import json
    import urllib.request

    from slm_math.generation import SamplingParams, load_generator

    with server.local_teacher_server(tiny_model_dir, LocalServerParams(engine="hf")) as srv:
        with urllib.request.urlopen(f"{srv.base_url}/models", timeout=10) as r:
            assert [m["id"] for m in json.load(r)["data"]] == [server.served_model_name(tiny_model_dir)]
        client = load_generator("openai", server.served_model_name(tiny_model_dir),
                                base_url=srv.base_url, max_concurrency=4)
        prompts = [[{"role": "user", "content": f"What is {i} + {i}?"}] for i in range(4)]
        results = client.generate(prompts, SamplingParams(max_new_tokens=6, temperature=0.0))
        # the request's temperature and seed are honoured: cotgen's sampled, seeded attempts
        sampled = {seed: client.generate(prompts[:1], SamplingParams(
            max_new_tokens=12, temperature=1.0, seed=seed))[0][0].text for seed in (1, 2)}
        again = client.generate(prompts[:1], SamplingParams(max_new_tokens=12, temperature=1.0,
                                                            seed=1))[0][0].text
    assert len(results) == 4
    assert all(1 <= r[0].tokens_out <= 6 for r in results)
    assert sampled[1] != sampled[2] and again == sampled[1]
