"""Paybook Sync API v1 webhooks (seed 000): the envelope, three ways to pass the key, the method
override header, create shape vs list shape, skip/limit, and `true` for a delete."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from emulator.receiver import Receiver
from tests.conftest import Answer, Api, MakeApi
from tests.providers.clients import auth
from tests.providers.conftest import AUTH as DELIVERY_AUTH
from tests.providers.conftest import (
    FAST,
    check_notification,
    closed_url,
    delivery,
    fired,
    paths,
    register,
    settled,
)
from tests.providers.conftest import fire as fire_event

AUTH = auth("paybook", "YOUR_API_KEY")
HEX24 = re.compile(r"^[0-9a-f]{24}$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SEED_BODY = {"url": "https://webhook_domain/my_webhook",
             "events": ["credential_create", "credential_update", "refresh"]}


async def create(api: Api, headers: dict[str, str] = AUTH, **fields: Any) -> Answer:
    return await api.post("/v1/webhooks", json={**SEED_BODY, **fields}, headers=headers)


def assert_envelope(answer: Answer, code: int, ok: bool) -> None:
    body = answer.json
    assert answer.status == code == body["code"]
    assert list(body) == ["rid", "code", "errors", "status", "message", "response"]
    assert UUID4.match(body["rid"])
    assert body["status"] is ok and body["errors"] is None


async def test_create_answers_200_in_the_create_shape(api: Api) -> None:
    answer = await create(api)
    assert_envelope(answer, 200, True)
    webhook = answer.json["response"]
    assert list(webhook) == ["id_webhook", "id_user", "events", "url", "delay", "dt_created", "dt_modified"]
    assert HEX24.match(webhook["id_webhook"])
    assert isinstance(webhook["dt_created"], int)
    assert (webhook["id_user"], webhook["delay"], webhook["dt_modified"]) == (None, 0, None)
    assert webhook["events"] == SEED_BODY["events"]


async def test_list_answers_the_list_shape(api: Api) -> None:
    created = (await create(api, delay=30)).json["response"]
    answer = await api.get("/v1/webhooks", headers=AUTH)
    assert_envelope(answer, 200, True)
    [webhook] = answer.json["response"]
    assert webhook["id_webhook"] == created["id_webhook"]
    assert (webhook["is_disabled"], webhook["ct_failed"], webhook["delay"]) == (0, 0, 30)
    assert ISO.match(webhook["dt_created"]) and webhook["dt_modified"] is None
    assert "headers" not in webhook  # custom headers are stored, never echoed


async def test_seeded_create_time_is_the_unix_form_of_the_list_time(make_api: MakeApi) -> None:
    api = await make_api(seed=1)
    created = (await create(api)).json["response"]
    listed = (await api.get("/v1/webhooks", headers=AUTH)).json["response"][0]
    assert created["dt_created"] == 1704164645
    assert listed["dt_created"] == "2024-01-02T03:04:05+00:00"


async def test_each_post_creates_a_new_webhook(api: Api) -> None:
    first, second = (await create(api)).json["response"], (await create(api)).json["response"]
    assert first["id_webhook"] != second["id_webhook"]
    assert len((await api.get("/v1/webhooks", headers=AUTH)).json["response"]) == 2


async def test_empty_account_lists_an_empty_array(api: Api) -> None:
    assert (await api.get("/v1/webhooks", headers=AUTH)).json["response"] == []


async def test_delete_answers_true_and_the_webhook_is_gone(api: Api) -> None:
    webhook_id = (await create(api)).json["response"]["id_webhook"]
    answer = await api.delete(f"/v1/webhooks/{webhook_id}", headers=AUTH)
    assert_envelope(answer, 200, True)
    assert answer.json["response"] is True
    assert (await api.get("/v1/webhooks", headers=AUTH)).json["response"] == []
    again = await api.delete(f"/v1/webhooks/{webhook_id}", headers=AUTH)
    assert_envelope(again, 404, False)
    assert again.json["message"] == "Not Found"


@pytest.mark.parametrize(("path", "kwargs"), [
    ("/v1/webhooks", {"headers": {"Authorization": "API_KEY api_key=K"}}),
    ("/v1/webhooks", {"headers": {"Authorization": "api_key api_key=K,id_user=5e751d54d0510472295413b3"}}),
    ("/v1/webhooks?api_key=K", {}),
    ("/v1/webhooks", {"json": {"api_key": "K"}, "headers": {"X-Http-Method-Override": "GET"}}),
])
async def test_the_key_is_read_from_header_query_or_body(api: Api, path: str, kwargs: dict[str, Any]) -> None:
    await create(api, headers={"Authorization": "api_key api_key=K"})
    method = "POST" if "json" in kwargs else "GET"
    answer = await api.request(method, path, **kwargs)
    assert answer.status == 200
    assert len(answer.json["response"]) == 1


async def test_the_body_key_is_not_stored_as_a_field(api: Api) -> None:
    answer = await api.post("/v1/webhooks", json={**SEED_BODY, "api_key": "K"})
    assert answer.status == 200
    assert "api_key" not in answer.json["response"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Token K"}, {"Authorization": "api_key api_key="}])
async def test_missing_key_is_401_in_the_envelope(api: Api, headers: dict[str, str]) -> None:
    answer = await api.get("/v1/webhooks", headers=headers)
    assert_envelope(answer, 401, False)
    assert (answer.json["message"], answer.json["response"]) == ("Unauthorized", None)


async def test_method_override_turns_a_post_into_a_delete(api: Api) -> None:
    webhook_id = (await create(api)).json["response"]["id_webhook"]
    answer = await api.post(f"/v1/webhooks/{webhook_id}", json={}, headers={**AUTH, "X-Http-Method-Override": "DELETE"})
    assert answer.json["response"] is True
    assert (await api.get("/v1/webhooks", headers=AUTH)).json["response"] == []


@pytest.mark.parametrize(("body", "message"), [
    ({"events": ["refresh"]}, "Bad Request: url is required"),
    ({"url": "ftp://x", "events": ["refresh"]}, "Bad Request: url must be an http(s) URL"),
    ({"url": "https://x.mx/h", "events": []}, "Bad Request: events must not be empty"),
    ({"url": "https://x.mx/h", "events": ["nope"]}, "Bad Request: events.0: nope is not a valid event"),
    ({"url": "https://x.mx/h", "events": ["refresh"], "delay": -1}, "Bad Request: delay must be >= 0"),
])
async def test_validation_errors_are_400_in_the_envelope(api: Api, body: dict[str, Any], message: str) -> None:
    answer = await api.post("/v1/webhooks", json=body, headers=AUTH)
    assert_envelope(answer, 400, False)
    assert answer.json["message"] == message


async def test_malformed_json_is_400(api: Api) -> None:
    answer = await api.post("/v1/webhooks", data=b"{", headers={**AUTH, "Content-Type": "application/json"})
    assert_envelope(answer, 400, False)
    assert answer.json["message"].startswith("Bad Request: invalid JSON")


async def test_unsupported_method_is_405(api: Api) -> None:
    answer = await api.put("/v1/webhooks", json={}, headers=AUTH)
    assert_envelope(answer, 405, False)
    assert answer.json["message"] == "Method Not Allowed"


async def test_unknown_path_is_404_in_the_envelope(api: Api) -> None:
    answer = await api.get("/v1/nothing-here", headers=AUTH)
    assert_envelope(answer, 404, False)


def listed(answer: Answer) -> list[str]:
    return [w["id_webhook"] for w in answer.json["response"]]


async def test_skip_and_limit_page_in_creation_order(api: Api) -> None:
    ids = [(await create(api)).json["response"]["id_webhook"] for _ in range(5)]
    assert listed(await api.get("/v1/webhooks?skip=1&limit=2", headers=AUTH)) == ids[1:3]
    assert listed(await api.get("/v1/webhooks?limit=0", headers=AUTH)) == []
    assert listed(await api.get("/v1/webhooks?skip=10", headers=AUTH)) == []
    assert listed(await api.get("/v1/webhooks", headers=AUTH)) == ids


@pytest.mark.parametrize("query", ["limit=-1", "skip=x"])
async def test_bad_paging_parameters_are_400(api: Api, query: str) -> None:
    answer = await api.get(f"/v1/webhooks?{query}", headers=AUTH)
    assert_envelope(answer, 400, False)


async def test_trailing_slash_and_double_slashes_are_tolerated(api: Api) -> None:
    await create(api)
    for path in ("/v1/webhooks/", "//v1//webhooks"):
        assert len((await api.get(path, headers=AUTH)).json["response"]) == 1


async def test_a_path_served_before_still_honours_the_method_override(api: Api) -> None:
    """A route found for a path is remembered; a POST to the same path with an override header is
    still the overriding method, and the plain POST after it still a create."""
    assert (await api.post("/v1/webhooks", json=SEED_BODY, headers=AUTH)).status == 200
    listed = await api.post("/v1/webhooks", json={}, headers={**AUTH, "X-Http-Method-Override": "GET"})
    assert listed.status == 200 and len(listed.json["response"]) == 1
    assert (await api.post("/v1/webhooks", json=SEED_BODY, headers=AUTH)).json["response"]["url"] == SEED_BODY["url"]
    webhook_id = listed.json["response"][0]["id_webhook"]
    for method in ("GET", "PUT"):  # one path, remembered for one method, then asked with another
        answer = await api.request(method, f"/v1/webhooks/{webhook_id}", headers=AUTH)
        assert answer.status == 405, (method, answer.json)
    gone = await api.post(f"/v1/webhooks/{webhook_id}", json={}, headers={**AUTH, "X-Http-Method-Override": "DELETE"})
    assert gone.json["response"] is True
    assert len((await api.post("/v1/webhooks", json={}, headers={**AUTH, "X-Http-Method-Override": "get"}))
               .json["response"]) == 1


# -- notifications: id_user routing (issue 17 item 1), documents paths (item 5) -------------------

USER_A, USER_B = "5d9a2d1f0b212a7f5e8b4567", "5d9a2d1f0b212a7f5e8b4568"


async def fire(api: Api, event: str, **data: Any) -> list[dict[str, Any]]:
    answer = await api.post("/_emulator/events", json={"provider": "paybook", "event": event, "data": data})
    assert answer.status == 202, answer.json
    return answer.json["deliveries"]  # type: ignore[no-any-return]


async def user_webhooks(api: Api) -> dict[str | None, str]:
    """Three webhooks on one account: one for user A, one for user B, one for every user (null)."""
    made = {}
    for user in (USER_A, USER_B, None):
        made[user] = (await create(api, url="http://127.0.0.1:9/hook", id_user=user)).json["response"]["id_webhook"]
    return made


async def test_a_webhook_for_one_user_gets_only_that_users_events(api: Api) -> None:
    hooks = await user_webhooks(api)
    sent = await fire(api, "credential_create", id_user=USER_A)
    assert sorted(d["webhook_id"] for d in sent) == sorted([hooks[USER_A], hooks[None]])
    assert {json.loads(d["body"])["id_user"] for d in sent} == {USER_A}


async def test_a_firing_without_a_user_carries_each_webhooks_own_user(api: Api) -> None:
    hooks = await user_webhooks(api)
    sent = {d["webhook_id"]: json.loads(d["body"]) for d in await fire(api, "refresh")}
    assert set(sent) == set(hooks.values())
    assert sent[hooks[USER_A]]["id_user"] == USER_A and sent[hooks[USER_B]]["id_user"] == USER_B
    assert HEX24.match(sent[hooks[None]]["id_user"]) and sent[hooks[None]]["id_user"] not in (USER_A, USER_B)
    assert len({p["id_credential"] for p in sent.values()}) == 1  # one event, one credential, per user


async def test_documents_completed_links_the_documented_paths(api: Api) -> None:
    await create(api, url="http://127.0.0.1:9/hook", events=["documents_completed"])
    [sent] = await fire(api, "documents_completed")
    payload = json.loads(sent["body"])
    base = f"/v1/webhooks/events/{payload['uuid']}/documents"
    assert payload["endpoints"] == {"documents": [f"{base}?limit=1000&skip=0"],
                                    "documents_json": [f"{base}/json?limit=1000&skip=0"],
                                    "documents_zip": [f"{base}/zip?limit=1000&skip=0"]}
    assert payload["id_external"] is None


async def test_the_events_of_one_firing_share_their_job_user_and_credential(api: Api) -> None:
    await create(api, url="http://127.0.0.1:9/hook")
    sent = [json.loads(d["body"]) for d in await fire(api, "credential_create")]
    sent += [json.loads(d["body"]) for d in await fire(api, "credential_update")]
    together = [json.loads(d["body"]) for d in (await api.post("/_emulator/events", json={
        "provider": "paybook", "event": ["credential_create", "credential_update", "refresh"]})).json["deliveries"]]
    keys = ("id_job", "id_job_uuid", "id_user", "id_credential")
    assert len({tuple(p[k] for k in keys) for p in together}) == 1
    assert sent[0]["id_job"] != sent[1]["id_job"]  # separate firings, separate jobs


async def test_a_webhook_disabled_by_failures_gets_its_dt_modified(make_api: MakeApi) -> None:
    api = await make_api(time_scale=1e-6)
    state = {"paybook": {"YOUR_API_KEY": [{**SEED_BODY, "url": "http://127.0.0.1:9/closed", "ct_failed": 1000}]}}
    assert (await api.put("/_emulator/state", json=state)).status == 200
    await api.post("/_emulator/events", json={"provider": "paybook", "event": "refresh", "wait": True})
    [webhook] = (await api.get("/v1/webhooks", headers=AUTH)).json["response"]
    assert (webhook["is_disabled"], webhook["ct_failed"]) == (1, 1001)
    assert ISO.match(webhook["dt_modified"])


async def test_options_is_a_preflight_with_the_documented_cors_headers(api: Api) -> None:
    preflight = await api.request("OPTIONS", "/v1/webhooks", headers={"Origin": "https://app.example.com"})
    assert (preflight.status, preflight.raw) == (200, b"")
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert preflight.headers["Access-Control-Allow-Methods"] == "HEAD, POST, GET, DELETE, PUT, OPTIONS"
    refused = await api.get("/v1/webhooks")
    assert refused.status == 401 and refused.headers["Access-Control-Allow-Origin"] == "*"
    assert refused.headers["Pragma"] == "no-cache"


# -- deliveries seen by a receiver, with the consumers' verifiers (tests/providers/conftest.py) ----

async def test_paybook_data_deep_merges_and_sets_every_use_of_a_fresh_id(receiver: Receiver,
                                                                         make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    data = {"id_credential": "5e751d54d0510472295413b3", "endpoints": {"extra": ["/x"]}, "is_executing": 0}
    await fired(api, provider="paybook", event="credential_create", url=receiver.url, data=data)
    [got] = receiver.received
    body = check_notification(api, "paybook", got, ["credential_create"])
    assert body["id_credential"] == "5e751d54d0510472295413b3" and body["is_executing"] == 0
    assert body["endpoints"] == {"credential": ["/v1/credentials/5e751d54d0510472295413b3"], "extra": ["/x"]}
    assert body["id_site"] == "5da784f1f9de2a06483abec1"  # untouched sample values stay


async def test_paybook_counts_failed_attempts_in_ct_failed(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    webhook = await register(api, "paybook", receiver.url, ["refresh"])
    receiver.respond_with(500, 503)
    [sent] = await fired(api, provider="paybook", event="refresh")
    assert sent["status"] == "delivered"
    [shown] = (await api.get("/v1/webhooks", headers=DELIVERY_AUTH["paybook"])).json["response"]
    assert shown["id_webhook"] == webhook["id_webhook"]
    assert (shown["ct_failed"], shown["is_disabled"]) == (2, 0)


async def test_paybook_disables_a_webhook_past_1000_failures(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    all_events = ["credential_create", "credential_update", "refresh", "documents_completed"]
    broken = await register(api, "paybook", closed_url(), all_events)

    async def shown() -> dict[str, Any]:
        [found] = [w for w in (await api.get("/v1/webhooks", headers=DELIVERY_AUTH["paybook"])).json["response"]
                   if w["id_webhook"] == broken["id_webhook"]]
        return found

    # 41 firings of 4 events, 6 failed attempts each, and one of 2 events: 996 failures.
    for _ in range(41):
        await fired(api, provider="paybook", event=all_events)
    assert ((await shown())["ct_failed"], (await shown())["is_disabled"]) == (984, 0)
    await fired(api, provider="paybook", event=all_events[:2])
    assert ((await shown())["ct_failed"], (await shown())["is_disabled"]) == (996, 0)

    await register(api, "paybook", receiver.url + "/healthy", ["credential_create"])
    deliveries = await fired(api, provider="paybook", event="credential_create")
    [to_broken] = [d for d in deliveries if d["webhook_id"] == broken["id_webhook"]]
    assert to_broken["status"] == "failed"
    # The 1001st failure disables it; it receives nothing more, not even the rest of the schedule.
    assert len(to_broken["attempts"]) == 5
    assert ((await shown())["ct_failed"], (await shown())["is_disabled"]) == (1001, 1)

    later = await fired(api, provider="paybook", event="credential_create")
    assert [d["url"] for d in later] == [receiver.url + "/healthy"]
    assert paths(receiver) == ["/healthy", "/healthy"]


async def test_paybook_waits_the_webhooks_delay_before_the_first_attempt(receiver: Receiver,
                                                                        make_api: MakeApi) -> None:
    api = await make_api(time_scale=0.001)
    await register(api, "paybook", receiver.url, ["credential_create"], delay=500)  # 0.5 s at this scale
    [pending] = (await fire_event(api, provider="paybook", event="credential_create")).json["deliveries"]
    assert pending["status"] == "pending" and pending["attempts"] == []
    waiting = await delivery(api, pending["id"])
    assert waiting["next_attempt_at"] is not None and waiting["attempts"] == [] and receiver.received == []
    assert (await settled(api, pending["id"]))["status"] == "delivered"
    assert len(receiver.received) == 1
