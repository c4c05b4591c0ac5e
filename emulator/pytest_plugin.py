"""pytest fixtures (registered through the `pytest11` entry point, so installing the package is
enough): `webhook_emulator`, `webhook_receiver`, `webhook_emulator_pool` (emulators with other
settings, shared by the session and reset for each test), `webhook_emulator_factory` (private
ones), and the settings fixtures they read, each overridable in a conftest.py in the
pytest-httpserver style.

An emulator that already runs (a compose service) is used instead of starting one when told:
`--webhook-emulator-url URL` or WEBHOOK_EMULATOR_URL (with `--webhook-emulator-admin-token` or
WEBHOOK_EMULATOR_ADMIN_TOKEN when it has one). The receiver binds `--webhook-receiver-host` or
WEBHOOK_RECEIVER_HOST, and gives the emulator URLs with `--webhook-receiver-advertised-host` or
WEBHOOK_RECEIVER_ADVERTISED_HOST (e.g. host.docker.internal for an emulator in a container)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from emulator.client import ControlError, EmulatorClient
from emulator.receiver import Receiver
from emulator.server import Emulator
from emulator.settings import Settings

if TYPE_CHECKING:
    from emulator.delivery.notification import Notification, NotificationMaker

# option -> (environment variable, help)
OPTIONS = {
    "--webhook-emulator-url": ("WEBHOOK_EMULATOR_URL", "use the emulator running at this URL (reset before each "
                                                       "test) instead of starting one"),
    "--webhook-emulator-admin-token": ("WEBHOOK_EMULATOR_ADMIN_TOKEN", "that emulator's admin token"),
    "--webhook-receiver-host": ("WEBHOOK_RECEIVER_HOST", "the address webhook_receiver binds (default 127.0.0.1; "
                                                         "0.0.0.0 for an emulator in a container)"),
    "--webhook-receiver-advertised-host": ("WEBHOOK_RECEIVER_ADVERTISED_HOST",
                                           "the host name in webhook_receiver's URLs, as the emulator reaches it "
                                           "(e.g. host.docker.internal)"),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("webhook-emulator")
    for option, (variable, text) in OPTIONS.items():
        group.addoption(option, default=None, metavar="VALUE", help=f"{text} (env {variable})")


def _option(config: pytest.Config, option: str) -> str | None:
    """An option's value: the command line's, else its environment variable's, else None."""
    value = config.getoption(option) or os.environ.get(OPTIONS[option][0])
    return value or None


class EmulatorHandle(EmulatorClient):
    """What the fixtures hand a test: the control API of a running emulator (`fire`,
    `deliveries`, `wait_for_delivery`, `requests`, `reset`, `state`, `url_for`...), `notification`
    and the in-process `emulator` itself (None for an emulator that was already running)."""

    def __init__(self, url: str, token: str | None = None, emulator: Emulator | None = None) -> None:
        super().__init__(url, token=token)
        self.emulator = emulator
        self._maker: NotificationMaker | None = None

    @classmethod
    def of(cls, emulator: Emulator) -> EmulatorHandle:
        """The handle of an in-process emulator."""
        return cls(emulator.url, emulator.settings.admin_token, emulator)

    def notification(self, provider: str, event: str, data: dict[str, Any] | None = None,
                     **options: Any) -> Notification:
        """The notification `provider` would send for `event`, built without sending it (for a
        web framework's test client): options secret, signature, headers, timestamp, as
        `emulator.notification`. Without a secret, a JWT-signing provider's is this emulator's JWK."""
        if self._maker is None:
            from emulator.delivery.notification import NotificationMaker

            fixtures = self.emulator.settings.fixtures if self.emulator is not None else []
            self._maker = NotificationMaker(fixtures, key_for=self.jwk)
        return self._maker(provider, event, data, **options)


@pytest.fixture(scope="session")
def webhook_emulator_seed() -> int | None:
    """Seed for ids, secrets and record timestamps (None: random like the real services)."""
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
def webhook_emulator_url(pytestconfig: pytest.Config) -> str | None:
    """The URL of an emulator that already runs, to use instead of starting one (from
    --webhook-emulator-url or WEBHOOK_EMULATOR_URL); None: start one in-process."""
    return _option(pytestconfig, "--webhook-emulator-url")


@pytest.fixture(scope="session")
def webhook_emulator_admin_token(pytestconfig: pytest.Config) -> str | None:
    """The admin token of the emulator at `webhook_emulator_url`, if it has one."""
    return _option(pytestconfig, "--webhook-emulator-admin-token")


