"""pytest fixtures (registered through the `pytest11` entry point, so installing the package is
enough): `webhook_emulator`, `webhook_receiver`, `webhook_emulator_factory`, and the settings
fixtures they read, each overridable in a conftest.py in the pytest-httpserver style."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.client import EmulatorClient
from emulator.receiver import Receiver
from emulator.server import Emulator
from emulator.settings import Settings


class EmulatorHandle(EmulatorClient):
    """What the fixtures hand a test: the control API of a running emulator (`fire`,
    `deliveries`, `wait_for_delivery`, `requests`, `reset`, `state`, `url_for`...) and the
    in-process `emulator` itself."""

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator.url, token=emulator.settings.admin_token)
        self.emulator = emulator


@pytest.fixture(scope="session")
def webhook_emulator_seed() -> int | None:
    """Seed for ids, secrets and timestamps (None: random like the real services)."""
    return None


@pytest.fixture(scope="session")
def webhook_emulator_time_scale() -> float:
    """Multiplier of every delivery delay and retry interval; small, so retries take milliseconds."""
    return 0.001


@pytest.fixture(scope="session")
def webhook_emulator_fixture_dirs() -> list[Path]:
    """Extra provider fixture folders (YAML + schemas/) beside the built-in five."""
    return []


@pytest.fixture(scope="session")
def webhook_emulator_listen_address() -> tuple[str, int]:
    """(host, port) the emulator listens on; port 0 picks a free one."""
    return ("127.0.0.1", 0)


@pytest.fixture(scope="session")
def webhook_emulator_settings(webhook_emulator_seed: int | None, webhook_emulator_time_scale: float,
                              webhook_emulator_fixture_dirs: list[Path],
                              webhook_emulator_listen_address: tuple[str, int]) -> dict[str, Any]:
    """Every Settings field the session's emulator gets; override to set others (strict, credentials...)."""
    host, port = webhook_emulator_listen_address
    return {"seed": webhook_emulator_seed, "time_scale": webhook_emulator_time_scale,
            "fixtures": webhook_emulator_fixture_dirs, "host": host, "port": port}


@pytest.fixture(scope="session")
def webhook_emulator_session(webhook_emulator_settings: dict[str, Any]) -> Iterator[EmulatorHandle]:
    """The session's emulator, started once; most tests want `webhook_emulator` instead."""
    emulator = Emulator(Settings(**webhook_emulator_settings)).start()
    try:
        yield EmulatorHandle(emulator)
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def webhook_emulator_state() -> dict[str, Any] | str | Path | None:
    """A state document (or a YAML/JSON state file) every test's `webhook_emulator` starts with:
    provider -> tenant -> webhooks in the provider's create shape. None: empty."""
    return None


@pytest.fixture
def webhook_emulator(webhook_emulator_session: EmulatorHandle,
                     webhook_emulator_state: dict[str, Any] | str | Path | None) -> EmulatorHandle:
    """A running emulator, reset before the test (webhooks, tokens, journal, deliveries) to an
    empty state or to `webhook_emulator_state`."""
    if webhook_emulator_state is None:
        webhook_emulator_session.reset()
    else:
        webhook_emulator_session.load_state(webhook_emulator_state)
    return webhook_emulator_session


@pytest.fixture
def webhook_emulator_factory() -> Iterator[Callable[..., EmulatorHandle]]:
    """`webhook_emulator_factory(seed=1, strict=True, ...)`: another emulator with its own
    settings (a free port unless given), stopped when the test ends."""
    started: list[Emulator] = []

    def make(**settings: Any) -> EmulatorHandle:
        emulator = Emulator(Settings(**{"port": 0, "time_scale": 0.001, **settings})).start()
        started.append(emulator)
        return EmulatorHandle(emulator)

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def webhook_receiver() -> Iterator[Receiver]:
    """A local webhook consumer that records what it receives (`received`, `wait_for`), answers
    with scripted statuses or delays (`respond_with`) and checks signatures (`verify`)."""
    with Receiver() as receiver:
        yield receiver
