"""Syncfy Webhooks V3 subscriptions (seed 001 and PROVIDERS.md): the Postman collection's CRUD
under /v1/webhooks/subscriptions with Paybook v1's auth and envelope."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from emulator.delivery.signing import jwk_key
from tests.conftest import Answer, Api
from tests.providers.clients import auth

AUTH = auth("syncfy", "YOUR_API_KEY")
BASE = "/v1/webhooks/subscriptions"
PRODUCTION = "574894bf7848066d138b4571"
SANDBOX = "574894bf7848066d138b4570"


async def create(api: Api, **fields: Any) -> Answer:
    body = {"url": "https://example.com/syncfy", "events": ["credentials.created"], **fields}
    return await api.post(BASE, json=body, headers=AUTH)


def response(answer: Answer) -> Any:
    assert answer.json["code"] == answer.status
    return answer.json["response"]


async def test_create_answers_the_subscription_in_the_envelope(api: Api) -> None:
    answer = await create(api, id_environment=PRODUCTION, description="main", group_events=1,
                          events=["credentials.created", "documents.fail"])
    assert answer.status == 200 and answer.json["status"] is True
    sub = response(answer)
    assert list(sub) == ["id_subscription", "id_environment", "description", "events", "group_events", "url",
                         "headers", "dt_created", "dt_modified"]
    assert re.fullmatch(r"[0-9a-f]{24}", sub["id_subscription"])
    assert (sub["id_environment"], sub["description"], sub["group_events"]) == (PRODUCTION, "main", 1)
    assert sub["events"] == ["credentials.created", "documents.fail"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", sub["dt_created"]) and sub["dt_modified"] is None


async def test_defaults_are_the_sandbox_and_one_event_per_notification(api: Api) -> None:
    sub = response(await create(api))
    assert (sub["id_environment"], sub["group_events"], sub["headers"], sub["description"]) == (SANDBOX, 0, {}, "")


async def test_custom_headers_are_kept(api: Api) -> None:
    sub = response(await create(api, headers={"X-Token": "abc"}))
    assert sub["headers"] == {"X-Token": "abc"}


async def test_list_retrieve_update_delete(api: Api) -> None:
    sub = response(await create(api))
    path = f"{BASE}/{sub['id_subscription']}"
    assert response(await api.get(BASE, headers=AUTH)) == [sub]
    assert response(await api.get(path, headers=AUTH)) == sub

    updated = response(await api.put(path, json={"events": ["documents.success"], "group_events": 1}, headers=AUTH))
    assert updated["events"] == ["documents.success"] and updated["group_events"] == 1
    assert updated["url"] == sub["url"]  # PUT changes only what it is given
    assert updated["dt_modified"] is not None

    deleted = await api.delete(path, headers=AUTH)
    assert response(deleted) is True
    gone = await api.get(path, headers=AUTH)
    assert (gone.status, gone.json["message"]) == (404, "Not Found")


async def test_the_docs_failure_name_is_accepted(api: Api) -> None:
    assert (await create(api, events=["documents.failed"])).status == 200


@pytest.mark.parametrize(("body", "message"), [
    ({"events": ["credentials.created"]}, "Bad Request: url is required"),
    ({"url": "nope", "events": ["credentials.created"]}, "Bad Request: url must be an http(s) URL"),
    ({"url": "https://x.mx", "events": ["credential_create"]},
     "Bad Request: events.0: credential_create is not a valid value"),
    ({"url": "https://x.mx", "events": ["credentials.created"], "group_events": 2},
     "Bad Request: group_events: 2 is not a valid value"),
])
async def test_validation_errors(api: Api, body: dict[str, Any], message: str) -> None:
    answer = await api.post(BASE, json=body, headers=AUTH)
    assert (answer.status, answer.json["status"], answer.json["message"]) == (400, False, message)


async def test_headers_must_be_an_object_of_strings(api: Api) -> None:
    answer = await create(api, headers={"X-N": 1})
    assert answer.status == 400
    assert answer.json["message"].startswith("Bad Request: headers.X-N")


async def test_auth_from_query_or_body_and_401_without(api: Api) -> None:
    await create(api)
    assert len(response(await api.get(f"{BASE}?api_key=YOUR_API_KEY"))) == 1
    override = await api.post(BASE, json={"api_key": "YOUR_API_KEY"}, headers={"X-Http-Method-Override": "GET"})
    assert len(response(override)) == 1
    missing = await api.get(BASE)
    assert (missing.status, missing.json["message"]) == (401, "Unauthorized")


async def test_unknown_id_and_unsupported_method(api: Api) -> None:
    assert (await api.get(f"{BASE}/5e793889ea4c5165d46f9811", headers=AUTH)).status == 404
    patch = await api.patch(f"{BASE}/5e793889ea4c5165d46f9811", json={}, headers=AUTH)
    assert (patch.status, patch.json["message"]) == (405, "Method Not Allowed")


async def test_skip_and_limit(api: Api) -> None:
    ids = [response(await create(api))["id_subscription"] for _ in range(3)]
    page = response(await api.get(f"{BASE}?skip=1&limit=1", headers=AUTH))
    assert [s["id_subscription"] for s in page] == ids[1:2]


async def test_subscriptions_and_paybook_webhooks_do_not_mix(api: Api) -> None:
    await create(api)
    await api.post("/v1/webhooks", json={"url": "https://x.mx", "events": ["refresh"]}, headers=AUTH)
    assert len(response(await api.get(BASE, headers=AUTH))) == 1
    assert len(response(await api.get("/v1/webhooks", headers=AUTH))) == 1


# -- the event catalogue and subscriptions by event id (issue 17 item 2) ------------------------------

async def catalogue(api: Api, query: str = "") -> list[dict[str, str]]:
    answer = await api.get(f"/v1/catalogues/webhook3_events{query}", headers=AUTH)
    assert answer.status == 200 and answer.json["status"] is True
    return response(answer)  # type: ignore[no-any-return]


async def test_the_catalogue_lists_an_id_per_event_in_the_envelope(api: Api) -> None:
    entries = await catalogue(api)
    assert [e["name"] for e in entries] == ["credentials.created", "credentials.updated", "credentials.refreshed",
                                            "documents.completed", "documents.success", "documents.fail"]
    assert all(list(e) == ["id_webhook_event", "name"] and re.fullmatch(r"[0-9a-f]{24}", e["id_webhook_event"])
               for e in entries)
    assert len({e["id_webhook_event"] for e in entries}) == 6
    assert await catalogue(api, "?skip=1&limit=2") == entries[1:3]
    assert (await api.get("/v1/catalogues/webhook3_events")).status == 401


async def test_a_subscription_by_event_id_is_kept_as_sent_and_gets_that_event(api: Api) -> None:
    ids = {e["name"]: e["id_webhook_event"] for e in await catalogue(api)}
    # The Postman collection's Add Subscription body, with the id of an event the emulator has.
    body = {"id_environment": SANDBOX, "description": "test3", "events": [ids["documents.completed"]],
            "group_events": 1, "url": "http://127.0.0.1:9/syncfy"}
    sub = response(await api.post(BASE, json=body, headers=AUTH))
    assert sub["events"] == [ids["documents.completed"]]
    updated = response(await api.put(f"{BASE}/{sub['id_subscription']}", json={
        **body, "description": "test2", "events": [ids["credentials.created"], ids["documents.completed"]]},
        headers=AUTH))
    assert updated["events"] == [ids["credentials.created"], ids["documents.completed"]]
    fired = await api.post("/_emulator/events", json={"provider": "syncfy", "event": "credentials.created"})
    assert [d["webhook_id"] for d in fired.json["deliveries"]] == [sub["id_subscription"]]
    unknown = await api.post(BASE, json={**body, "events": ["5ed54ea7f79417520c0015ff"]}, headers=AUTH)
    assert unknown.status == 400


async def test_a_bad_environment_filter_is_a_400_in_the_envelope(api: Api) -> None:
    await create(api)
    answer = await api.get(f"{BASE}?id_environment=bad", headers=AUTH)
    assert (answer.status, answer.json["status"], answer.json["code"]) == (400, False, 400)
    assert "id_environment must be a 24-character hex id" in answer.json["message"]


async def test_the_list_filters_by_environment(api: Api) -> None:
    sandbox = response(await create(api, id_environment=SANDBOX))["id_subscription"]
    production = response(await create(api, id_environment=PRODUCTION))["id_subscription"]
    listed = response(await api.get(f"{BASE}?id_environment={PRODUCTION}", headers=AUTH))
    assert [s["id_subscription"] for s in listed] == [production]
    both = response(await api.get(BASE, headers=AUTH))
    assert [s["id_subscription"] for s in both] == [sandbox, production]


async def test_the_signing_key_decodes_the_same_under_standard_and_url_safe_base64(api: Api) -> None:
    """A receiver that reads the dashboard key with `base64.b64decode` (standard alphabet, padding
    checked) gets the same bytes as one that reads it as the JWK's base64url (issue 17 item 9)."""
    k = (await api.get("/_emulator/providers/syncfy/jwk")).json["k"]
    assert len(k) % 4 == 0 and k.isalnum()
    assert base64.b64decode(k, validate=True) == base64.urlsafe_b64decode(k) == jwk_key({"k": k})
    assert len(base64.b64decode(k)) >= 32  # at least HS256's key size


