"""A minimal OpenAI-compatible HTTP server over any `Generator` (by default the hf backend).

Endpoints: POST /v1/chat/completions, POST /v1/completions (non-streaming), GET /v1/models
(with `max_model_len`), GET /health, GET /stats (requests served, most at once; ?reset=true restarts the count).
Requests that arrive while a batch is generating wait and then go together into the next
`generate` call (one call per distinct set of sampling parameters), so throughput grows
with concurrency. n, seed, stop, max_tokens, temperature and top_p mean what they mean in
`SamplingParams`; the hf backend's seeded sampling makes a seeded request reproducible
whatever else shares its batch.

    python -m slm_math.generation.server --model models/base --port 8000 [--device cpu]

Why not `transformers serve`: it rejects `n` and seeds through one global torch seed, so
concurrent seeded requests are not reproducible. `LocalServer(command=...)` still runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
import uuid
from typing import Any

# at module level: FastAPI resolves the handlers' string annotations (Request) in this namespace
from fastapi import FastAPI, HTTPException, Request

from .base import Generator
from .params import Completion, Prompt, SamplingParams


class BatchingEngine:
    """Collects concurrent requests and runs them through one generator, batch after batch."""

    def __init__(self, generator: Generator):
        self.generator = generator
        self.pending: list[tuple[Prompt, SamplingParams, asyncio.Future]] = []
        self.wakeup = asyncio.Event()
        self.in_flight = 0
        self.max_in_flight = 0
        self.served = 0
        self.worker: asyncio.Task | None = None
        self._lock = threading.Lock()  # generation is not reentrant

    async def submit(self, prompt: Prompt, params: SamplingParams) -> list[Completion]:
        """Queue one prompt; return its n completions once its batch has run."""
        if self.worker is None:
            self.worker = asyncio.get_running_loop().create_task(self._run())
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self.pending.append((prompt, params, future))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.wakeup.set()
        try:
            return await future
        finally:
            self.in_flight -= 1
            self.served += 1

    async def _run(self) -> None:
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            batch, self.pending = self.pending, []
            groups: dict[tuple, list] = {}
            for item in batch:
                p = item[1]
                key = (p.temperature, p.top_p, p.max_new_tokens, p.n, p.seed, tuple(p.stop))
                groups.setdefault(key, []).append(item)
            for items in groups.values():
                prompts = [prompt for prompt, _, _ in items]
                try:
                    results = await asyncio.to_thread(self._generate, prompts, items[0][1])
                except Exception as e:  # the callers get the error; the server lives on
                    for *_, future in items:
                        if not future.done():
                            future.set_exception(e)
                    continue
                for (*_, future), completions in zip(items, results):
                    if not future.done():
                        future.set_result(completions)

    def _generate(self, prompts: list[Prompt], params: SamplingParams) -> list[list[Completion]]:
        with self._lock:
            return self.generator.generate(prompts, params)


def _params(body: dict[str, Any]) -> SamplingParams:
    """SamplingParams from an OpenAI request body (OpenAI's defaults: temperature 1, 16 tokens)."""

    def get(key: str, default: Any) -> Any:
        return default if body.get(key) is None else body[key]

    stop = get("stop", [])
    return SamplingParams(
        temperature=float(get("temperature", 1.0)),
        top_p=float(get("top_p", 1.0)),
        max_new_tokens=int(get("max_tokens", get("max_completion_tokens", 16))),
        n=int(get("n", 1)),
        seed=body.get("seed"),
        stop=[stop] if isinstance(stop, str) else list(stop),
    )


def _usage(prompt_tokens: int, completions: list[Completion]) -> dict[str, int]:
    out = sum(c.tokens_out for c in completions)
    return {"prompt_tokens": prompt_tokens, "completion_tokens": out, "total_tokens": prompt_tokens + out}


def create_app(generator: Generator, model_name: str) -> Any:
    """The FastAPI app serving `generator` under the model name `model_name`."""
    app = FastAPI(title="slm-math generation server")
    engine = BatchingEngine(generator)
    app.state.engine = engine

    async def parse(request: Request) -> tuple[dict, SamplingParams]:
        body = await request.json()
        if body.get("stream"):
            raise HTTPException(400, "streaming is not supported by this server")
        try:
            return body, _params(body)
        except (TypeError, ValueError) as e:
            raise HTTPException(400, f"bad sampling parameters: {e}") from None

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/stats")
    async def stats(reset: bool = False) -> dict:
        """Requests served, in flight, and most in flight at once (since start or the last reset)."""
        out = {"served": engine.served, "in_flight": engine.in_flight, "max_in_flight": engine.max_in_flight}
        if reset:
            engine.max_in_flight = engine.in_flight
        return out

    @app.get("/v1/models")
    async def models() -> dict:
        return {"object": "list", "data": [_model_card(model_name, generator)]}

    @app.get("/v1/models/{name:path}")
    async def model(name: str) -> dict:
        return _model_card(name, generator)

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> dict:
        body, params = await parse(request)
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise HTTPException(400, "messages must be a non-empty list")
        completions = await engine.submit(messages, params)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion",
            "created": int(time.time()), "model": body.get("model", model_name),
            "choices": [
                {"index": k, "message": {"role": "assistant", "content": c.text},
                 "finish_reason": c.finish_reason, "logprobs": None}
                for k, c in enumerate(completions)
            ],
            "usage": _usage(completions[0].tokens_in, completions),
        }

    @app.post("/v1/completions")
    async def complete(request: Request) -> dict:
        body, params = await parse(request)
        prompt = body.get("prompt")
        prompts = [prompt] if isinstance(prompt, str) else prompt
        if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
            raise HTTPException(400, "prompt must be a string or a list of strings")
        results = await asyncio.gather(*(engine.submit(p, params) for p in prompts))
        choices, usage = [], {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        for completions in results:
            for c in completions:
                choices.append({"index": len(choices), "text": c.text,
                                "finish_reason": c.finish_reason, "logprobs": None})
            for key, value in _usage(completions[0].tokens_in, completions).items():
                usage[key] += value
        return {
            "id": f"cmpl-{uuid.uuid4().hex}", "object": "text_completion",
            "created": int(time.time()), "model": body.get("model", model_name),
            "choices": choices, "usage": usage,
        }

    return app


def _model_card(name: str, generator: Generator) -> dict:
    return {"id": name, "object": "model", "created": 0, "owned_by": "slm-math",
            "max_model_len": generator.context_length}


def main(argv: list[str] | None = None) -> None:
    """Serve a model over HTTP until interrupted (see the module docstring)."""
    ap = argparse.ArgumentParser(description="OpenAI-compatible server over an slm_math generator")
    ap.add_argument("--model", required=True, help="model folder or name")
    ap.add_argument("--served-name", default=None, help="model name clients use (default: --model)")
    ap.add_argument("--backend", default="hf", help="generation backend (default hf)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--device", default=None)
    ap.add_argument("--dtype", default=None)
    ap.add_argument("--gguf-file", default=None)
    ap.add_argument("--batch-size", type=int, default=None)
    args = ap.parse_args(argv)

    import uvicorn

    from .registry import load_generator

    options = {k: v for k, v in dict(device=args.device, dtype=args.dtype, gguf_file=args.gguf_file,
                                     batch_size=args.batch_size).items() if v is not None}
    if args.backend == "hf":
        options["progress"] = False
    generator = load_generator(args.backend, args.model, **options)
    app = create_app(generator, args.served_name or args.model)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
