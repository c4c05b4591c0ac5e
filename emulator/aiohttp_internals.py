"""Every place the emulator reaches past aiohttp's public API, in one module, so that an aiohttp
upgrade has one file to check (tests/test_aiohttp_internals.py names and exercises each). They are:

1. `Application._handle`: the coroutine an AppRunner's server calls for each request
   (`app_handler`; app.answer_any_target wraps it);
2. `PlainResource._match`: a resource's path test (`EveryPathResource` matches every path);
3. the server class swap: an AppRunner's `web.Server` given a subclass of ours after `setup()`
   (`use_server_class`; aiohttp has no option for its connection handler's class);
4. `RequestHandler` construction: how a `web.Server` builds a connection's handler, with the
   server's own arguments (`new_request_handler`), and the handler's link back to its server
   (`handler_server`, `detach_handler`, `open_connections`).

aiohttp is bounded below its next major version in pyproject.toml for their sake."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
S = TypeVar("S", bound=web.Server)


def app_handler(app: web.Application) -> Handler:
    """What aiohttp's server calls for each request of `app` (routing, middlewares, the handler)."""
    return app._handle


class EveryPathResource(web.PlainResource):
    """A plain resource that matches every path, without a regular expression."""

    def _match(self, path: str) -> dict[str, str]:
        return {}


def use_server_class(runner: web.AppRunner, server_class: type[S]) -> S:
    """Make the set-up `runner`'s server an instance of `server_class` (a web.Server subclass
    adding no state of its own but class attributes), and return it."""
    server = runner.server
    if server is None:
        raise RuntimeError("the runner is not set up")
    server.__class__ = server_class
    return server  # type: ignore[return-value]  # (its class is server_class now)


def new_request_handler(server: web.Server, handler_class: type[RequestHandler]) -> RequestHandler:
    """A connection handler of `handler_class` for `server`, made as aiohttp makes its own."""
    return handler_class(server, loop=server._loop, **server._kwargs)


def handler_server(handler: RequestHandler) -> web.Server | None:
    """The server a connection handler belongs to (None once detached)."""
    return handler._manager


def detach_handler(handler: RequestHandler) -> None:
    """Unlink a handler from its server, so that closing its connection has nothing to undo there."""
    handler._manager = None


def open_connections(server: web.Server) -> int:
    """How many connections `server` has open."""
    return len(server._connections)
