"""Safe by default: an admin token that guards the control API (and is passed on by the client,
the plugin and the CLI), and --allow-targets, which limits where notifications may go."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable

import pytest
import requests
from aiohttp.abc import AbstractResolver, ResolveResult

from emulator import Emulator
from emulator.client import ControlError, EmulatorClient
from emulator.control.api import OPEN_ROUTES, all_routes
from emulator.control.base import ControlRoute
from emulator.delivery.resolver import PolicyResolver
from emulator.delivery.targets import TargetPolicy
from emulator.pytest_plugin import EmulatorHandle
from emulator.receiver import Receiver
from emulator.settings import Settings, SettingsError
from tests.conftest import in_process

TOKEN = "s3cret-admin"


@pytest.fixture
def guarded(webhook_emulator_pool: Callable[..., EmulatorHandle]) -> Emulator:
    return in_process(webhook_emulator_pool(admin_token=TOKEN))


def concrete(path: str) -> str:
    return path.replace("{name}", "syncfy").replace("{id}", "nope").replace("{kind}", "credential")


@pytest.mark.parametrize("route", [r for r in all_routes() if (r.method, r.path) not in OPEN_ROUTES],
                         ids=lambda r: f"{r.method} {r.path}")
@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
def test_every_guarded_control_route_refuses_without_the_token(guarded: Emulator, route: ControlRoute,
                                                                authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    answer = requests.request(route.method, guarded.url + concrete(route.path), headers=headers, json={}, timeout=10)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="webhook-emulator"'
    assert answer.json() == {"error": "unauthorized",
                             "message": "this emulator has an admin token: send 'Authorization: Bearer <token>'"}


def test_the_token_opens_the_control_api_and_health_and_provider_apis_need_none(guarded: Emulator) -> None:
    assert requests.get(guarded.url + "/_emulator/health", timeout=10).json()["status"] == "ok"
    listed = requests.get(guarded.url + "/_emulator/deliveries", headers={"Authorization": f"Bearer {TOKEN}"},
                          timeout=10)
    assert listed.status_code == 200 and listed.json()["deliveries"] == []
    created = requests.post(guarded.url + "/v2/webhooks/", json={"url": "http://127.0.0.1:9/", "events": ["*"]},
                            headers={"Authorization": "Token GP"}, timeout=10)
    assert created.status_code in (201, 400) and created.status_code != 401


def test_the_clients_pass_the_token(guarded: Emulator) -> None:
    assert guarded.client.state() is not None  # Emulator.client carries its own token
    with pytest.raises(ControlError, match="HTTP 401"):
        EmulatorClient(guarded.url).state()
    assert set(EmulatorClient(guarded.url, token=TOKEN).state()) == {"paybook", "syncfy", "shareactor", "gigapay",
                                                                     "centry"}


def test_the_plugin_passes_the_token(webhook_emulator_factory: Callable[..., EmulatorClient],
                                     receiver: Receiver) -> None:
    handle = webhook_emulator_factory(admin_token=TOKEN)
    [delivery] = handle.fire("gigapay", "Payout.created", url=receiver.url_for("/gp"), wait=True)
    assert delivery["status"] == "delivered"


@pytest.mark.parametrize("how", ["flag", "environment", "none"])
def test_the_cli_passes_the_token(guarded: Emulator, receiver: Receiver, how: str) -> None:
    args = ["fire", "gigapay", "Payout.created", "--server", guarded.url, "--url", receiver.url_for("/gp")]
    env = {k: v for k, v in os.environ.items() if k != "EMULATOR_ADMIN_TOKEN"}
    if how == "flag":
        args += ["--admin-token", TOKEN]
    elif how == "environment":
        env["EMULATOR_ADMIN_TOKEN"] = TOKEN
    done = subprocess.run([sys.executable, "-m", "emulator", *args], capture_output=True, text=True, env=env,
                          timeout=60)
    if how == "none":
        assert done.returncode == 2
        assert done.stderr.strip() == "webhook-emulator: this emulator has an admin token: send 'Authorization: " \
                                      "Bearer <token>' (give it with --admin-token or EMULATOR_ADMIN_TOKEN)"
    else:
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("delivered Payout.created")


def test_an_empty_admin_token_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="the admin token must not be empty"):
        Settings(admin_token=" ")


# -- allowed targets ------------------------------------------------------------------------------

@pytest.mark.parametrize("allowed", [["127.0.0.0/8"], ["localhost"], ["127.0.0.1"], ["10.0.0.0/8", "127.0.0.1/32"]])
def test_an_allowed_target_is_delivered(receiver: Receiver, allowed: list[str]) -> None:
    url = receiver.url_for("/ok").replace("127.0.0.1", "localhost" if allowed == ["localhost"] else "127.0.0.1")
    with Emulator(allow_targets=allowed, time_scale=0.001) as emulator:
        [delivery] = emulator.client.fire("shareactor", "order.created", url=url, wait=True)
    assert delivery["status"] == "delivered" and len(receiver.received) == 1


def test_a_refused_target_fails_at_once_with_the_reason_and_is_not_retried(receiver: Receiver) -> None:
    with Emulator(allow_targets=["10.0.0.0/8", "app:8000"], time_scale=0.001) as emulator:
        [delivery] = emulator.client.fire("gigapay", "Payout.created", url=receiver.url_for("/no"), wait=True)
        assert emulator.client.health()["status"] == "ok"  # nothing crashed
    assert delivery["status"] == "failed" and receiver.received == []
    [attempt] = delivery["attempts"]
    reason = f"target 127.0.0.1:{receiver.port} is not allowed by --allow-targets (10.0.0.0/8, app:8000)"
    assert attempt["outcome"] == "refused" and attempt["error"] == reason and attempt["status"] is None
    assert delivery["error"] == reason and delivery["next_attempt_at"] is None


def test_a_port_in_an_entry_allows_only_that_port(receiver: Receiver) -> None:
    other_port = receiver.port + 1 if receiver.port and receiver.port < 65535 else 1
    with Emulator(allow_targets=[f"127.0.0.1:{other_port}"], time_scale=0.001) as emulator:
        [delivery] = emulator.client.fire("centry", "on_order_save", url=receiver.url_for("/ct"), wait=True)
    assert delivery["status"] == "failed" and receiver.received == []


@pytest.mark.parametrize("entry", ["not a host", "10.0.0.0/33", "app:99999", "[::1]:x", "a/b"])
def test_a_bad_entry_is_one_line_at_start(entry: str) -> None:
    with pytest.raises(ValueError):
        TargetPolicy.parse([entry])
    done = subprocess.run([sys.executable, "-m", "emulator", "serve", "--port", "0", "--allow-targets", entry],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("webhook-emulator: allowed targets: ") and len(done.stderr.splitlines()) == 1


class FixedResolver(AbstractResolver):
    """Answers every name with the same addresses (as a rebinding DNS server could)."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        return [ResolveResult(hostname=host, host=a, port=port, family=family, proto=0, flags=0)
                for a in self.addresses]

    async def close(self) -> None:
        return None


async def test_connections_go_only_to_allowed_addresses_whatever_a_name_resolves_to() -> None:
    policy = TargetPolicy.parse(["127.0.0.0/8", "named.example:8000"])
    mixed = PolicyResolver(policy, FixedResolver("10.1.2.3", "127.0.0.5"))
    assert [r["host"] for r in await mixed.resolve("rebinding.example", 80)] == ["127.0.0.5"]
    with pytest.raises(OSError, match="resolves to no address --allow-targets allows"):
        await PolicyResolver(policy, FixedResolver("10.1.2.3")).resolve("rebinding.example", 80)
    allowed_by_name = PolicyResolver(policy, FixedResolver("10.1.2.3"))
    assert [r["host"] for r in await allowed_by_name.resolve("named.example", 8000)] == ["10.1.2.3"]
