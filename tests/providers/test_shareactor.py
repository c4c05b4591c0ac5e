"""ShareActor webhooks (seed 002): Mongo extended JSON, three key headers, soft delete,
size/page/sort paging with the total in X-Pagination-Total, and the simulate route."""

from __future__ import annotations

import re
from typing import Any

import pytest

from emulator.delivery.signing import sign
from emulator.receiver import Receiver
from tests.conftest import Answer, Api, MakeApi
from tests.providers.clients import auth
from tests.providers.conftest import AUTH as DELIVERY_AUTH
from tests.providers.conftest import (
    FAST,
    OTHER_AUTH,
    SHAREACTOR_EXAMPLE_SECRET,
    SPECS,
    check_notification,
    fired,
    fired_at,
    paths,
    register,
    shareactor_signature,
    signature_valid,
)

AUTH = auth("shareactor", "MY_KEY")
OID = re.compile(r"^[0-9a-f]{24}$")


async def create(api: Api, headers: dict[str, str] = AUTH, **fields: Any) -> Answer:
    body = {"endpoint": "https://example.com/share", "event_type": "order.created", **fields}
    return await api.post("/webhooks", json=body, headers=headers)


async def test_create_reproduces_the_seed_object(api: Api) -> None:
    answer = await create(api)
    assert answer.status == 200
    webhook = answer.json
    assert list(webhook) == ["_id", "company", "created", "updated", "event_type", "deleted", "secret", "endpoint"]
    assert OID.match(webhook["_id"]["$oid"]) and OID.match(webhook["company"]["$oid"])
    assert isinstance(webhook["created"]["$date"], int) and webhook["created"] == webhook["updated"]
    assert re.fullmatch(r"[0-9a-f]{60}", webhook["secret"])
    assert (webhook["event_type"], webhook["deleted"], webhook["endpoint"]) == (
        "order.created", False, "https://example.com/share")


async def test_seeded_dates_are_epoch_milliseconds_from_the_seeded_start(make_api: MakeApi) -> None:
    webhook = (await create(await make_api(seed=1))).json
    assert 1704164645678 <= webhook["created"]["$date"] < 1704164645678 + 1000  # 2024-01-02T03:04:05.678Z


async def test_one_company_per_api_key(api: Api) -> None:
    first, second = (await create(api)).json, (await create(api)).json
    other = (await create(api, headers={"X-Share-Api-Key": "OTHER"})).json
    assert first["company"] == second["company"] != other["company"]


@pytest.mark.parametrize("header", ["X-Share-Api-Key", "X-Kvass-Api-Key", "X-Builton-API-Key", "x-builton-api-key"])
async def test_all_three_key_headers_are_one_tenant(api: Api, header: str) -> None:
    await create(api)
    answer = await api.get("/webhooks", headers={header: "MY_KEY"})
    assert len(answer.json) == 1


async def test_missing_key_is_401(api: Api) -> None:
    answer = await api.get("/webhooks")
    assert (answer.status, answer.json) == (401, {"message": "Missing or invalid API key", "status": 401})


async def test_strict_mode_requires_the_bearer_token(make_api: MakeApi) -> None:
    api = await make_api(strict=True, credentials={"shareactor": ["MY_KEY"]})
    assert (await api.get("/webhooks", headers=AUTH)).status == 401
    assert (await api.get("/webhooks", headers={**AUTH, "Authorization": "Bearer eyJ.jwt"})).status == 200


async def test_retrieve_and_partial_update_moves_updated(api: Api) -> None:
    webhook = (await create(api)).json
    path = f"/webhooks/{webhook['_id']['$oid']}"
    assert (await api.get(path, headers=AUTH)).json == webhook
    api.state.clock.advance(2)
    updated = (await api.put(path, json={"event_type": "order.updated"}, headers=AUTH)).json
    assert updated["event_type"] == "order.updated" and updated["endpoint"] == webhook["endpoint"]
    assert updated["updated"]["$date"] > webhook["updated"]["$date"]
    assert updated["created"] == webhook["created"] and updated["secret"] == webhook["secret"]


async def test_delete_is_soft_and_hides_the_webhook(api: Api) -> None:
    webhook = (await create(api)).json
    path = f"/webhooks/{webhook['_id']['$oid']}"
    deleted = await api.delete(path, headers=AUTH)
    assert deleted.status == 200
    assert deleted.json == {**deleted.json, "_id": webhook["_id"], "deleted": True}
    assert (await api.get(path, headers=AUTH)).json == {"message": "Not Found", "status": 404}
    assert (await api.get("/webhooks", headers=AUTH)).json == []
    state = (await api.get("/_emulator/state?provider=shareactor")).json
    assert state["shareactor"]["tenants"]["MY_KEY"]["deleted"][0]["deleted"] is True


