"""Shared test helpers: an HTTP client for an in-process emulator that checks every response
body against the provider's JSON Schema for that route (or its error schema)."""

from __future__ import annotations

import json
import queue
import socket
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import IO, Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from yarl import URL

from emulator import Emulator, Settings, create_app
from emulator.client import EmulatorClient
from emulator.engine.routing import Match, normalise_path
from emulator.pytest_plugin import EmulatorHandle
from emulator.receiver import Receiver
from emulator.state import STATE

# pytester runs real test files that use the plugin (tests/test_pytest_plugin.py, test_readme.py).
pytest_plugins = ["pytester"]
# The fixtures of end-to-end tests: a test using one is marked `slow`, which the inner loop
# (`python -m pytest -m "not slow"`) leaves out; the README's test command (and CI) runs them all.
SLOW_FIXTURES = {"pytester", "browser"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@dataclass
class Answer:
    """What a client saw: status, headers, raw body and parsed JSON (None when empty)."""

    status: int
    headers: Any
    raw: bytes
    json: Any


class Api:
    """Requests against one emulator; every JSON answer is validated against its schema."""

    def __init__(self, client: TestClient, app: web.Application) -> None:
        self.client = client
        self.app = app
        self.state = app[STATE]

    async def request(self, method: str, path: str, *, validate: bool = True, **kwargs: Any) -> Answer:
        """One request; `path` may be anything a client could send (`//x`, a trailing `%20`, `?`)."""
        server = self.client.server
        url = URL(f"{server.scheme}://{server.host}:{server.port}{path}", encoded=True)
        response = await self.client.session.request(method, url, allow_redirects=False, **kwargs)
        raw = await response.read()
        assert response.headers.get("Content-Type", "application/json").startswith("application/json") or not raw
        body = json.loads(raw) if raw else None
        answer = Answer(response.status, response.headers, raw, body)
        if validate and raw:
            self.check_schema(method, path, kwargs.get("headers") or {}, answer)
        return answer

    def check_schema(self, method: str, path: str, headers: dict[str, str], answer: Answer) -> None:
        """Validate the body against the route's response schema, or the provider's error schema."""
        router = self.state.router
        clean = normalise_path(path)
        provider = router.owner(clean)
        if provider is None:
            return
        if answer.status >= 400:
            schema = provider.errors.schema
        else:
            resolved = router.resolve(method, clean, headers)
            if not isinstance(resolved, Match):
                return
            schema = resolved.route.response_schema
            provider = resolved.provider
        assert schema, f"{provider.name}: no schema for {method} {path} ({answer.status})"
        errors = sorted(provider.validator(schema).iter_errors(answer.json), key=str)
        assert not errors, f"{method} {path} -> {answer.status} breaks {schema}: {errors[0].message}"

    async def get(self, path: str, **kw: Any) -> Answer:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, **kw: Any) -> Answer:
        return await self.request("POST", path, **kw)

    async def put(self, path: str, **kw: Any) -> Answer:
        return await self.request("PUT", path, **kw)

    async def patch(self, path: str, **kw: Any) -> Answer:
        return await self.request("PATCH", path, **kw)

    async def delete(self, path: str, **kw: Any) -> Answer:
        return await self.request("DELETE", path, **kw)


MakeApi = Callable[..., Awaitable[Api]]


def free_port() -> int:
    """A local TCP port nothing listens on (just now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Output:
    """A child's output, read line by line on a thread of its own (one per stream, so that reading
    it several times loses no line)."""

    def __init__(self, stream: IO[str]) -> None:
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line)
        self._lines.put(None)

    def next_with(self, needle: str, timeout: float = 30.0) -> str:
        """The next line holding `needle`; fails the test if none comes within `timeout` seconds (a
        hung child) or the output ends first."""
        seen: list[str] = []
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                pytest.fail(f"no line with {needle!r} within {timeout:g} s; got {seen!r}")
            if line is None:
                pytest.fail(f"the output ended without a line with {needle!r}; got {seen!r}")
            if needle in line:
                return line
            seen.append(line)


def line_with(stream: IO[str], needle: str, timeout: float = 30.0) -> str:
    """The first line of a child's output that holds `needle` (see Output), for a stream read once."""
    return Output(stream).next_with(needle, timeout)


@pytest.fixture
def make_api(aiohttp_client: Any) -> MakeApi:
    """`await make_api(seed=1, strict=True, ...)`: a fresh emulator with those settings."""

    async def make(**settings: Any) -> Api:
        app = create_app(Settings(**settings))
        client = await aiohttp_client(app)
        return Api(client, app)

    return make


@pytest.fixture
async def api(make_api: MakeApi) -> Api:
    """A fresh emulator with default settings."""
    return await make_api()


@pytest.fixture
def receiver(webhook_receiver: Receiver) -> Receiver:
    """The package's own `webhook_receiver` fixture (emulator/pytest_plugin.py), by the suite's short name."""
    return webhook_receiver


@pytest.fixture
def emulator(webhook_emulator_pool: Callable[..., EmulatorHandle]) -> Emulator:
    """An in-process emulator (time scale 0.001) from the plugin's `webhook_emulator_pool`: shared by
    the tests that use it, reset before each. A module that needs other settings overrides this
    fixture with its own pool call; a test that stops or breaks its emulator takes
    `webhook_emulator_factory`."""
    return in_process(webhook_emulator_pool(time_scale=0.001))


def in_process(handle: EmulatorHandle) -> Emulator:
    """The in-process emulator behind a pool's or factory's handle."""
    assert handle.emulator is not None
    return handle.emulator


@pytest.fixture
def client(emulator: Emulator) -> EmulatorClient:
    """The control client of the test's `emulator` (reset before the test)."""
    return emulator.client
