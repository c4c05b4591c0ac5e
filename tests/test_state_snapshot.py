"""Snapshot and restore through the control API: GET /_emulator/state/snapshot, PUT /_emulator/state,
and POST /_emulator/providers/{name}/webhooks (a webhook made as a provider's dashboard would)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.providers.clients import auth

PAYBOOK = auth("paybook", "PB")
SYNCFY = auth("syncfy", "SY")
SHARE = auth("shareactor", "SA")
GIGAPAY = auth("gigapay", "GP", integration="integration-1")
GIGAPAY_USER = {"Authorization": "Token GP"}


async def build_state(api: Api) -> dict[str, str]:
    """Webhooks of all five providers made through their own APIs, with updates, deletes, a
    scoped webhook, an issued token, an idempotency key and a JWK; returns ids and the token."""
    ids: dict[str, str] = {}
    made = await api.post("/v1/webhooks", json={"url": "https://a.mx/1", "events": ["refresh"], "delay": 2,
                                                "headers": {"X-A": "1"}}, headers=PAYBOOK)
    ids["paybook"] = made.json["response"]["id_webhook"]
    await api.post("/v1/webhooks", json={"url": "https://a.mx/2", "events": ["credential_create"]}, headers=PAYBOOK)
    made = await api.post("/v1/webhooks/subscriptions", headers=SYNCFY, json={
        "url": "https://s.mx/1", "events": ["credentials.created"], "group_events": 1})
    ids["syncfy"] = made.json["response"]["id_subscription"]
    await api.put(f"/v1/webhooks/subscriptions/{ids['syncfy']}", json={"description": "changed"}, headers=SYNCFY)
    for n in range(3):
        made = await api.post("/webhooks", json={"endpoint": f"https://sa.io/{n}", "event_type": "order.created"},
                              headers=SHARE)
        ids[f"shareactor{n}"] = made.json["_id"]["$oid"]
    await api.put(f"/webhooks/{ids['shareactor0']}", json={"endpoint": "https://sa.io/changed"}, headers=SHARE)
    await api.delete(f"/webhooks/{ids['shareactor1']}", headers=SHARE)
    await api.post("/v2/webhooks/", json={"url": "https://g.se/user", "events": ["Registration.verified"]},
                   headers=GIGAPAY_USER)
    made = await api.post("/v2/webhooks/", json={"url": "https://g.se/payout", "events": ["Payout.created"]},
                          headers={**GIGAPAY, "Idempotency-Key": "once"})
    ids["gigapay"] = made.json["id"]
    token = (await api.post("/oauth/token", json={"grant_type": "client_credentials", "client_id": "CE",
                                                  "client_secret": "s"})).json
    ids["centry_token"] = token["access_token"]
    await api.post("/conexion/v1/webhooks.json", json={"callback_url": "https://c.cl/1", "on_order_save": True},
                   headers={"Authorization": f"Bearer {token['access_token']}"})
    ids["jwk"] = (await api.get("/_emulator/providers/syncfy/jwk")).json["k"]
    return ids


def _without_rid(body: Any) -> Any:
    return {k: v for k, v in body.items() if k != "rid"} if isinstance(body, dict) else body


async def answers(api: Api, ids: dict[str, str]) -> list[Any]:
    """What each provider's API answers about the state (envelope request ids left out)."""
    centry = {"Authorization": f"Bearer {ids['centry_token']}"}
    calls = [
        ("GET", "/v1/webhooks", PAYBOOK, None),
        ("GET", "/v1/webhooks/subscriptions", SYNCFY, None),
        ("GET", f"/v1/webhooks/subscriptions/{ids['syncfy']}", SYNCFY, None),
        ("GET", "/webhooks", SHARE, None),
        ("GET", "/webhooks?sort=created", SHARE, None),
        ("GET", f"/webhooks/{ids['shareactor1']}", SHARE, None),
        ("GET", "/v2/webhooks/", GIGAPAY, None),
        ("GET", "/v2/webhooks/", GIGAPAY_USER, None),
        ("POST", "/v2/webhooks/", {**GIGAPAY, "Idempotency-Key": "once"},
         {"url": "https://g.se/payout", "events": ["Payout.created"]}),
        ("GET", "/conexion/v1/webhooks.json", centry, None),
        ("GET", "/_emulator/providers/syncfy/jwk", {}, None),
    ]
    seen = []
    for method, path, headers, body in calls:
        answer = await api.request(method, path, headers=headers, json=body)
        seen.append((path, answer.status, answer.headers.get("X-Pagination-Total"), _without_rid(answer.json)))
    return seen


