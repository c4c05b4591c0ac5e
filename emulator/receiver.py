"""A webhook consumer for tests: a local HTTP endpoint (in its own thread) that records every
notification it receives, answers with scripted statuses and delays, and checks signatures."""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from emulator.delivery.dispatcher import signature_spec
from emulator.delivery.signing import verify
from emulator.engine.provider import load_providers
from emulator.server import LoopThread, start_site


@dataclass
class Received:
    """One request the receiver got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """`Receiver().start()` (on a free port unless given); point webhooks at `url_for("/hook")`;
    read `received`. `on_receive` is called (on the receiver's thread) with each request; `status`
    is the answer when none is scripted."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 on_receive: Callable[[Received], None] | None = None, status: int = 200) -> None:
        self.host = host
        self.status = status
        self._wanted_port = port
        self._on_receive = on_receive
        self.port: int | None = None
        self.received: list[Received] = []
        self._script: deque[tuple[int, float]] = deque()
        self._thread: LoopThread | None = None
        self._runner: web.AppRunner | None = None
        self._providers: dict[str, Any] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the receiver is not running")
        return f"http://{self.host}:{self.port}"

    def url_for(self, path: str = "/") -> str:
        """An absolute URL on the receiver, e.g. url_for("/hooks/payments")."""
        return self.url + "/" + path.lstrip("/")

    def respond_with(self, *answers: int | tuple[int, float]) -> None:
        """Answer the next requests in turn with these statuses (or (status, delay seconds));
        afterwards `status` (200 unless given)."""
        self._script.extend(a if isinstance(a, tuple) else (a, 0.0) for a in answers)

    async def _handle(self, request: web.Request) -> web.Response:
        received = Received(request.method, request.path_qs, dict(request.headers), await request.read())
        self.received.append(received)
        if self._on_receive is not None:
            self._on_receive(received)
        status, delay = self._script.popleft() if self._script else (self.status, 0.0)
        if delay:
            await asyncio.sleep(delay)
        return web.Response(status=status)

    def start(self) -> Receiver:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._thread = LoopThread("webhook-receiver")
        # A test receiver stops at once, even while a scripted slow answer is still pending.
        self._runner, self.port = self._thread.run(start_site(app, self.host, self._wanted_port, 0.5))
        return self

    def stop(self) -> None:
        if self._thread is not None and self._runner is not None:
            self._thread.run(self._runner.cleanup(), timeout=30)
            self._thread.stop()
        self._thread = None
        self.port = None

    def clear(self) -> None:
        """Forget what was received and any scripted answers."""
        self.received.clear()
        self._script.clear()

    def wait_for(self, count: int = 1, timeout: float = 5.0, path: str | None = None) -> list[Received]:
        """Block until `count` requests (to `path`, if given) have arrived; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.received if path is None or r.path == path]
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{len(found)} of {count} requests arrived within {timeout} s")
            time.sleep(0.005)

    async def wait_for_async(self, count: int = 1, timeout: float = 5.0, path: str | None = None) -> list[Received]:
        """`wait_for` for async tests."""
        return await asyncio.to_thread(self.wait_for, count, timeout, path)

    def verify(self, provider: str, received: Received, secret: Any, tolerance: int = 300) -> bool:
        """Whether `received` carries `provider`'s valid signature for `secret` (a JWK for
        JWT-signing providers), as a careful consumer would check it."""
        if self._providers is None:
            self._providers = load_providers([])
        spec = signature_spec(self._providers[provider])
        return verify(spec, received.body, received.headers, secret, int(time.time()), tolerance)

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
