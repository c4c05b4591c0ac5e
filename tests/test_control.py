"""The control API under /_emulator/ (health, reset, state, the request journal), and that no
request of any shape gets a 5xx or a non-JSON answer."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from emulator.receiver import Receiver
from tests.conftest import Api, MakeApi
from tests.providers.clients import auth

PAYBOOK = auth("paybook", "K")
GIGAPAY = auth("gigapay", "T", integration="i")


async def add_webhooks(api: Api) -> None:
    await api.post("/v1/webhooks", json={"url": "https://x.mx/h", "events": ["refresh"]}, headers=PAYBOOK)
    await api.post("/v2/webhooks/", json={"url": "https://x.se/h", "events": ["Payout.created"]}, headers=GIGAPAY)


async def test_health_lists_the_providers(api: Api) -> None:
    answer = await api.get("/_emulator/health")
    assert answer.status == 200
    assert answer.json["status"] == "ok"
    assert answer.json["providers"] == ["centry", "gigapay", "paybook", "shareactor", "syncfy"]


async def test_curl_gets_pretty_json_and_programs_compact(api: Api) -> None:
    pretty = await api.get("/_emulator/health", headers={"User-Agent": "curl/8.5.0"})
    compact = await api.get("/_emulator/health", headers={"User-Agent": "python-requests/2.32"})
    assert pretty.raw.startswith(b"{\n  ") and pretty.raw.endswith(b"\n")
    assert b"\n" not in compact.raw and pretty.json == compact.json


async def test_state_dumps_each_tenant_as_the_provider_renders(api: Api) -> None:
    await add_webhooks(api)
    state = (await api.get("/_emulator/state")).json
    [paybook] = state["paybook"]["tenants"]["K"]["records"]
    assert paybook["url"] == "https://x.mx/h" and paybook["is_disabled"] == 0
    assert state["gigapay"]["tenants"]["T"]["records"][0]["events"] == ["Payout.created"]
    assert state["centry"] == {"tenants": {}}
    only = (await api.get("/_emulator/state?provider=gigapay")).json
    assert list(only) == ["gigapay"]


async def test_reset_of_one_provider_keeps_the_others(api: Api) -> None:
    await add_webhooks(api)
    answer = await api.post("/_emulator/reset", json={"provider": "gigapay"})
    assert answer.json == {"reset": "gigapay"}
    assert (await api.get("/v2/webhooks/", headers=GIGAPAY)).json["count"] == 0
    assert len((await api.get("/v1/webhooks", headers=PAYBOOK)).json["response"]) == 1


async def test_reset_of_everything_also_clears_the_journal(api: Api) -> None:
    await add_webhooks(api)
    assert (await api.post("/_emulator/reset")).json == {"reset": "all"}
    assert (await api.get("/_emulator/requests")).json["requests"] == []
    assert (await api.get("/_emulator/state")).json["paybook"] == {"tenants": {}}


@pytest.mark.parametrize(("body", "status", "error"), [
    ({"provider": "nope"}, 404, "not_found"),
    ({"provider": ["gigapay"]}, 400, "validation"),
    (b"{not json", 400, "malformed_body"),
    (b"[1]", 400, "validation"),
])
async def test_reset_refuses_bad_requests(api: Api, body: Any, status: int, error: str) -> None:
    json_type = {"Content-Type": "application/json"}
    kwargs = {"json": body} if isinstance(body, dict) else {"data": body, "headers": json_type}
    answer = await api.post("/_emulator/reset", **kwargs)
    assert (answer.status, answer.json["error"]) == (status, error)
    assert answer.json["message"]


async def test_the_journal_records_api_calls_not_control_calls(api: Api) -> None:
    await add_webhooks(api)
    await api.get("/v1/webhooks")  # no key: 401
    await api.get("/_emulator/health")
    entries = (await api.get("/_emulator/requests")).json["requests"]
    assert [(e["method"], e["path"], e["provider"], e["tenant"], e["status"]) for e in entries] == [
        ("POST", "/v1/webhooks", "paybook", "K", 200),
        ("POST", "/v2/webhooks/", "gigapay", "T", 201),
        ("GET", "/v1/webhooks", "paybook", None, 401),
    ]
    assert all(e["time"].endswith("+00:00") for e in entries)


@pytest.mark.parametrize(("query", "count"), [("provider=paybook", 2), ("tenant=T", 1), ("status=401", 1),
                                              ("method=POST", 2)])
async def test_the_journal_filters(api: Api, query: str, count: int) -> None:
    await add_webhooks(api)
    await api.get("/v1/webhooks")
    assert len((await api.get(f"/_emulator/requests?{query}")).json["requests"]) == count


async def test_the_journal_is_bounded(make_api: MakeApi) -> None:
    api = await make_api(journal_size=2)
    for path in ("/v1/webhooks", "/v2/webhooks/", "/webhooks"):
        await api.get(path)
    journal = (await api.get("/_emulator/requests")).json
    assert [e["path"] for e in journal["requests"]] == ["/v2/webhooks/", "/webhooks"]
    assert journal["dropped"] == 1


async def test_a_body_over_the_limit_is_413_in_the_providers_style(api: Api) -> None:
    answer = await api.post("/v1/webhooks", data=b"x" * (2 * 1024 * 1024), headers=PAYBOOK)
    assert (answer.status, answer.json["message"]) == (413, "Payload Too Large")


async def test_unknown_control_paths_are_json_404s(api: Api) -> None:
    answer = await api.get("/_emulator/nothing")
    assert answer.status == 404 and answer.json["error"] == "not_found"


async def test_a_path_no_provider_serves_says_where_to_look(api: Api) -> None:
    answer = await api.get("/")
    assert answer.status == 404
    assert answer.json == {"error": "not_found", "message": "no provider serves /; GET /_emulator/providers lists "
                                                            "their routes, and /_emulator/ui is the inspector page"}


async def test_a_body_over_the_limit_is_journaled_with_its_status(api: Api) -> None:
    await api.post("/v1/webhooks", data=b"x" * (2 * 1024 * 1024), headers=PAYBOOK)
    [entry] = (await api.get("/_emulator/requests")).json["requests"]
    assert (entry["path"], entry["status"]) == ("/v1/webhooks", 413)


@pytest.mark.parametrize(("method", "path", "kwargs"), [
    ("GET", "/", {}),
    ("GET", "/favicon.ico", {}),
    ("DELETE", "/_emulator/health", {}),
    ("OPTIONS", "/v2/webhooks/", {}),
    ("TRACE", "/webhooks", {}),
    ("POST", "/v2/webhooks/", {"data": b"\xff\xfe", "headers": {**GIGAPAY, "Content-Type": "application/json"}}),
    ("POST", "/v1/webhooks", {"data": b"x" * (2 * 1024 * 1024), "headers": PAYBOOK}),
    ("POST", "/webhooks", {"json": "a string", "headers": {"X-Share-Api-Key": "K"}}),
    ("PUT", "/conexion/v1/webhooks/../../etc/passwd.json", {"headers": {"Authorization": "Bearer T"}}),
    ("GET", "/v2/webhooks/?page=99999999999999999999", {"headers": GIGAPAY}),
    ("GET", "/webhooks?size=-5&page=1e9", {"headers": {"X-Share-Api-Key": "K"}}),
    ("GET", "/webhooks?size=99999999999999999999&page=99999999999999999999", {"headers": {"X-Share-Api-Key": "K"}}),
    ("GET", "/v1/webhooks?skip=99999999999999999999&limit=99999999999999999999", {"headers": PAYBOOK}),
    ("POST", "/oauth/token", {"data": b"grant_type=client_credentials&client_id=%ff",
                              "headers": {"Content-Type": "application/x-www-form-urlencoded"}}),
    ("POST", "/v1/webhooks/subscriptions", {"json": {"url": "https://x.mx", "events": [[]]}, "headers": PAYBOOK}),
])
async def test_no_request_gets_a_5xx_or_html(api: Api, method: str, path: str, kwargs: dict[str, Any]) -> None:
    answer = await api.request(method, path, **kwargs)
    assert answer.status < 500
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.json is not None


@pytest.mark.parametrize(("field", "value", "message"), [
    ("duplicate", 101, "duplicate must be true, false or a number of extra copies from 0 to 100"),
    ("delay", 30 * 24 * 3600 + 1, "delay must be a number of seconds from 0 to 2592000"),
    ("timeout", 3601, "timeout must be a number of seconds > 0 and <= 3600"),
    ("delay", 10**400, "delay must be a number of seconds from 0 to 2592000"),
])
async def test_a_firings_numbers_are_bounded(api: Api, field: str, value: int, message: str) -> None:
    body = {"provider": "gigapay", "event": "Payout.created", "url": "http://127.0.0.1:9/x", field: value}
    answer = await api.post("/_emulator/events", json=body)
    assert (answer.status, answer.json) == (400, {"error": "validation", "message": message})


async def test_fault_rules_are_bounded(api: Api) -> None:
    for _ in range(1000):
        assert (await api.post("/_emulator/faults", json={"provider": "gigapay", "status": 503})).status == 201
    answer = await api.post("/_emulator/faults", json={"provider": "gigapay", "status": 503})
    assert (answer.status, answer.json["message"]) == (400, "there are 1000 fault rules already; remove some first")


@pytest.mark.parametrize("provider", ["paybook", "centry"])
async def test_the_journal_records_the_status_that_was_sent(api: Api, provider: str) -> None:
    path = {"paybook": "/v1/webhooks", "centry": "/conexion/v1/webhooks.json"}[provider]
    sent = await api.post(path, data=b"x" * (2 * 1024 * 1024), headers={"Authorization": "Bearer T", **PAYBOOK})
    [entry] = (await api.get("/_emulator/requests")).json["requests"]
    assert entry["status"] == sent.status and sent.status >= 400


async def test_log_lines_escape_control_characters(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="emulator.access")
    await api.get("/v2/webhooks/%0aFORGED%20LINE", headers={"Authorization": "Token GP"})
    [line] = [r.getMessage() for r in caplog.records if r.name == "emulator.access"]
    assert "\n" not in line and "FORGED" in line  # one request, one line


@pytest.mark.parametrize(("query", "message"), [
    ("status=weird", "status must be pending, delivered or failed"),
    ("order=sideways", "order must be oldest (the default) or newest"),
])
async def test_the_delivery_log_refuses_an_unknown_filter_value(api: Api, query: str, message: str) -> None:
    answer = await api.get(f"/_emulator/deliveries?{query}")
    assert (answer.status, answer.json) == (400, {"error": "validation", "message": message})


async def test_the_delivery_log_filters_by_each_status(api: Api, receiver: Receiver) -> None:
    fire = {"provider": "centry", "event": "on_product_save", "url": receiver.url_for("/c")}
    delivered = (await api.post("/_emulator/events", json={**fire, "wait": True})).json["deliveries"][0]
    pending = (await api.post("/_emulator/events", json={**fire, "delay": 3600})).json["deliveries"][0]
    assert (delivered["status"], pending["status"]) == ("delivered", "pending")
    for status, ids in (("delivered", [delivered["id"]]), ("pending", [pending["id"]]), ("failed", [])):
        answer = await api.get(f"/_emulator/deliveries?status={status}")
        assert answer.status == 200 and [d["id"] for d in answer.json["deliveries"]] == ids, status
