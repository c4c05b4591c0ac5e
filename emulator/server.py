"""Run an emulator in-process: `with Emulator() as emu:` or `async with Emulator() as emu:` (both
serve on a thread and loop of their own, so the blocking `emu.client` and the awaitable
`emu.aclient` both work), or `await emu.start_async()` to serve on the caller's own loop (then use
`emu.aclient`; `emu.state` is yours to inspect). `emu.url` is where it listens."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from http import HTTPStatus
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from emulator.aiohttp_internals import (
    detach_handler,
    handler_server,
    new_request_handler,
    open_connections,
    use_server_class,
)
from emulator.app import answer_any_target, create_app
from emulator.client import AsyncEmulatorClient, EmulatorClient
from emulator.engine.render import dump_json
from emulator.settings import Settings, local_url
from emulator.state import STATE, EmulatorState

T = TypeVar("T")


class LoopThread:
    """An event loop running in a daemon thread, for servers that must not share the caller's."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run `coroutine` on the thread's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=30)
        self.loop.close()


# What a connection past the server's bound is answered before it is closed.
BUSY_BODY = dump_json({"error": "unavailable", "message": "too many open connections; try again"})
BUSY = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n" \
    b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(BUSY_BODY), BUSY_BODY)


class JsonErrorHandler(RequestHandler):
    """aiohttp's connection handler, answering what it refuses before the app sees the request (a
    malformed request line, a method name it does not know, an over-long header) in JSON, as the
    app answers every other error; and a connection past the server's `max_connections` with a
    503 at once (then closed), without a word in the log."""

    _refused = False

    def connection_made(self, transport: Any) -> None:
        server = handler_server(self)
        if isinstance(server, JsonErrorServer) and open_connections(server) >= server.max_connections:
            self._refused = True
            detach_handler(self)  # (so that connection_lost has nothing to undo)
            transport.write(BUSY)
            transport.close()
            return
        super().connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            super().data_received(data)

    def handle_error(self, request: BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if status >= 500:  # a bug: its traceback
            self.log_exception("error handling a request from %s", request.remote, exc_info=exc)
            kind, text = "internal", "the emulator could not handle this request"
        else:  # a client's malformed request: nothing the emulator should be alarmed by
            self.logger.debug("malformed request from %s: %s", request.remote, " ".join(str(message or exc).split()))
            kind, text = "malformed_request", message or HTTPStatus(status).phrase
        if request.writer.output_size > 0:
            raise ConnectionError("the answer was being sent already: the connection is broken")
        response = web.Response(status=status, body=dump_json({"error": kind, "message": text}),
                                content_type="application/json")
        response.force_close()
        return response


class JsonErrorServer(web.Server):
    """An aiohttp server whose connections use JsonErrorHandler (at most `max_connections` open)."""

    max_connections = 1 << 30

    def __call__(self) -> RequestHandler:
        return new_request_handler(self, JsonErrorHandler)


async def start_site(app: web.Application, host: str, port: int, shutdown_timeout: float = 5.0
                     ) -> tuple[web.AppRunner, int]:
    """Serve `app` on host:port (0: a free port); returns the runner and the bound port. Stopping
    gives open requests at most `shutdown_timeout` seconds. An emulator's settings bound its open
    connections and the seconds a client has to send a request's headers (also how long an idle
    keep-alive connection stays open)."""
    settings = app[STATE].settings if STATE in app else None
    # (Past the body timeout, what is still coming of a body is read and ignored no longer than that.)
    timeouts: dict[str, Any] = {"keepalive_timeout": settings.header_timeout,
                                "lingering_time": min(10.0, settings.body_timeout)} if settings else {}
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=shutdown_timeout,
                           **timeouts)
    try:
        await runner.setup()
    except BaseException:  # (a start-up step failed: those that ran, the dispatcher's session, clean up)
        await runner.app.cleanup()
        raise
    # The runner's server, with JSON for the errors aiohttp answers itself (it has no option for that).
    server = use_server_class(runner, JsonErrorServer)
    if settings is not None:  # an emulator (start_site serves test receivers too)
        server.max_connections = settings.max_connections
        server.request_handler = answer_any_target(app)
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner, runner.addresses[0][1]


class Emulator:
    """One emulator on a TCP port (a free one by default). `client` speaks its control API
    (fire, deliveries, wait_for_delivery, reset...) with blocking calls; `aclient` has the same
    methods as coroutines, for async code."""

    def __init__(self, settings: Settings | None = None, **options: Any) -> None:
        if settings is None:
            settings = Settings(**{"port": 0, **options})
        self.settings = settings
        self.app: web.Application | None = None
        self._runner: web.AppRunner | None = None
        self._thread: LoopThread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321 (no trailing slash)."""
        if self.port is None:
            raise RuntimeError("the emulator is not running")
        return local_url(self.settings.host, self.port)

    @property
    def client(self) -> EmulatorClient:
        """A blocking control-API client for this emulator."""
        return EmulatorClient(self.url, token=self.settings.admin_token, loop=None if self._thread else self._loop)

    @property
    def aclient(self) -> AsyncEmulatorClient:
        """The control-API client for async code: the same methods, awaitable."""
        return self.client.aio

    @property
    def state(self) -> EmulatorState:
        """The running emulator's state (store, journal, dispatcher...)."""
        if self.app is None:
            raise RuntimeError("the emulator is not running")
        return self.app[STATE]

    async def start_async(self) -> Emulator:
        """Start on the running event loop (the caller's): use `aclient` from that loop, not `client`."""
        self.app = create_app(self.settings)
        self._runner, self.port = await start_site(self.app, self.settings.host, self.settings.port)
        self._loop = asyncio.get_running_loop()
        return self

    async def stop_async(self) -> None:
        """Stop: finish in-flight deliveries (bounded) and close the port."""
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = None
        self._loop = None
        self.port = None

    def start(self) -> Emulator:
        """Start in a background thread with its own event loop; returns once it listens."""
        self._thread = LoopThread("webhook-emulator")
        try:
            self._thread.run(self.start_async())
        except BaseException:
            self._thread.stop()
            self._thread = None
            raise
        return self

    def stop(self) -> None:
        """Stop the emulator started by start()."""
        if self._thread is not None:
            self._thread.run(self.stop_async(), timeout=60)
            self._thread.stop()
        self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Emulator:
        """Start on a thread of its own without blocking the caller's loop."""
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)
