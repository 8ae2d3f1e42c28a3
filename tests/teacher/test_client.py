"""ChatClient against a real local server through the fault proxy: retries and failures."""

from __future__ import annotations

import asyncio
import time

import pytest

from slm_math.config.params import TeacherParams
from slm_math.teacher import ChatClient, RetriesExhausted, TeacherAuthError, TeacherConfigError
from slm_math.teacher.cotgen import api_key

MESSAGES = [{"role": "user", "content": "What is 2 + 2?"}]
SAMPLING = {"max_tokens": 8, "temperature": 0.0, "seed": 1}


def complete(proxy, schedule, **options):
    """One request through the proxy with `schedule`; (result, seconds, client stats)."""
    proxy.reset(schedule)
    settings = {"concurrency": 2, "timeout_s": 30.0, "max_retries": 3, "backoff_s": 0.01,
                "backoff_max_s": 5.0, **options}

    async def go():
        client = ChatClient(name="t", base_url=proxy.base_url, model=proxy.model, api_key="k",
                            **settings)
        try:
            start = time.perf_counter()
            result = await client.complete(MESSAGES, SAMPLING)
            return result, time.perf_counter() - start, client.stats
        finally:
            await client.close()
    return asyncio.run(go())


@pytest.fixture()
def served(proxy, tiny_model_dir):
    proxy.model = tiny_model_dir
    return proxy


def test_plain_request_returns_text_and_usage(served):
    result, _, stats = complete(served, [])
    assert result.error is None or result.error == "empty response"
    assert result.tokens_in > 0 and 0 < result.tokens_out <= 8
    assert result.finish_reason in ("stop", "length")
    assert stats["requests"] == 1 and len(served.requests) == 1


def test_429_waits_for_retry_after(served):
    result, seconds, stats = complete(served, ["429:1.5"])
    assert result.tokens_out > 0
    assert stats["http_429"] == 1 and len(served.requests) == 2
    assert seconds >= 1.5  # backoff_s is 0.01: only Retry-After explains the wait


@pytest.mark.parametrize("fault, counter", [("500", "http_500"), ("503", "http_503"),
                                            ("drop", "connection_errors")])
def test_transient_failures_are_retried(served, fault, counter):
    result, _, stats = complete(served, [fault, fault])
    assert result.tokens_out > 0
    assert stats[counter] == 2 and len(served.requests) == 3


def test_slow_response_times_out_and_is_retried(served):
    result, seconds, stats = complete(served, ["slow:5"], timeout_s=1.0)
    assert result.tokens_out > 0
    assert stats["timeouts"] == 1 and len(served.requests) == 2
    assert seconds < 5


def test_other_4xx_is_a_failed_attempt_without_retry(served):
    result, _, stats = complete(served, ["status:400"])
    assert result.text == "" and "400" in result.error
    assert len(served.requests) == 1 and stats["rejected"] == 1


def test_retries_are_bounded(served):
    with pytest.raises(RetriesExhausted, match="500 after 2 retries"):
        complete(served, ["500"] * 10, max_retries=2)
    assert len(served.requests) == 3


@pytest.mark.parametrize("status, error", [(401, TeacherAuthError), (403, TeacherAuthError),
                                           (404, TeacherConfigError)])
def test_rejected_key_or_unknown_model_stops(served, status, error):
    with pytest.raises(error, match=str(status)):
        complete(served, [f"status:{status}"])
    assert len(served.requests) == 1


@pytest.mark.parametrize("spoil, message", [
    ("empty", "empty response"), ("huge", "response too long"),
    ("badutf8", "not valid UTF-8"), ("notjson", "malformed response")])
def test_malformed_responses_are_failed_attempts(served, spoil, message):
    result, _, stats = complete(served, [spoil])
    assert message in result.error
    assert len(result.text) <= 100_000
    assert stats["malformed"] == 1 and len(served.requests) == 1


def test_missing_key_is_a_clear_stop(monkeypatch):
    monkeypatch.delenv("SLM_MATH_TEST_KEY", raising=False)
    teacher = TeacherParams(name="api", base_url="http://127.0.0.1:9/v1", model="m",
                            api_key_env="SLM_MATH_TEST_KEY")
    with pytest.raises(TeacherAuthError, match=r"\$SLM_MATH_TEST_KEY is not set"):
        api_key(teacher)
    monkeypatch.setenv("SLM_MATH_TEST_KEY", "sk-test")
    assert api_key(teacher) == "sk-test"
