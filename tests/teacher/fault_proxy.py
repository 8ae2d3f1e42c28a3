"""A real HTTP proxy that injects faults in front of a real OpenAI-compatible server.

Each request takes the next action from `schedule` (then `default`):
  ok            forward as is
  429:S         answer 429 with `Retry-After: S`
  500 / 503     answer that status (also `status:N` for any N)
  drop          close the connection without a response
  slow:S        wait S seconds, then forward
  empty, nobox, huge, badutf8, notjson
                forward, then spoil the real answer: empty content, a box-less
                sentence, 5 MB of text, invalid UTF-8 bytes, a non-JSON body
The proxy runs an aiohttp server on its own event loop in a thread; `requests` logs
(action, request JSON) for every request it saw.
"""

from __future__ import annotations

import asyncio
import json
import threading

from aiohttp import ClientSession, ClientTimeout, web

from slm_math.generation.local_server import free_port


class FaultProxy:
    """`with FaultProxy(upstream) as proxy:` → `proxy.base_url` (ends in /v1)."""

    def __init__(self, upstream: str, default: str = "ok"):
        self.upstream = upstream.rstrip("/").removesuffix("/v1")
        self.default = default
        self.schedule: list[str] = []
        self.requests: list[tuple[str, dict]] = []
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def reset(self, schedule: list[str] | None = None, default: str = "ok") -> None:
        """New schedule, empty log."""
        self.schedule, self.default, self.requests = list(schedule or []), default, []

    def chat_requests(self) -> list[dict]:
        """The JSON bodies of the chat completion requests seen (in arrival order)."""
        return [body for _, body in self.requests]

    async def _start(self) -> None:
        self._session = ClientSession(timeout=ClientTimeout(total=600))
        app = web.Application(client_max_size=64 << 20)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _stop(self) -> None:
        await self._session.close()
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        action = self.schedule.pop(0) if self.schedule else self.default
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        self.requests.append((action, body))
        kind, _, arg = action.partition(":")
        error = json.dumps({"error": {"message": f"injected {action}"}})
        if kind == "429":
            return web.Response(status=429, text=error, content_type="application/json",
                                headers={"Retry-After": arg or "1"})
        if kind in ("500", "502", "503", "status"):
            return web.Response(status=int(arg if kind == "status" else kind), text=error,
                                content_type="application/json")
        if kind == "drop":
            request.transport.abort()
            raise ConnectionResetError("injected drop")
        if kind == "slow":
            await asyncio.sleep(float(arg or 1))
        async with self._session.request(request.method, self.upstream + request.path_qs, data=raw,
                                         headers={"Content-Type": "application/json"}) as upstream:
            status, data = upstream.status, await upstream.read()
        return web.Response(status=status, body=_spoil(kind, data), content_type="application/json")

    def __enter__(self) -> "FaultProxy":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(30)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def _spoil(kind: str, data: bytes) -> bytes:
    if kind == "notjson":
        return b"<html>502 bad gateway</html>"
    if kind not in ("empty", "nobox", "huge", "badutf8"):
        return data
    answer = json.loads(data)
    message = answer["choices"][0]["message"]
    message["content"] = {"empty": "", "nobox": "Let me think about this one.",
                          "huge": "7 " * 2_500_000, "badutf8": "MARK"}[kind]
    out = json.dumps(answer).encode()
    return out.replace(b"MARK", b"\xff\xfe bad \xc3") if kind == "badutf8" else out
