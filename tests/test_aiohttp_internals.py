"""The aiohttp internals the emulator relies on (emulator/aiohttp_internals.py), each named and
exercised against the installed aiohttp, so that an upgrade that moves one fails here by name."""

from __future__ import annotations

import asyncio
import inspect

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_urldispatcher import PlainResource

from emulator import aiohttp_internals as internals

# The four internals, as the module's docstring lists them (a test below exercises each).
FENCED = ("Application._handle", "PlainResource._match", "the server class swap", "RequestHandler` construction")


async def ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def test_the_module_names_each_internal_it_fences() -> None:
    doc = " ".join((inspect.getdoc(internals) or "").split())
    assert [name for name in FENCED if name not in doc] == []


async def test_application_handle_serves_a_request_of_the_app() -> None:
    app = web.Application()
    app.router.add_get("/here", ok)
    app.freeze()
    answer = await internals.app_handler(app)(make_mocked_request("GET", "/here", app=app))
    assert answer.status == 200 and answer.text == "ok"
    with pytest.raises(web.HTTPNotFound):  # (what app.answer_any_target catches)
        await internals.app_handler(app)(make_mocked_request("GET", "/elsewhere", app=app))


async def test_plain_resource_match_is_overridden_to_take_every_path() -> None:
    assert inspect.signature(PlainResource._match).parameters.keys() == {"self", "path"}
    app = web.Application()
    app.router.add_get("/control", ok)
    every = internals.EveryPathResource("/")
    app.router.register_resource(every)
    every.add_route("*", ok)
    app.freeze()
    for path in ("/", "/any/thing", "/with%0Anewline"):
        match = await app.router.resolve(make_mocked_request("POST", path, app=app))
        assert match.route.resource is every, path
    control = await app.router.resolve(make_mocked_request("GET", "/control", app=app))
    assert control.route.resource is not every


class CountingHandler(RequestHandler):
    made = 0

    def __init__(self, *args: object, **kwargs: object) -> None:
        CountingHandler.made += 1
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]


class CountingServer(web.Server):
    def __call__(self) -> RequestHandler:
        return internals.new_request_handler(self, CountingHandler)


async def test_the_server_class_swap_and_request_handler_construction_serve_connections() -> None:
    app = web.Application(handler_args={"max_line_size": 12345})
    app.router.add_get("/", ok)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    try:
        server = internals.use_server_class(runner, CountingServer)
        assert type(runner.server) is CountingServer and server is runner.server
        handler = internals.new_request_handler(server, CountingHandler)
        assert isinstance(handler, CountingHandler) and internals.handler_server(handler) is server
        internals.detach_handler(handler)
        assert internals.handler_server(handler) is None
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        before = CountingHandler.made
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), 10)
        assert status.startswith(b"HTTP/1.1 200") and CountingHandler.made == before + 1
        assert internals.open_connections(server) == 1
        writer.close()
        await writer.wait_closed()
    finally:
        await runner.cleanup()
