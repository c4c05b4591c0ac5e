"""Syncfy Webhooks V3 subscriptions (seed 001 and PROVIDERS.md): the Postman collection's CRUD
under /v1/webhooks/subscriptions with Paybook v1's auth and envelope."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

import jwt
import pytest
import requests

from emulator.delivery.signing import jwk_key
from emulator.receiver import Receiver
from tests.conftest import Answer, Api, MakeApi
from tests.providers.clients import auth
from tests.providers.conftest import (
    FAST,
    carried_events,
    check_notification,
    fire_cli,
    fired,
    fired_at,
    jwk_key_bytes,
    jwk_of,
    register,
    signature_valid,
    syncfy_claims,
)

AUTH = auth("syncfy", "YOUR_API_KEY")
BASE = "/v1/webhooks/subscriptions"
PRODUCTION = "574894bf7848066d138b4571"
SANDBOX = "574894bf7848066d138b4570"
REFRESH_KEYS = {"endpoints", "event", "id_credential", "id_external", "id_job", "id_job_type", "id_job_uuid",
                "id_job_uuid_type", "id_site", "id_site_organization", "id_site_organization_type", "id_user"}


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


# -- deliveries seen by a receiver, with the consumers' verifiers (tests/providers/conftest.py) ----

async def test_a_jwk_put_through_the_control_api_signs_syncfy_notifications(receiver: Receiver,
                                                                           make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    key = b"my own 32-byte key for the tests"
    jwk = {"kty": "oct", "kid": "mine", "k": base64.urlsafe_b64encode(key).rstrip(b"=").decode()}
    assert (await api.put("/_emulator/providers/syncfy/jwk", json=jwk)).json == jwk
    assert await jwk_of(api) == jwk
    await register(api, "syncfy", receiver.url, ["documents.success"])
    await fired(api, provider="syncfy", event="documents.success")
    [got] = receiver.received
    token = got.headers["request-signature"]
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT", "kid": "mine"}
    claims = syncfy_claims(token, key, got.body)
    assert claims["exp"] - claims["iat"] == 300 and abs(claims["iat"] - time.time()) < 300
    with pytest.raises(jwt.InvalidSignatureError):
        syncfy_claims(token, b"another key of the same length..", got.body)


@pytest.mark.parametrize("body", [{"kty": "RSA", "k": "abc"}, {"kty": "oct"}, {"kty": "oct", "k": "not base64!"}])
async def test_a_bad_jwk_is_refused_and_the_old_one_kept(api: Api, body: dict[str, Any]) -> None:
    before = await jwk_of(api)
    answer = await api.put("/_emulator/providers/syncfy/jwk", json=body)
    assert answer.status == 400 and answer.json["message"]
    assert await jwk_of(api) == before


async def test_syncfy_groups_one_firings_events_only_when_asked(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    events = ["credentials.created", "documents.completed"]
    await register(api, "syncfy", receiver.url + "/grouped", events, group_events=1)
    await register(api, "syncfy", receiver.url + "/single", events, group_events=0)
    deliveries = await fired(api, provider="syncfy", event=events)
    assert len(deliveries) == 3
    grouped = [got for got in receiver.received if got.path == "/grouped"]
    single = [got for got in receiver.received if got.path == "/single"]
    assert len(grouped) == 1 and len(single) == 2
    check_notification(api, "syncfy", grouped[0], events)
    for got in single:
        [(name, _)] = carried_events("syncfy", got.json)
        check_notification(api, "syncfy", got, [name])
    assert sorted(carried_events("syncfy", got.json)[0][0] for got in single) == events
    jwk = await jwk_of(api)
    assert all(signature_valid("syncfy", got, jwk) for got in receiver.received)
    rids = [got.json["rid"] for got in receiver.received]
    assert len(set(rids)) == 3  # rid is per notification


async def test_syncfy_data_goes_into_the_payload_and_its_header(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    await fired(api, provider="syncfy", event="credentials.created", url=receiver.url,
                data={"id_user": "5e751d54d0510472295413b3"})
    [entry] = receiver.received[0].json["events"]
    assert entry["payload"]["id_user"] == "5e751d54d0510472295413b3"
    assert entry["header"]["user"]["id_user"] == "5e751d54d0510472295413b3"


async def test_stale_timestamp_makes_an_expired_syncfy_token(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    _, jwk = await fired_at(api, "syncfy", "documents.completed", receiver.url, signature="stale_timestamp")
    got = receiver.received[0]
    with pytest.raises(jwt.ExpiredSignatureError):
        syncfy_claims(got.headers["request-signature"], jwk_key_bytes(jwk), got.body)


async def test_syncfy_credentials_refreshed_is_the_v3_samples_refresh_payload(
        receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    await fired_at(api, "syncfy", "credentials.refreshed", receiver.url)
    [got] = receiver.received
    body = check_notification(api, "syncfy", got, ["credentials.refreshed"])
    payload = body["events"][0]["payload"]
    assert set(payload) == REFRESH_KEYS and payload["event"] == "refresh"
    credential = payload["id_credential"]
    assert sorted(payload["endpoints"]) == ["accounts", "attachments", "credential", "transactions"]
    [accounts] = payload["endpoints"]["accounts"]  # one URL a list, with the refreshed window (issue 17)
    assert accounts.startswith(f"/v1/accounts?id_credential={credential}&dt_refresh_from=")
    assert all(f"id_credential={credential}" in url for url in payload["endpoints"]["transactions"])
    assert len(payload["endpoints"]["attachments"]) == 1


async def test_syncfy_credentials_created_keeps_the_credential_payload(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    await fired_at(api, "syncfy", "credentials.created", receiver.url)
    payload = check_notification(api, "syncfy", receiver.received[0], ["credentials.created"])["events"][0]["payload"]
    assert list(payload["endpoints"]) == ["credential"] and payload["is_executing"] == 1
    assert "id_job_type" not in payload


def test_duplicates_keep_the_syncfy_event_ids(client: Any, receiver: Receiver) -> None:
    [sent] = client.fire("syncfy", "credentials.created", url=receiver.url_for("/s"), duplicate=2, wait=True)
    hits = receiver.wait_for(3)
    eids = [h.json["events"][0]["header"]["event"]["eid"] for h in hits]
    assert eids == sent["event_ids"] * 3
    assert len({h.json["rid"] for h in hits}) == 1


def test_reversed_grouped_syncfy_events_are_entries_in_reverse(client: Any, receiver: Receiver) -> None:
    headers = {"Authorization": "api_key api_key=SY"}
    answer = requests.post(client.url + "/v1/webhooks/subscriptions", headers=headers, timeout=10,
                           json={"url": receiver.url_for("/grouped"), "group_events": 1,
                                 "events": ["credentials.created", "credentials.updated"]})
    assert answer.status_code == 200, answer.text
    client.fire("syncfy", ["credentials.created", "credentials.updated"], order="reversed", wait=True)
    [got] = receiver.wait_for(1)
    assert [e["header"]["event"]["name"] for e in got.json["events"]] == ["credentials.updated", "credentials.created"]


async def test_fire_syncfy_signs_with_the_jwk_given_as_secret(receiver: Receiver) -> None:
    key = b"a key the test chose, 32 bytes.."
    jwk = {"kty": "oct", "kid": "cli", "k": base64.urlsafe_b64encode(key).rstrip(b"=").decode()}
    run = await fire_cli("syncfy", "documents.completed", "--url", receiver.url, "--secret", json.dumps(jwk))
    assert run.code == 0, run.err
    [got] = receiver.received
    assert syncfy_claims(got.headers["request-signature"], jwk_key_bytes(jwk), got.body)["rid"] == got.json["rid"]