@pytest.mark.parametrize(("body", "message"), [
    ({"event_type": "order.created"}, "endpoint is required"),
    ({"endpoint": "https://x.io"}, "event_type is required"),
    ({"endpoint": "mailto:x", "event_type": "order.created"}, "endpoint must be an http(s) URL"),
    ({"endpoint": "https://x.io", "event_type": "order.shipped"},
     "event_type: order.shipped is not a valid event type"),
])
async def test_validation_errors(api: Api, body: dict[str, Any], message: str) -> None:
    answer = await api.post("/webhooks", json=body, headers=AUTH)
    assert (answer.status, answer.json) == (400, {"message": message, "status": 400})


async def test_unknown_and_malformed_ids_are_404(api: Api) -> None:
    for webhook_id in ("5964a0ead57ba2036750a3b4", "not-an-id"):
        assert (await api.get(f"/webhooks/{webhook_id}", headers=AUTH)).status == 404


async def test_unsupported_method_is_405(api: Api) -> None:
    answer = await api.patch("/webhooks", json={}, headers=AUTH)
    assert answer.status == 405 and answer.json["status"] == 405


async def test_list_pages_with_a_total_header(api: Api) -> None:
    ids = []
    for _ in range(12):
        ids.append((await create(api)).json["_id"]["$oid"])
        api.state.clock.advance(1)
    first = await api.get("/webhooks", headers=AUTH)
    assert first.headers["X-Pagination-Total"] == "12"
    assert [w["_id"]["$oid"] for w in first.json] == ids[::-1][:10]  # size 10, -modified first
    second = await api.get("/webhooks?page=1", headers=AUTH)
    assert [w["_id"]["$oid"] for w in second.json] == ids[::-1][10:]
    assert (await api.get("/webhooks?page=5", headers=AUTH)).json == []


@pytest.mark.parametrize(("sort", "expected"), [("created", [0, 1, 2]), ("-created", [2, 1, 0]),
                                                ("modified", [0, 2, 1]), ("-modified", [1, 2, 0])])
async def test_sort_keys(api: Api, sort: str, expected: list[int]) -> None:
    ids = []
    for _ in range(3):
        ids.append((await create(api)).json["_id"]["$oid"])
        api.state.clock.advance(1)
    await api.put(f"/webhooks/{ids[1]}", json={"endpoint": "https://x.io/moved"}, headers=AUTH)
    answer = await api.get(f"/webhooks?sort={sort}", headers=AUTH)
    assert [w["_id"]["$oid"] for w in answer.json] == [ids[i] for i in expected]


async def test_sort_by_endpoint(api: Api) -> None:
    for endpoint in ("https://b.io", "https://a.io"):
        await create(api, endpoint=endpoint)
    answer = await api.get("/webhooks?sort=endpoint&size=1", headers=AUTH)
    assert [w["endpoint"] for w in answer.json] == ["https://a.io"]


@pytest.mark.parametrize("query", ["page=-1", "page=x", "sort=colour"])
async def test_bad_paging_is_400(api: Api, query: str) -> None:
    answer = await api.get(f"/webhooks?{query}", headers=AUTH)
    assert answer.status == 400 and answer.json["status"] == 400


async def test_simulate_answers_204(api: Api) -> None:
    webhook = (await create(api)).json
    answer = await api.post(f"/webhooks/{webhook['_id']['$oid']}/simulate", headers=AUTH)
    assert (answer.status, answer.raw) == (204, b"")


# -- search and date filters (issue 17 item 4) ------------------------------------------------------

def ids(answer: Answer) -> list[str]:
    assert answer.status == 200, answer.json
    return [w["_id"]["$oid"] for w in answer.json]


async def test_search_finds_webhooks_by_id_event_or_endpoint(api: Api) -> None:
    order = (await create(api, endpoint="https://shop.example.com/orders")).json["_id"]["$oid"]
    user = (await create(api, event_type="user.created", endpoint="https://crm.example.com/hook")).json["_id"]["$oid"]
    assert ids(await api.get("/webhooks/search?query=user.created", headers=AUTH)) == [user]
    assert ids(await api.get("/webhooks/search?query=SHOP.example", headers=AUTH)) == [order]
    assert ids(await api.get(f"/webhooks/search?query={order}", headers=AUTH)) == [order]
    assert ids(await api.get("/webhooks/search?query=nothing-like-it", headers=AUTH)) == []
    assert sorted(ids(await api.get("/webhooks/search", headers=AUTH))) == sorted([order, user])


