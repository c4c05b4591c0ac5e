"""Slow and greedy clients: a request whose headers or body do not arrive in time is given up
(the headers: the connection closed; the body: a 408 in the provider's style), and connections
past the bound are answered 503 at once and closed, with nothing in the log."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
import requests

from emulator import Emulator
from emulator.pytest_plugin import EmulatorHandle
from tests.conftest import in_process


def connect(emulator: Emulator) -> socket.socket:
    parts = urlsplit(emulator.url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=20)
    return sock


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def healthy_again(emulator: Emulator) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if requests.get(emulator.url + "/_emulator/health", timeout=5).status_code == 200:
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def emulator(webhook_emulator_factory: Callable[..., EmulatorHandle]) -> Emulator:
    """A private emulator (the tests hold its connections open): short timeouts, three connections."""
    return in_process(webhook_emulator_factory(header_timeout=0.3, body_timeout=0.3, max_connections=3,
                                               time_scale=1.0))


def test_a_request_whose_headers_never_end_is_closed(emulator: Emulator) -> None:
    with connect(emulator) as sock:
        sock.sendall(b"GET /_emulator/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        assert read_all(sock) == b""  # closed by the emulator (the socket's own timeout would raise)


def test_a_body_that_never_ends_answers_408_in_the_providers_style(emulator: Emulator) -> None:
    with connect(emulator) as sock:
        sock.sendall(b"POST /v2/webhooks/ HTTP/1.1\r\nHost: localhost\r\nAuthorization: Token t\r\n"
                     b"Integration-ID: i\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"url\"")
        answer = read_all(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert "did not arrive" in json.loads(body)["detail"]


def test_connections_past_the_bound_get_a_503_and_nothing_is_logged(
        emulator: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    held = [connect(emulator) for _ in range(3)]
    with contextlib.suppress(requests.ConnectionError):  # (the held sockets are accepted by now)
        requests.get(emulator.url + "/_emulator/health", timeout=5)
    try:
        refused = [read_all(connect(emulator)) for _ in range(20)]
    finally:
        for sock in held:
            sock.close()
    assert all(r.startswith(b"HTTP/1.1 503") for r in refused)
    assert json.loads(refused[0].partition(b"\r\n\r\n")[2])["error"] == "unavailable"
    assert healthy_again(emulator)  # once the emulator has seen the held connections close
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING]