async def test_credentials_refreshed_links_one_url_per_list_with_the_refreshed_window(api: Api) -> None:
    await create(api, url="http://127.0.0.1:9/syncfy", events=["credentials.refreshed"])
    [sent] = (await api.post("/_emulator/events", json={"provider": "syncfy", "event": "credentials.refreshed"})
              ).json["deliveries"]
    payload = json.loads(sent["body"])["events"][0]["payload"]
    endpoints = payload["endpoints"]
    assert {k: len(v) for k, v in endpoints.items()} == {"accounts": 1, "attachments": 1, "credential": 1,
                                                         "transactions": 1}
    window = re.search(r"dt_refresh_from=(\d+)&dt_refresh_to=(\d+)&limit=5000&skip=0&wbhk=1$", endpoints["accounts"][0])
    assert window and int(window[2]) - int(window[1]) == 32
    assert payload["id_job_type"] == payload["id_job_uuid_type"]


async def test_a_grouped_notification_is_one_job_of_one_user(api: Api) -> None:
    await create(api, url="http://127.0.0.1:9/syncfy", group_events=1,
                 events=["credentials.created", "credentials.updated", "documents.completed", "documents.success"])
    [sent] = (await api.post("/_emulator/events", json={"provider": "syncfy", "event": [
        "credentials.created", "credentials.updated", "documents.completed", "documents.success"]})).json["deliveries"]
    events = json.loads(sent["body"])["events"]
    assert len(events) == 4
    assert len({(e["payload"]["id_job"], e["payload"]["id_job_uuid"], e["header"]["user"]["id_user"])
                for e in events}) == 1
    assert len({e["header"]["event"]["eid"] for e in events}) == 4