async def test_from_date_and_to_date_bound_the_created_time_in_ms_or_seconds(make_api: MakeApi) -> None:
    api = await make_api(seed=1)
    first = (await create(api)).json
    at = first["created"]["$date"]
    assert ids(await api.get(f"/webhooks?from_date={at}", headers=AUTH)) == [first["_id"]["$oid"]]
    assert ids(await api.get(f"/webhooks?from_date={at + 1}", headers=AUTH)) == []
    assert ids(await api.get(f"/webhooks?to_date={at // 1000 - 1}", headers=AUTH)) == []  # seconds
    assert ids(await api.get(f"/webhooks/search?query=order&to_date={at}&date_filter=modified",
                             headers=AUTH)) == [first["_id"]["$oid"]]
    bad = await api.get("/webhooks?from_date=yesterday", headers=AUTH)
    assert (bad.status, bad.json["message"]) == (400, "from_date must be a timestamp (a number)")


# -- deliveries seen by a receiver, with the consumers' verifiers (tests/providers/conftest.py) ----

async def test_shareactor_worked_example_secret_signs_a_real_delivery(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    data = {"_id": {"$oid": "5964a0ead57ba2036750a3b4"}, "first_name": "John"}
    await fired(api, provider="shareactor", event="user.created", url=receiver.url,
                secret=SHAREACTOR_EXAMPLE_SECRET, data=data)
    [got] = receiver.received
    assert got.json["object"]["_id"] == {"$oid": "5964a0ead57ba2036750a3b4"}
    assert got.headers["X-Share-Webhook-Signature"] == shareactor_signature(SHAREACTOR_EXAMPLE_SECRET, got.body)


async def test_a_soft_deleted_shareactor_webhook_gets_nothing(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    gone = await register(api, "shareactor", receiver.url + "/gone", ["order.created"])
    await register(api, "shareactor", receiver.url + "/kept", ["order.created"])
    deleted = await api.delete(f"/webhooks/{gone['_id']['$oid']}", headers=DELIVERY_AUTH["shareactor"])
    assert deleted.status == 200 and deleted.json["deleted"] is True
    assert [d["url"] for d in await fired(api, provider="shareactor", event="order.created")] \
        == [receiver.url + "/kept"]
    assert paths(receiver) == ["/kept"]


async def test_shareactor_simulate_sends_that_webhooks_event_type_to_it(receiver: Receiver,
                                                                        make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    webhook = await register(api, "shareactor", receiver.url + "/sim", ["payment.failed"])
    await register(api, "shareactor", receiver.url + "/other", ["payment.failed"])
    answer = await api.post(f"/webhooks/{webhook['_id']['$oid']}/simulate", headers=DELIVERY_AUTH["shareactor"])
    assert answer.status == 204 and answer.raw == b""
    [got] = await receiver.wait_for_async(1)
    assert got.path == "/sim"
    body = check_notification(api, "shareactor", got, ["payment.failed"])
    assert body["kind"] == "payment.failed"
    assert signature_valid("shareactor", got, webhook["secret"])


async def test_a_shareactor_object_belongs_to_the_webhook_owners_company(receiver: Receiver,
                                                                          make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    mine = await register(api, "shareactor", f"{receiver.url}/mine", ["order.created"],
                          auth=DELIVERY_AUTH["shareactor"])
    theirs = await register(api, "shareactor", f"{receiver.url}/theirs", ["order.created"],
                            auth=OTHER_AUTH["shareactor"])
    assert mine["company"] != theirs["company"]
    deliveries = await fired(api, provider="shareactor", event="order.created")
    assert len(deliveries) == 2
    companies = {got.path: check_notification(api, "shareactor", got, ["order.created"])["object"]["company"]
                 for got in receiver.received}
    assert companies == {"/mine": mine["company"], "/theirs": theirs["company"]}


async def test_a_shareactor_object_at_an_explicit_url_names_a_company(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    await fired_at(api, "shareactor", ["user.created", "plan.deleted"], receiver.url)
    objects = [check_notification(api, "shareactor", got, [got.json["kind"]])["object"]
               for got in receiver.received]
    assert len(objects) == 2 and all(len(o["company"]["$oid"]) == 24 for o in objects)


async def test_data_still_overrides_the_company(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    company = {"$oid": "5964a0ead57ba2036750a3b4"}
    await fired_at(api, "shareactor", "order.created", receiver.url, data={"company": company})
    assert receiver.received[0].json["object"]["company"] == company


SHAREACTOR_BODY = b'{"object":{"_id":{"$oid":"5964a0ead57ba2036750a3b4"},"first_name":"John"}}'


def test_shareactor_worked_example() -> None:
    signed = sign(SPECS["shareactor"], SHAREACTOR_BODY,
                  "ed06e2f4e7bdb5ee6050695aba5ed3f2725fd3394df22f3a8a0c2856123a", 0, "rid")
    assert signed.headers == {
        "X-Share-Webhook-Signature": "7825b7d30098b886ab6969efdd834ed776cc4d94907468856e7997ffc704bf7a"}
    assert signed.body == SHAREACTOR_BODY
