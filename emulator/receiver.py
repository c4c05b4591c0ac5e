"""A webhook consumer for tests: a local HTTP endpoint (in its own thread) that records every
notification it receives, answers with scripted statuses and delays, and checks signatures.
`url` is where the emulator should send; give `advertised_host` when that is not the bound
address (a receiver bound to 0.0.0.0 that an emulator in a container reaches as
`host.docker.internal`). With `forward_to` it passes each request on, unchanged, to a local app
and answers with the app's answer (as `stripe listen --forward-to` does)."""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from emulator.delivery.signing import verify
from emulator.delivery.specs import signature_spec
from emulator.engine.provider import load_providers
from emulator.server import LoopThread, start_site
from emulator.settings import local_url

# Headers that belong to one connection, not to the request: never forwarded.
HOP_BY_HOP = frozenset({"host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade",
                        "te", "trailer", "proxy-authorization", "proxy-connection"})
FORWARD_TIMEOUT = 30.0


# A receiver's answer to one request: a status, or (status, seconds to wait before answering).
Answer = int | tuple[int, float]


def _timed(answer: Answer) -> tuple[int, float]:
    return answer if isinstance(answer, tuple) else (answer, 0.0)


@dataclass
class Forwarded:
    """What the app a request was forwarded to answered: its `status` and `body`, or the `error`
    that kept it from answering."""

    url: str
    status: int | None = None
    body: bytes = b""
    content_type: str | None = None
    error: str | None = None


@dataclass
class Received:
    """One request the receiver got: `method`, `path` (with the query string), `headers` (looked
    up case-insensitively, as every HTTP library does; `headers.getall(name)` for a repeated one)
    and the exact `body` bytes; `json` parses the body."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    forwarded: Forwarded | None = None  # with `forward_to`: the app's answer

    def __post_init__(self) -> None:
        if not isinstance(self.headers, CIMultiDictProxy):
            self.headers = CIMultiDictProxy(CIMultiDict(self.headers))

    @property
    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class Receiver:
    """`Receiver().start()` (on a free port unless given); point webhooks at `url_for("/hook")`;
    read `received`. `on_receive` is called (on the receiver's thread) with each request; `status`
    is the answer when none is scripted, unless `decide` gives it from the request (a status, or
    (status, delay seconds)); `advertised_host` is the host name in `url` (default: the bound
    address, or 127.0.0.1 for an any-address bind). An exception `on_receive` or `decide` raises
    answers that request 500, is kept in `errors`, and is raised again by `wait_for`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 on_receive: Callable[[Received], None] | None = None, status: int = 200,
                 advertised_host: str | None = None, forward_to: str | None = None,
                 decide: Callable[[Received], Answer] | None = None) -> None:
        self.host = host
        self.advertised_host = advertised_host
        self.forward_to = forward_to
        self.status = status
        self.decide = decide
        self._wanted_port = port
        self._on_receive = on_receive
        self.port: int | None = None
        self.received: list[Received] = []
        self.errors: list[BaseException] = []
        self._script: deque[tuple[int, float]] = deque()
        self._thread: LoopThread | None = None
        self._runner: web.AppRunner | None = None
        self._providers: dict[str, Any] | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        """The base URL the emulator should send to: http://ADVERTISED_HOST:PORT."""
        return local_url(self.advertised_host or self.host, self._running_port())

    @property
    def local_url(self) -> str:
        """The base URL this machine reaches the receiver at (the bound address; the loopback for
        an any-address bind), whatever host is advertised."""
        return local_url(self.host, self._running_port())

    def _running_port(self) -> int:
        if self.port is None:
            raise RuntimeError("the receiver is not running")
        return self.port

    def url_for(self, path: str = "/") -> str:
        """An absolute URL on the receiver for the emulator to send to, e.g. url_for("/hooks/payments")."""
        return self.url + "/" + path.lstrip("/")

    def respond_with(self, *answers: Answer) -> None:
        """Answer the next requests in turn with these statuses (or (status, delay seconds));
        afterwards `decide`'s answer, or `status` (200 unless given)."""
        self._script.extend(map(_timed, answers))

    def _answer(self, received: Received) -> tuple[int, float]:
        """The next scripted answer, else `decide`'s for this request, else `status` at once."""
        if self._script:
            return self._script.popleft()
        return _timed(self.decide(received)) if self.decide is not None else (self.status, 0.0)

    async def _handle(self, request: web.Request) -> web.Response:
        received = Received(request.method, request.path_qs, request.headers, await request.read())
        if self.forward_to is not None:
            received.forwarded = await self._forward(received, self.forward_to)
        self.received.append(received)
        try:
            if self._on_receive is not None:
                self._on_receive(received)
            answer = self._answer(received) if received.forwarded is None else None
        except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # (the test's own code, pytest.fail too: kept for wait_for to raise)
            self.errors.append(exc)
            return web.Response(status=500, text=f"the receiver's on_receive or decide raised {exc!r}")
        if answer is None:
            forwarded = received.forwarded
            assert forwarded is not None
            if forwarded.status is None:
                return web.Response(status=502, text=f"forwarding to {forwarded.url} failed: {forwarded.error}")
            return web.Response(status=forwarded.status, body=forwarded.body,
                                headers={"Content-Type": forwarded.content_type} if forwarded.content_type else None)
        status, delay = answer
        if delay:
            await asyncio.sleep(delay)
        return web.Response(status=status)

    async def _forward(self, received: Received, url: str) -> Forwarded:
        """Send `received` on to `url`: the same method, headers and body bytes."""
        assert self._session is not None
        headers = [(k, v) for k, v in received.headers.items() if k.lower() not in HOP_BY_HOP]
        try:
            async with self._session.request(received.method, url, data=received.body, headers=headers,
                                             skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent",
                                                                "Content-Type"),
                                             allow_redirects=False,
                                             timeout=aiohttp.ClientTimeout(total=FORWARD_TIMEOUT)) as answer:
                return Forwarded(url, answer.status, await answer.read(), answer.headers.get("Content-Type"))
        except TimeoutError:
            return Forwarded(url, error=f"no answer within {FORWARD_TIMEOUT:g} s")
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return Forwarded(url, error=f"{type(exc).__name__}: {exc}")

    async def _client_session(self, app: web.Application) -> AsyncIterator[None]:
        self._session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        yield
        await self._session.close()
        self._session = None

    def start(self) -> Receiver:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        if self.forward_to is not None:
            app.cleanup_ctx.append(self._client_session)
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
        self.errors.clear()
        self._script.clear()

    def wait_for(self, count: int = 1, timeout: float = 5.0, path: str | None = None) -> list[Received]:
        """Block until `count` requests (to `path`, if given) have arrived; TimeoutError otherwise.
        An exception `on_receive` or `decide` raised is raised here."""
        deadline = time.monotonic() + timeout
        while True:
            if self.errors:
                raise self.errors[0]
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