async def test_export_reset_import_gives_the_same_answers_from_every_provider(api: Api) -> None:
    ids = await build_state(api)
    before = await answers(api, ids)
    snapshot = (await api.get("/_emulator/state/snapshot")).json
    assert set(snapshot) == {"paybook", "syncfy", "shareactor", "gigapay", "centry", "$emulator"}
    await api.post("/_emulator/reset")
    assert (await api.get("/v1/webhooks", headers=PAYBOOK)).json["response"] == []
    put = await api.put("/_emulator/state", json=snapshot)
    assert put.status == 200 and put.json == {"replaced": "all", "webhooks": 8}
    assert await answers(api, ids) == before
    assert (await api.get("/_emulator/state/snapshot")).json == snapshot


async def test_a_snapshot_restores_into_another_emulator(make_api: Any) -> None:
    first, second = await make_api(), await make_api()
    ids = await build_state(first)
    before = await answers(first, ids)
    snapshot = (await first.get("/_emulator/state/snapshot")).json
    assert (await second.put("/_emulator/state", json=snapshot)).status == 200
    assert await answers(second, ids) == before


async def test_a_snapshot_keeps_secrets_scopes_and_counters(api: Api) -> None:
    await api.post("/_emulator/providers/paybook/webhooks", json={
        "tenant": "PB", "webhook": {"url": "https://a.mx/h", "events": ["refresh"], "ct_failed": 7}})
    await api.post("/v2/webhooks/", json={"url": "https://g.se/p", "events": ["Payout.created"],
                                          "secret_key": "s3cret"}, headers=GIGAPAY)
    snapshot = (await api.get("/_emulator/state/snapshot")).json
    [paybook] = snapshot["paybook"]["PB"]
    assert paybook["ct_failed"] == 7 and paybook["headers"] == {} and paybook["$created"]
    [gigapay] = snapshot["gigapay"]["GP"]
    assert gigapay["secret_key"] == "s3cret" and gigapay["$scope"] == "integration-1"


async def test_a_bad_document_is_a_400_naming_the_place_and_changes_nothing(api: Api) -> None:
    await api.post("/v1/webhooks", json={"url": "https://a.mx/1", "events": ["refresh"]}, headers=PAYBOOK)
    before = (await api.get("/_emulator/state/snapshot")).json
    bad_documents = {
        "at $.gigapay.GP[1].url: Enter a valid URL.": {"gigapay": {"GP": [
            {"url": "https://g.se/ok", "events": ["Registration.verified"]},
            {"url": "not a url", "events": ["Registration.verified"]}]}},
        "at $.nobody: no provider named 'nobody'": {"nobody": {}},
        "at $.syncfy.SY: a tenant": {"syncfy": {"SY": {"url": "https://s.mx"}}},
        "at $.syncfy.SY[0].colour: not a field of a syncfy webhook": {"syncfy": {"SY": [
            {"url": "https://s.mx/1", "events": ["credentials.created"], "colour": "red"}]}},
        "at $.gigapay.GP[0]: Integration-ID header is required": {"gigapay": {"GP": [
            {"url": "https://g.se/p", "events": ["Payout.created"]}]}},
        "at $.paybook.PB[0].ct_failed: 'many' is not of type 'integer'": {"paybook": {"PB": [
            {"url": "https://a.mx/1", "events": ["refresh"], "ct_failed": "many"}]}},
        "at $.centry.T[1]: the id '5f1e9b2c3d4e5f6a7b8c9d01' repeats": {"centry": {"T": [
            {"_id": "5f1e9b2c3d4e5f6a7b8c9d01", "callback_url": "https://c.cl/1"},
            {"_id": "5f1e9b2c3d4e5f6a7b8c9d01", "callback_url": "https://c.cl/2"}]}},
        "at $.$emulator.tokens.centry.A: 'owner' is a required property": {
            "$emulator": {"tokens": {"centry": {"A": {"expires": "2030-01-01T00:00:00+00:00", "refresh": "r",
                                                      "scope": ""}}}}},
    }
    for message, document in bad_documents.items():
        answer = await api.put("/_emulator/state", json=document)
        assert answer.status == 400, document
        assert answer.json["error"] == "validation" and answer.json["message"].startswith(message), answer.json
    not_json = await api.put("/_emulator/state", data=b"{", headers={"Content-Type": "application/json"})
    assert not_json.status == 400 and not_json.json["error"] == "malformed_body"
    assert (await api.get("/_emulator/state/snapshot")).json == before


