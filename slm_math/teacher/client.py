"""An async chat client for one OpenAI-compatible teacher: bounded concurrency, retries.

Retried (tenacity, exponential backoff with full jitter, a server's Retry-After honored up
to `backoff_max_s`): 429, 408, 5xx, timeouts and dropped connections. Not retried: other
4xx, which become a failed attempt, except 401/403 (`TeacherAuthError`) and 404
(`TeacherConfigError`), which stop the run: every later request would fail the same way.
A response that is not what an OpenAI server sends (not JSON, not UTF-8, no choices) is a
failed attempt with its `error`, never a crash.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from collections import Counter
from dataclasses import asdict, dataclass

import openai
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential


class TeacherAuthError(RuntimeError):
    """The API key is missing or rejected: the run stops."""


class TeacherConfigError(RuntimeError):
    """The teacher's URL or model does not exist: the run stops."""


class RetriesExhausted(RuntimeError):
    """A request kept failing with transient errors; the attempt stays open for a re-run."""


@dataclass
class ChatResult:
    """One answered request (or one that failed for good): what the cache stores."""

    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    finish_reason: str | None = None
    latency_s: float = 0.0
    error: str | None = None

    def to_dict(self) -> dict:
        """As a plain dict (cache entry)."""
        return asdict(self)


def _status(err: BaseException) -> int | None:
    return getattr(err, "status_code", None)


def is_transient(err: BaseException) -> bool:
    """Whether a failed request may succeed if sent again."""
    if isinstance(err, (openai.APITimeoutError, openai.APIConnectionError)):
        return True
    status = _status(err)
    return status is not None and (status in (408, 429) or status >= 500)


def retry_after_s(err: BaseException | None) -> float | None:
    """Seconds a server asked us to wait (Retry-After: seconds or an HTTP date), if any."""
    response = getattr(err, "response", None)
    if response is None:
        return None
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value) if value.strip() else None
        return None if when is None else max(0.0, when.timestamp() - time.time())


class _WaitRetryAfterOrBackoff:
    """tenacity wait: the server's Retry-After (plus a little jitter), else exponential backoff."""

    def __init__(self, initial_s: float, max_s: float):
        self.max_s = max_s
        self.backoff = wait_random_exponential(multiplier=initial_s, max=max_s)

    def __call__(self, state) -> float:
        hint = retry_after_s(state.outcome.exception() if state.outcome else None)
        if hint is not None:
            return min(self.max_s, hint + random.uniform(0, 0.1 * hint + 0.05))
        return self.backoff(state)


def parse_completion(body: bytes, *, max_text_chars: int) -> ChatResult:
    """A chat completion response body as a `ChatResult`; anything malformed sets `error`."""
    try:
        decoded = body.decode("utf-8")
        error = None
    except UnicodeDecodeError as err:
        decoded, error = body.decode("utf-8", errors="replace"), f"response is not valid UTF-8 ({err.reason})"
    try:
        data = json.loads(decoded)
        choice = data["choices"][0]
        text = choice["message"].get("content") or ""
        usage = data.get("usage") or {}
        finish = choice.get("finish_reason")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as err:
        return ChatResult(text="", error=error or f"malformed response: {type(err).__name__}: {err}"[:300])
    if not isinstance(text, str):
        return ChatResult(text="", error="malformed response: content is not a string")
    if error is None and not text.strip():
        error = "empty response"
    if len(text) > max_text_chars:
        error = error or f"response too long ({len(text)} chars > {max_text_chars})"
        text = text[:max_text_chars]
    return ChatResult(text=text, tokens_in=int(usage.get("prompt_tokens") or 0),
                      tokens_out=int(usage.get("completion_tokens") or 0),
                      finish_reason=finish, error=error)


class ChatClient:
    """Chat completions from one teacher, at most `concurrency` requests in flight."""

    def __init__(self, *, name: str, base_url: str, model: str, api_key: str,
                 concurrency: int = 4, timeout_s: float = 120.0, max_retries: int = 6,
                 backoff_s: float = 1.0, backoff_max_s: float = 60.0,
                 max_text_chars: int = 100_000):
        self.name, self.model = name, model
        self._client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key,
                                          timeout=timeout_s, max_retries=0)
        self._slots = asyncio.Semaphore(concurrency)
        self.max_retries, self.max_text_chars = max_retries, max_text_chars
        self._wait = _WaitRetryAfterOrBackoff(backoff_s, backoff_max_s)
        self.stats: Counter[str] = Counter()

    async def complete(self, messages: list[dict], sampling: dict) -> ChatResult:
        """One chat completion; transient failures are retried, then `RetriesExhausted`."""
        retrying = AsyncRetrying(retry=retry_if_exception(is_transient), wait=self._wait,
                                 stop=stop_after_attempt(self.max_retries + 1), reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._send(messages, sampling)
        except openai.APIStatusError as err:
            status = _status(err)
            if status in (401, 403):
                raise TeacherAuthError(
                    f"teacher {self.name!r}: the API key was rejected ({status}): {_brief(err)}") from None
            if status == 404:
                raise TeacherConfigError(
                    f"teacher {self.name!r}: model {self.model!r} or the URL was not found "
                    f"(404): {_brief(err)}") from None
            if is_transient(err):
                raise RetriesExhausted(f"teacher {self.name!r}: {status} after "
                                       f"{self.max_retries} retries: {_brief(err)}") from None
            self.stats["rejected"] += 1
            return ChatResult(text="", error=f"request rejected ({status}): {_brief(err)}")
        except (openai.APITimeoutError, openai.APIConnectionError) as err:
            raise RetriesExhausted(f"teacher {self.name!r}: {type(err).__name__} after "
                                   f"{self.max_retries} retries") from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(self, messages: list[dict], sampling: dict) -> ChatResult:
        async with self._slots:
            self.stats["requests"] += 1
            start = time.perf_counter()
            try:
                raw = await self._client.chat.completions.with_raw_response.create(
                    model=self.model, messages=messages, **_request_fields(sampling))
                body = raw.content
            except Exception as err:
                self.stats[_kind(err)] += 1
                raise
            result = parse_completion(body, max_text_chars=self.max_text_chars)
            result.latency_s = round(time.perf_counter() - start, 4)
            self.stats["malformed" if result.error else "ok"] += 1
            return result

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self._client.close()


def _request_fields(sampling: dict) -> dict:
    fields = {k: v for k, v in sampling.items() if k != "extra_body" and v is not None}
    if sampling.get("extra_body"):
        fields["extra_body"] = sampling["extra_body"]
    return fields


def _kind(err: BaseException) -> str:
    if isinstance(err, openai.APITimeoutError):
        return "timeouts"
    if isinstance(err, openai.APIConnectionError):
        return "connection_errors"
    status = _status(err)
    return f"http_{status}" if status else type(err).__name__


def _brief(err: openai.APIStatusError) -> str:
    return str(getattr(err, "message", err))[:200]