@pytest.fixture(scope="session")
def webhook_emulator_session(webhook_emulator_settings: dict[str, Any], webhook_emulator_url: str | None,
                             webhook_emulator_admin_token: str | None) -> Iterator[EmulatorHandle]:
    """The session's emulator: the one at `webhook_emulator_url`, or one started once (with
    `webhook_emulator_settings`); most tests want `webhook_emulator` instead."""
    if webhook_emulator_url is not None:
        handle = EmulatorHandle(webhook_emulator_url, webhook_emulator_admin_token)
        problem = None
        try:
            handle.health()
            handle.state()  # the admin token is right
        except ControlError as exc:
            problem = f"the webhook emulator at {webhook_emulator_url} refused: {exc.message}"
        except (OSError, ValueError) as exc:
            problem = f"no webhook emulator answers at {webhook_emulator_url} (--webhook-emulator-url): {exc}"
        if problem is not None:  # failed outside the except block: one line, no chained traceback
            pytest.fail(problem, pytrace=False)
        yield handle
        return
    emulator = Emulator(Settings(**webhook_emulator_settings)).start()
    try:
        yield EmulatorHandle.of(emulator)
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


# What webhook_emulator_pool and webhook_emulator_factory start with unless told otherwise.
EXTRA_DEFAULTS: dict[str, Any] = {"port": 0, "time_scale": 0.001}
# Settings that act only at start-up, which the pool's reset before each test would undo.
START_UP_ONLY = ("state", "faults")


def _extra_settings(settings: dict[str, Any]) -> Settings:
    """The settings of an emulator the pool or the factory starts: EXTRA_DEFAULTS, then `settings`."""
    return Settings(**{**EXTRA_DEFAULTS, **settings})


@pytest.fixture(scope="session")
def webhook_emulator_pool() -> Iterator[Callable[..., EmulatorHandle]]:
    """`webhook_emulator_pool(seed=1, strict=True, ...)`: an emulator with exactly these settings
    (a free port and time scale 0.001 unless given), reset to an empty state each time it is
    handed out. It starts the first time the session asks for those settings, every later ask
    gets the same one, and it stops when the session ends: each test is isolated, and only the
    first pays the start-up. Every call resets it: ask once per test and keep the handle.
    (`state` and `faults` are refused: the reset would undo them.)"""
    pool: list[Emulator] = []

    def hand_out(**settings: Any) -> EmulatorHandle:
        refused = [name for name in START_UP_ONLY if settings.get(name) is not None]
        if refused:
            raise ValueError(f"webhook_emulator_pool: {', '.join(refused)} act only at start-up and the reset before "
                             "each test would undo them; use webhook_emulator_factory")
        wanted = _extra_settings(settings)
        running = next((e for e in pool if e.settings == wanted and e.port is not None), None)
        if running is None:  # (first asked for, or stopped by a test)
            running = Emulator(wanted).start()
            pool.append(running)
        handle = EmulatorHandle.of(running)
        handle.reset()
        return handle

    yield hand_out
    for emulator in pool:
        emulator.stop()


@pytest.fixture
def webhook_emulator_factory() -> Iterator[Callable[..., EmulatorHandle]]:
    """`webhook_emulator_factory(seed=1, strict=True, ...)`: another emulator with its own
    settings (a free port and time scale 0.001 unless given), private to the test (it may stop
    or break it), stopped when the test ends."""
    started: list[Emulator] = []

    def make(**settings: Any) -> EmulatorHandle:
        emulator = Emulator(_extra_settings(settings)).start()
        started.append(emulator)
        return EmulatorHandle.of(emulator)

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture(scope="session")
def webhook_receiver_host(pytestconfig: pytest.Config) -> str:
    """The address `webhook_receiver` binds (--webhook-receiver-host, WEBHOOK_RECEIVER_HOST;
    default 127.0.0.1)."""
    return _option(pytestconfig, "--webhook-receiver-host") or "127.0.0.1"


@pytest.fixture(scope="session")
def webhook_receiver_advertised_host(pytestconfig: pytest.Config) -> str | None:
    """The host name in `webhook_receiver`'s URLs, the one the emulator reaches it by
    (--webhook-receiver-advertised-host, WEBHOOK_RECEIVER_ADVERTISED_HOST); None: the bound one."""
    return _option(pytestconfig, "--webhook-receiver-advertised-host")


@pytest.fixture
def webhook_receiver(webhook_receiver_host: str, webhook_receiver_advertised_host: str | None) -> Iterator[Receiver]:
    """A local webhook consumer that records what it receives (`received`, `wait_for`), answers
    with scripted statuses or delays (`respond_with`) and checks signatures (`verify`)."""
    with Receiver(webhook_receiver_host, advertised_host=webhook_receiver_advertised_host) as receiver:
        yield receiver
