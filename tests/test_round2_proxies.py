"""The control client (EmulatorClient, every `--server` CLI command, the pytest plugin's handle)
never goes through a proxy from HTTP_PROXY: the admin token goes to the emulator, not the proxy."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from emulator import Emulator
from emulator.client import EmulatorClient
from emulator.receiver import Receiver


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Receiver:
    """A "proxy" that records what reaches it, set in HTTP_PROXY (and no NO_PROXY)."""
    with Receiver(status=502) as receiver:
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        for name in ("HTTP_PROXY", "http_proxy"):
            monkeypatch.setenv(name, receiver.url)
        yield receiver


def test_the_control_client_bypasses_the_proxy(proxy: Receiver) -> None:
    with Emulator(admin_token="t0ken") as emulator:
        assert EmulatorClient(emulator.url, token="t0ken").health()["status"] == "ok"
        assert emulator.client.deliveries() == []
    assert proxy.received == []


def test_server_commands_of_the_cli_bypass_the_proxy(proxy: Receiver) -> None:
    with Emulator(admin_token="t0ken") as emulator:
        done = subprocess.run([sys.executable, "-m", "emulator", "fault", "list", "--server", emulator.url,
                               "--admin-token", "t0ken"], capture_output=True, text=True, timeout=60,
                              env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    assert proxy.received == []
