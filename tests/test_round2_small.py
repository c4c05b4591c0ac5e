"""Smaller things, round two: a malformed HTTP request logs one debug line (no ERROR traceback);
a fault rule's latency and retry_after are bounded, and Retry-After is sent in whole seconds;
`serve` always says where it listens (an IPv6 address in brackets)."""

from __future__ import annotations

import logging
import re
import signal
import socket
import subprocess
import sys
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


def listening_line(*args: str) -> str:
    """The line `serve --port 0 ARGS` says it listens with (then it is stopped)."""
    process = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--port", "0", *args],
                               stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    try:
        while "listening on" not in (line := process.stderr.readline()):
            assert line, "serve ended before it listened"
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    return line


@pytest.mark.parametrize("level", ["warning", "error"])
def test_the_listening_line_is_there_at_every_log_level(level: str) -> None:
    assert re.search(r"listening on http://127\.0\.0\.1:[1-9]\d*$", listening_line("--log-level", level))


def test_an_ipv6_address_is_written_in_brackets() -> None:
    url = listening_line("--host", "::1").split("listening on ", 1)[1].strip()
    assert re.fullmatch(r"http://\[::1\]:[1-9]\d*", url)
