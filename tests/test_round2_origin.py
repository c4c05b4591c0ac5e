"""A web page on another origin cannot drive the control API through its visitor's browser: a
foreign `Origin` is refused, a control write's body must be JSON (what a browser sends without a
preflight is a form or plain text), and on a loopback address a foreign `Host` (DNS rebinding) is
refused on every route; curl, the CLI, the client and the inspector keep working."""

from __future__ import annotations

import pytest

from emulator.control.guard import host_name, is_loopback
from tests.conftest import Api, MakeApi
from tests.providers.clients import auth

FIRE = b'{"provider": "gigapay", "event": "Payout.created", "url": "http://attacker.example/x"}'
GIGAPAY = auth("gigapay", "t", integration="i")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
async def test_a_control_write_whose_body_is_not_json_is_refused(api: Api, content_type: str) -> None:
    answer = await api.post("/_emulator/events", data=FIRE, headers={"Content-Type": content_type})
    assert answer.status == 415 and answer.json["error"] == "unsupported_media_type"
    answer = await api.post("/_emulator/faults", data=b'{"status": 500}', headers={"Content-Type": content_type})
    assert answer.status == 415
    assert (await api.get("/_emulator/faults")).json["faults"] == []


async def test_a_control_call_from_another_origin_is_refused(api: Api) -> None:
    foreign = {"Origin": "http://attacker.example", "Content-Type": "application/json"}
    answer = await api.post("/_emulator/providers/gigapay/webhooks", headers=foreign,
                            json={"tenant": "t", "webhook": {"url": "http://attacker.example/", "events": ["*"]}})
    assert answer.status == 403 and answer.json["error"] == "forbidden"
    assert (await api.get("/_emulator/state?provider=gigapay")).json["gigapay"]["tenants"] == {}
    assert (await api.post("/_emulator/reset", headers={"Origin": "null"})).status == 403


async def test_the_emulators_own_origin_and_bodiless_writes_still_work(api: Api) -> None:
    server = api.client.server
    own = {"Origin": f"http://{server.host}:{server.port}"}  # the inspector page's fetch calls
    answer = await api.post("/_emulator/faults", json={"provider": "gigapay", "status": 503}, headers=own)
    assert answer.status == 201, answer.json
    assert (await api.post("/_emulator/reset")).status == 200  # `curl -X POST .../reset`
    assert (await api.delete("/_emulator/faults")).status in (200, 204)


@pytest.mark.parametrize("path", ["/_emulator/health", "/_emulator/deliveries", "/v2/webhooks/"])
async def test_on_a_loopback_address_a_foreign_host_is_refused(api: Api, path: str) -> None:
    answer = await api.get(path, headers={**GIGAPAY, "Host": "rebind.attacker.example:8080"})
    assert answer.status == 403
    assert (await api.get(path, headers={**GIGAPAY, "Host": "localhost:8080"})).status == 200


async def test_allowed_hosts_adds_names_and_an_any_address_bind_serves_every_host(make_api: MakeApi) -> None:
    api = await make_api(allowed_hosts=["emulator.test"])
    assert (await api.get("/_emulator/health", headers={"Host": "emulator.test:8080"})).status == 200
    assert (await api.get("/_emulator/health", headers={"Host": "other.test"})).status == 403
    compose = await make_api(host="0.0.0.0")  # the Docker image: reached by its compose service name
    assert (await compose.get("/_emulator/health", headers={"Host": "webhook-emulator:8080"})).status == 200


def test_loopback_names() -> None:
    assert [is_loopback(host_name(h)) for h in ("127.0.0.1:80", "[::1]:8080", "localhost", "a.localhost.",
                                                "127.9.9.9", "10.0.0.1:80", "evil.com", "[::1")] == \
        [True, True, True, True, True, False, False, False]