async def test_a_webhook_created_without_the_providers_auth_is_served_by_its_api(api: Api) -> None:
    fixed = "5f1e9b2c3d4e5f6a7b8c9d0e"
    made = await api.post("/_emulator/providers/syncfy/webhooks", json={
        "tenant": "SY", "webhook": {"id_subscription": fixed, "url": "https://s.mx/1",
                                    "events": ["credentials.created"], "group_events": 0}})
    assert made.status == 201
    assert made.json["webhook"]["id_subscription"] == fixed and made.json["tenant"] == "SY"
    listed = (await api.get("/v1/webhooks/subscriptions", headers=SYNCFY)).json["response"]
    assert [w["id_subscription"] for w in listed] == [fixed]
    scoped = await api.post("/_emulator/providers/gigapay/webhooks", json={
        "tenant": "GP", "scope": "integration-1",
        "webhook": {"id": "hook-1", "url": "https://g.se/p", "events": ["Payout.created"], "secret_key": "fixed"}})
    assert scoped.json["scope"] == "integration-1" and scoped.json["webhook"]["secret_key"] == "fixed"
    assert (await api.get("/v2/webhooks/hook-1/", headers=GIGAPAY)).json["secret_key"] == "fixed"
    assert (await api.get("/v2/webhooks/hook-1/", headers=GIGAPAY_USER)).status == 404


async def test_creating_a_webhook_is_validated_like_the_api(api: Api) -> None:
    cases = [
        ("syncfy", {"tenant": "SY", "webhook": {"url": "https://s.mx/1"}}, "at $.webhook.events: events is required"),
        ("syncfy", {"webhook": {"url": "https://s.mx/1", "events": ["credentials.created"]}}, "tenant is required"),
        ("gigapay", {"tenant": "GP", "webhook": {"url": "https://g.se/p", "events": ["Payout.created"]}},
         "at $.webhook: Integration-ID header is required"),
        ("nobody", {"tenant": "T", "webhook": {}}, "no provider named 'nobody'"),
    ]
    for provider, body, message in cases:
        answer = await api.post(f"/_emulator/providers/{provider}/webhooks", json=body)
        assert answer.status in (400, 404) and answer.json["message"].startswith(message), answer.json
    await api.post("/_emulator/providers/centry/webhooks", json={"tenant": "T", "webhook": {
        "_id": "5f1e9b2c3d4e5f6a7b8c9d02", "callback_url": "https://c.cl/1"}})
    again = await api.post("/_emulator/providers/centry/webhooks", json={"tenant": "T", "webhook": {
        "_id": "5f1e9b2c3d4e5f6a7b8c9d02", "callback_url": "https://c.cl/2"}})
    assert again.status == 400 and "already has a webhook '5f1e9b2c3d4e5f6a7b8c9d02'" in again.json["message"]
