"""The `openai` backend: any OpenAI-compatible server (OpenAI, vLLM, this package's server).

Chat prompts go to /v1/chat/completions, plain strings to /v1/completions, at most
`max_concurrency` requests at a time (an asyncio.Semaphore over an async client). n, seed,
stop, max_tokens, temperature and top_p are passed through; token counts come from the
response's usage. When n > 1 the server reports only the total of completion tokens; it is
split evenly over the n completions (the sum is exact).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Sequence
from typing import Any

from .base import Generator, check_prompts
from .params import Completion, Prompt, SamplingParams, cut_at_stop

LOCAL_API_KEY = "EMPTY"  # local servers want some key, and check none


class OpenAIGenerator(Generator):
    """Generation through an OpenAI-compatible HTTP API.

    model: the model name the server knows.
    base_url: e.g. "http://127.0.0.1:8000/v1"; None means OpenAI's own API.
    api_key_env: the NAME of the environment variable holding the key. Unset is fine for a
        server on localhost/127.0.0.1 (a placeholder key is sent); elsewhere it is an error.
    max_concurrency: most requests in flight at once.
    timeout_s, max_retries: per request, as the openai client takes them.
    tokenizer: a Hugging Face tokenizer name or folder, for exact `count_tokens`;
        without it counts are estimated (4 characters a token).
    context_length: the model's context; None asks the server (vLLM and our server say it).
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        max_concurrency: int = 8,
        timeout_s: float = 600.0,
        max_retries: int = 2,
        tokenizer: str | None = None,
        context_length: int | None = None,
    ):
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        self.model = model
        self.base_url = base_url
        self.max_concurrency = max_concurrency
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.api_key = os.environ.get(api_key_env)
        if not self.api_key:
            if base_url is None or not _is_local(base_url):
                raise ValueError(
                    f"the openai backend needs an API key in the environment variable {api_key_env!r} "
                    f"(for {base_url or 'the OpenAI API'})"
                )
            self.api_key = LOCAL_API_KEY
        if tokenizer:
            from transformers import AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(tokenizer)
        self._context_length = context_length
        self._asked_context = context_length is not None

    @property
    def context_length(self) -> int | None:  # type: ignore[override]
        """The model's context length, asked of the server once if not given."""
        if not self._asked_context:
            self._asked_context = True
            try:
                import openai

                client = openai.OpenAI(base_url=self.base_url, api_key=self.api_key, timeout=10, max_retries=0)
                card = client.models.retrieve(self.model)
                self._context_length = getattr(card, "max_model_len", None) or (card.model_extra or {}).get(
                    "max_model_len"
                )
            except Exception:
                self._context_length = None
        return self._context_length

    def generate(
        self, prompts: Sequence[Prompt], params: SamplingParams | None = None
    ) -> list[list[Completion]]:
        """See `Generator.generate`; runs the requests concurrently, results in prompt order."""
        check_prompts(prompts)
        return _run_sync(self.agenerate(list(prompts), params or SamplingParams()))

    async def agenerate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        """`generate` for callers already inside an event loop."""
        import openai

        limit = asyncio.Semaphore(self.max_concurrency)
        async with openai.AsyncOpenAI(
            base_url=self.base_url, api_key=self.api_key, timeout=self.timeout_s, max_retries=self.max_retries
        ) as client:
            async def one(prompt: Prompt) -> list[Completion]:
                async with limit:
                    return await self._request(client, prompt, params)

            try:
                return list(await asyncio.gather(*(one(p) for p in prompts)))
            except openai.APIConnectionError as e:
                raise ConnectionError(
                    f"cannot reach the OpenAI-compatible server at {self.base_url or 'api.openai.com'} "
                    f"(model {self.model!r}): {e}; is it running, and is base_url right?"
                ) from e

    async def _request(self, client: Any, prompt: Prompt, params: SamplingParams) -> list[Completion]:
        common = dict(
            model=self.model, n=params.n, temperature=params.temperature, top_p=params.top_p,
            max_tokens=params.max_new_tokens, stop=params.stop or None,
        )
        if params.seed is not None:
            common["seed"] = params.seed
        start = time.perf_counter()
        if isinstance(prompt, str):
            response = await client.completions.create(prompt=prompt, **common)
            texts = [c.text or "" for c in response.choices]
        else:
            response = await client.chat.completions.create(messages=list(prompt), **common)
            texts = [c.message.content or "" for c in response.choices]
        share = (time.perf_counter() - start) / max(1, len(response.choices))
        usage = response.usage
        tokens_in = usage.prompt_tokens if usage else self.count_tokens(prompt)
        total_out = usage.completion_tokens if usage else None
        completions = []
        for k, (choice, text) in enumerate(zip(response.choices, texts)):
            text, _ = cut_at_stop(text, params.stop)  # servers that echo the stop string
            if total_out is None:
                out = self.count_tokens(text)
            else:
                n = len(response.choices)
                out = total_out // n + (1 if k < total_out % n else 0)
            finish = "length" if choice.finish_reason == "length" else "stop"
            completions.append(Completion(text, tokens_in, out, finish, share))
        return sorted_by_index(completions, response.choices)


def sorted_by_index(completions: list[Completion], choices: Sequence[Any]) -> list[Completion]:
    """Completions in the order of their choice's `index` (servers may answer out of order)."""
    order = sorted(range(len(choices)), key=lambda k: getattr(choices[k], "index", k) or 0)
    return [completions[k] for k in order]


def _is_local(url: str) -> bool:
    from urllib.parse import urlparse

    return urlparse(url).hostname in {"127.0.0.1", "localhost", "::1"}


def _run_sync(coro: Any) -> Any:
    """Run a coroutine to completion, also when the caller is inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coro)
        except BaseException as e:  # re-raised in the caller's thread
            result["error"] = e

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]
