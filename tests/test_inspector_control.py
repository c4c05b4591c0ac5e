"""The control API behind the inspector page: the page and its assets (open, nothing external);
PATCH and DELETE /_emulator/providers/{name}/webhooks/{id}, which change or delete a tenant's
webhook as the provider's own routes do, without its auth; and the facts the page shows (health's
seed and time scale, each provider's id field). The page itself is tested in test_inspector.py."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import Api, MakeApi
from tests.providers.clients import auth

SYNCFY = auth("syncfy", "MY_KEY")
GIGAPAY = auth("gigapay", "T", integration="my-integration")
TOKEN = "inspector-admin-token"


async def create(api: Api, provider: str, tenant: str, webhook: dict[str, Any], **extra: Any) -> dict[str, Any]:
    answer = await api.post(f"/_emulator/providers/{provider}/webhooks",
                            json={"tenant": tenant, "webhook": webhook, **extra})
    assert answer.status == 201, answer.json
    return answer.json["webhook"]


async def test_patch_changes_the_fields_given_and_the_provider_api_sees_it(api: Api) -> None:
    created = await create(api, "syncfy", "MY_KEY", {"url": "http://127.0.0.1:9/a", "events": ["credentials.created"]})
    wid = created["id_subscription"]
    answer = await api.patch(f"/_emulator/providers/syncfy/webhooks/{wid}", json={
        "tenant": "MY_KEY", "webhook": {"group_events": 1, "headers": {"X-Team": "payments"}}})
    assert answer.status == 200
    assert answer.json["provider"] == "syncfy" and answer.json["tenant"] == "MY_KEY"
    changed = answer.json["webhook"]
    assert (changed["group_events"], changed["headers"], changed["url"]) == (1, {"X-Team": "payments"},
                                                                            "http://127.0.0.1:9/a")
    assert changed["dt_modified"] is not None
    seen = await api.get(f"/v1/webhooks/subscriptions/{wid}", headers=SYNCFY)
    assert seen.json["response"] == changed


async def test_patch_validates_as_the_providers_update_route(api: Api) -> None:
    wid = (await create(api, "syncfy", "MY_KEY", {"url": "http://127.0.0.1:9/a", "events": ["credentials.created"]}))[
        "id_subscription"]
    bad = {"url": "not a url", "events": []}
    answer = await api.patch(f"/_emulator/providers/syncfy/webhooks/{wid}", json={"tenant": "MY_KEY", "webhook": bad})
    provider = await api.put(f"/v1/webhooks/subscriptions/{wid}", json=bad, headers=SYNCFY)
    assert answer.status == provider.status == 400
    assert answer.json == {"error": "validation", "message": "events must not be empty; url must be an http(s) URL"}
    assert provider.json["message"] == "Bad Request: " + answer.json["message"]
    unchanged = await api.get(f"/v1/webhooks/subscriptions/{wid}", headers=SYNCFY)
    assert unchanged.json["response"]["url"] == "http://127.0.0.1:9/a"


async def test_patch_keeps_a_scoped_webhooks_scope(api: Api) -> None:
    created = await create(api, "gigapay", "T", {"url": "http://127.0.0.1:9/g", "events": ["Payout.created"]},
                           scope="my-integration")
    answer = await api.patch(f"/_emulator/providers/gigapay/webhooks/{created['id']}",
                             json={"tenant": "T", "webhook": {"events": ["Payout.accepted"]}})
    assert answer.status == 200 and answer.json["scope"] == "my-integration"
    listed = await api.get("/v2/webhooks/", headers=GIGAPAY)
    assert [w["events"] for w in listed.json["results"]] == [["Payout.accepted"]]


async def test_delete_removes_the_webhook_as_the_provider_does(api: Api) -> None:
    wid = (await create(api, "syncfy", "MY_KEY", {"url": "http://127.0.0.1:9/a", "events": ["credentials.created"]}))[
        "id_subscription"]
    answer = await api.delete(f"/_emulator/providers/syncfy/webhooks/{wid}", json={"tenant": "MY_KEY"})
    assert (answer.status, answer.json) == (200, {"provider": "syncfy", "tenant": "MY_KEY", "deleted": wid})
    assert (await api.get(f"/v1/webhooks/subscriptions/{wid}", headers=SYNCFY)).status == 404
    again = await api.delete(f"/_emulator/providers/syncfy/webhooks/{wid}?tenant=MY_KEY")
    assert again.status == 404 and again.json["error"] == "not_found"


async def test_delete_is_soft_where_the_provider_soft_deletes(api: Api) -> None:
    created = await create(api, "shareactor", "K", {"endpoint": "http://127.0.0.1:9/s", "event_type": "order.created"})
    wid = created["_id"]["$oid"]
    assert (await api.delete(f"/_emulator/providers/shareactor/webhooks/{wid}", json={"tenant": "K"})).status == 200
    tenant = (await api.get("/_emulator/state?provider=shareactor")).json["shareactor"]["tenants"]["K"]
    assert tenant["records"] == [] and tenant["deleted"][0]["deleted"] is True


async def test_unknown_provider_tenant_or_id_are_json_404s(api: Api) -> None:
    wid = (await create(api, "syncfy", "MY_KEY", {"url": "http://127.0.0.1:9/a", "events": ["credentials.created"]}))[
        "id_subscription"]
    for method, path, body in [
        ("PATCH", "/_emulator/providers/nope/webhooks/x", {"tenant": "MY_KEY", "webhook": {}}),
        ("PATCH", f"/_emulator/providers/syncfy/webhooks/{wid}", {"tenant": "OTHER", "webhook": {}}),
        ("DELETE", "/_emulator/providers/syncfy/webhooks/ffffffffffffffffffffffff", {"tenant": "MY_KEY"}),
    ]:
        answer = await api.request(method, path, json=body)
        assert answer.status == 404 and answer.json["error"] == "not_found", (method, path)
        assert set(answer.json) == {"error", "message"}
    assert "OTHER" not in (await api.get("/_emulator/state?provider=syncfy")).json["syncfy"]["tenants"]


async def test_bodies_that_say_too_little_or_too_much_are_400s(api: Api) -> None:
    path = "/_emulator/providers/syncfy/webhooks/x"
    missing_tenant = await api.patch(path, json={"webhook": {}})
    missing_webhook = await api.patch(path, json={"tenant": "K"})
    unknown = await api.delete(path, json={"tenant": "K", "webhook": {}})
    assert [a.status for a in (missing_tenant, missing_webhook, unknown)] == [400, 400, 400]
    assert "tenant is required" in missing_tenant.json["message"]
    assert "webhook is required" in missing_webhook.json["message"]
    assert "unknown field(s) webhook" in unknown.json["message"]


async def test_a_provider_without_an_update_route_answers_405(api: Api) -> None:
    created = await create(api, "paybook", "K", {"url": "http://127.0.0.1:9/p", "events": ["refresh"]})
    answer = await api.patch(f"/_emulator/providers/paybook/webhooks/{created['id_webhook']}",
                             json={"tenant": "K", "webhook": {"url": "http://127.0.0.1:9/q"}})
    assert (answer.status, answer.json["error"]) == (405, "method_not_allowed")


async def test_health_says_seed_and_time_scale_and_providers_their_id_field(make_api: MakeApi) -> None:
    api = await make_api(seed=7, time_scale=0.5)
    health = (await api.get("/_emulator/health")).json
    assert (health["seed"], health["time_scale"]) == (7, 0.5)
    listing = (await api.get("/_emulator/providers")).json
    fields = {p["name"]: (p["id_field"], p["signature_header"]) for p in listing["providers"]}
    assert fields["syncfy"] == ("id_subscription", "request-signature")
    assert fields["centry"][1] is None
    assert listing["signature_modes"][0] == "valid" and "reversed" in listing["orders"]


async def test_the_page_and_its_assets_answer_without_the_token(make_api: MakeApi) -> None:
    api = await make_api(admin_token=TOKEN)
    for path, kind in [("/_emulator/ui", "text/html"), ("/_emulator/ui/app.js", "text/javascript"),
                       ("/_emulator/ui/style.css", "text/css"), ("/_emulator/ui/icon.svg", "image/svg+xml")]:
        answer = await api.client.get(path)
        assert answer.status == 200 and answer.content_type == kind, path
        assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    page = await (await api.client.get("/_emulator/ui")).text()
    assert "/_emulator/ui/app.js" in page and not re.search(r'(?:src|href)="(?:https?:)?//', page)  # nothing external
    for path in ("/_emulator/ui/nothing.js", "/_emulator/ui/..%2Finspector.py", "/_emulator/ui/%2e%2e"):
        missing = await api.client.get(path)
        assert missing.status == 404 and (await missing.json())["error"] == "not_found", path
    assert (await api.client.get("/_emulator/state")).status == 401


async def test_the_page_with_a_trailing_slash_redirects_to_the_page(api: Api) -> None:
    answer = await api.get("/_emulator/ui/")
    assert answer.status == 308 and answer.headers["Location"] == "/_emulator/ui"


async def test_the_webhooks_listing_has_a_row_per_webhook_with_the_events_it_wants(api: Api) -> None:
    """GET /_emulator/webhooks, behind the Webhooks tab: a group per provider and tenant; each row
    its id, url, wanted events (a flag-style provider's too), scope, deleted, times and other fields."""
    centry = await create(api, "centry", "CT", {"callback_url": "http://127.0.0.1:9/c", "on_order_save": True})
    share = await create(api, "shareactor", "SK", {"endpoint": "http://127.0.0.1:9/s", "event_type": "order.created"})
    gone = await api.delete(f"/_emulator/providers/shareactor/webhooks/{share['_id']['$oid']}", json={"tenant": "SK"})
    assert gone.status == 200
    await create(api, "gigapay", "T", {"url": "http://127.0.0.1:9/g", "events": ["Payout.created"]},
                 scope="my-integration")
    listing = (await api.get("/_emulator/webhooks")).json["groups"]
    assert [(g["provider"], g["tenant"]) for g in listing] == [("centry", "CT"), ("gigapay", "T"), ("shareactor", "SK")]
    [row] = listing[0]["webhooks"]
    assert (row["id"], row["url"], row["events"], row["deleted"]) == (centry["_id"], "http://127.0.0.1:9/c",
                                                                      ["on_order_save"], False)
    assert row["fields"] == {"company_id": centry["company_id"]} and row["created"].endswith("+00:00")
    assert listing[1]["webhooks"][0]["scope"] == "my-integration"
    assert "secret_key" in listing[1]["webhooks"][0]["fields"]
    [deleted] = listing[2]["webhooks"]
    assert deleted["deleted"] is True and deleted["events"] == ["order.created"]
    only = (await api.get("/_emulator/webhooks?provider=centry")).json["groups"]
    assert [g["provider"] for g in only] == ["centry"]
    mistyped = await api.get("/_emulator/webhooks?provider=centri")
    assert mistyped.status == 404 and "did you mean 'centry'?" in mistyped.json["message"]
