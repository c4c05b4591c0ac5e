"""Smaller things, round two: a malformed HTTP request logs one debug line (no ERROR traceback);
a fault rule's latency and retry_after are bounded, and Retry-After is sent in whole seconds."""

from __future__ import annotations

import logging
import socket
from urllib.parse import urlsplit

import pytest
import requests

from emulator import Emulator
from tests.conftest import Api


def test_a_malformed_request_logs_one_debug_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with Emulator() as emulator:
        parts = urlsplit(emulator.url)
        for _ in range(3):
            with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nBad Header\r\n\r\n")
                assert sock.recv(65536).split(b" ", 2)[1] == b"400"
        assert requests.get(emulator.url + "/_emulator/health", timeout=5).status_code == 200
    malformed = [r for r in caplog.records if "malformed request" in r.getMessage()
                 or "Error handling request" in r.getMessage()]
    assert len(malformed) == 3
    assert all(r.levelno == logging.DEBUG and not r.exc_info and "\n" not in r.getMessage() for r in malformed)


@pytest.mark.parametrize(("rule", "field"), [
    ({"status": 429, "retry_after": 1e308}, "retry_after"),
    ({"status": 429, "retry_after": 86401}, "retry_after"),
    ({"latency": 1e308}, "latency"),
    ({"latency": 301}, "latency"),
])
async def test_a_fault_rules_waits_are_bounded(api: Api, rule: dict, field: str) -> None:
    answer = await api.post("/_emulator/faults", json={"provider": "gigapay", **rule})
    assert answer.status == 400 and field in answer.json["message"]


async def test_retry_after_is_whole_seconds(api: Api) -> None:
    await api.post("/_emulator/faults", json={"provider": "gigapay", "status": 429, "retry_after": 2.5})
    answer = await api.get("/v2/webhooks/", headers={"Authorization": "Token t", "Integration-ID": "i"})
    assert answer.status == 429 and answer.headers["Retry-After"] == "3"
