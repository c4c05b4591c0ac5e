"""Centry webhooks (seed 004) and its Doorkeeper OAuth2 token endpoint: bearer tokens, on_* flags,
America/Santiago timestamps with milliseconds, `true` for a delete, 422 for invalid bodies."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from emulator.receiver import Receiver
from tests.conftest import Answer, Api, MakeApi
from tests.providers.clients import auth
from tests.providers.conftest import FAST, fired, paths, register

AUTH = auth("centry", "MY_TOKEN")
LIST = "/conexion/v1/webhooks.json"
SANTIAGO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}-0[34]:00$")
FLAGS = ["on_integration_config_delete", "on_integration_config_save", "on_order_delete", "on_order_save",
         "on_product_delete", "on_product_save"]


async def create(api: Api, headers: dict[str, str] = AUTH, **fields: Any) -> Answer:
    return await api.post(LIST, json={"callback_url": "https://example.cl/centry", **fields}, headers=headers)


def one(webhook_id: str) -> str:
    return f"/conexion/v1/webhooks/{webhook_id}.json"


async def token(api: Api, **body: Any) -> Answer:
    return await api.post("/oauth/token", json=body)


async def test_create_reproduces_the_seed_object(api: Api) -> None:
    answer = await create(api, on_product_save=True)
    assert answer.status == 200
    webhook = answer.json
    assert list(webhook) == ["_id", "callback_url", "company_id", "created_at", *FLAGS, "updated_at"]
    assert re.fullmatch(r"[0-9a-f]{24}", webhook["_id"]) and re.fullmatch(r"[0-9a-f]{24}", webhook["company_id"])
    assert SANTIAGO.match(webhook["created_at"]) and SANTIAGO.match(webhook["updated_at"])
    assert webhook["on_product_save"] is True
    assert all(webhook[flag] is False for flag in FLAGS if flag != "on_product_save")


@pytest.mark.parametrize(("advance_days", "offset"), [(0, "-03:00"), (120, "-04:00")])
async def test_timestamps_carry_the_santiago_offset_of_their_instant(make_api: MakeApi, advance_days: int,
                                                                     offset: str) -> None:
    api = await make_api(seed=1)  # starts 2024-01-02 (summer, -03:00); 120 days later it is winter
    api.state.clock.advance(advance_days * 86400)
    created_at = (await create(api)).json["created_at"]
    assert created_at.endswith(offset)
    if advance_days == 0:
        assert created_at.startswith("2024-01-02T00:04:05.")


async def test_list_retrieve_update_delete(api: Api) -> None:
    webhook = (await create(api)).json
    assert (await api.get(LIST, headers=AUTH)).json == [webhook]
    assert (await api.get(one(webhook["_id"]), headers=AUTH)).json == webhook

    api.state.clock.advance(1)
    updated = (await api.put(one(webhook["_id"]), json={"on_order_save": True}, headers=AUTH)).json
    assert updated["on_order_save"] is True and updated["callback_url"] == webhook["callback_url"]
    assert updated["updated_at"] != webhook["updated_at"] and updated["created_at"] == webhook["created_at"]
    patched = (await api.patch(one(webhook["_id"]), json={"on_order_save": False}, headers=AUTH)).json
    assert patched["on_order_save"] is False

    deleted = await api.delete(one(webhook["_id"]), headers=AUTH)
    assert (deleted.status, deleted.raw) == (200, b"true")
    assert (await api.get(one(webhook["_id"]), headers=AUTH)).json == {"error": "Not Found"}


async def test_the_singular_delete_path_of_the_seed_heading_works(api: Api) -> None:
    webhook = (await create(api)).json
    answer = await api.delete(f"/conexion/v1/webhook/{webhook['_id']}.json", headers=AUTH)
    assert answer.json is True
    assert (await api.get(LIST, headers=AUTH)).json == []


@pytest.mark.parametrize("path", [f"/{LIST}", f"{LIST}?", f"{LIST}%20"])
async def test_paths_real_clients_send_are_normalised(api: Api, path: str) -> None:
    await create(api)
    assert len((await api.get(path, headers=AUTH)).json) == 1


@pytest.mark.parametrize(("body", "message"), [
    ({}, "callback_url can't be blank"),
    ({"callback_url": "not a url"}, "callback_url is invalid"),
    ({"callback_url": "https://x.cl", "on_order_save": "yes"}, "on_order_save must be true or false"),
])
async def test_invalid_bodies_are_422(api: Api, body: dict[str, Any], message: str) -> None:
    answer = await api.post(LIST, json=body, headers=AUTH)
    assert (answer.status, answer.json) == (422, {"error": message})


async def test_missing_token_is_401_with_www_authenticate(api: Api) -> None:
    answer = await api.get(LIST)
    assert (answer.status, answer.json) == (401, {"error": "invalid_token"})
    assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="Doorkeeper", error="invalid_token"')


async def test_access_token_in_the_query_works(api: Api) -> None:
    await create(api)
    assert len((await api.get(f"{LIST}?access_token=MY_TOKEN")).json) == 1


async def test_issued_tokens_act_for_their_client(api: Api) -> None:
    issued = await token(api, grant_type="client_credentials", client_id="my-app", client_secret="s")
    assert issued.status == 200
    assert issued.json["token_type"] == "bearer" and issued.json["expires_in"] == 7200
    assert "scope" not in issued.json  # as the docs' token answers (_authentication.md 117-122)
    await create(api, headers={"Authorization": f"Bearer {issued.json['access_token']}"})
    again = await token(api, grant_type="client_credentials", client_id="my-app", client_secret="s")
    listed = await api.get(LIST, headers={"Authorization": f"Bearer {again.json['access_token']}"})
    assert len(listed.json) == 1  # a second token of the same client sees the same webhooks


async def test_refresh_token_grant_keeps_the_owner(api: Api) -> None:
    first = (await token(api, grant_type="client_credentials", client_id="my-app", client_secret="s")).json
    await create(api, headers={"Authorization": f"Bearer {first['access_token']}"})
    refreshed = await token(api, grant_type="refresh_token", refresh_token=first["refresh_token"], client_id="my-app",
                            client_secret="s")
    assert refreshed.status == 200
    listed = await api.get(LIST, headers={"Authorization": f"Bearer {refreshed.json['access_token']}"})
    assert len(listed.json) == 1


async def test_form_encoded_token_requests_work(api: Api) -> None:
    answer = await api.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "my-app",
                                                  "client_secret": "s"})
    assert answer.status == 200


@pytest.mark.parametrize(("body", "status", "error"), [
    ({}, 400, "invalid_request"),
    ({"grant_type": "password"}, 400, "unsupported_grant_type"),
    ({"grant_type": "client_credentials"}, 401, "invalid_client"),
    ({"grant_type": "client_credentials", "client_id": "my-app"}, 401, "invalid_client"),  # no secret
    ({"grant_type": "authorization_code", "client_id": "my-app", "client_secret": "s"}, 400, "invalid_request"),
    ({"grant_type": "refresh_token", "refresh_token": "nope", "client_id": "my-app", "client_secret": "s"}, 400,
     "invalid_grant"),
])
async def test_token_errors_follow_rfc_6749(api: Api, body: dict[str, Any], status: int, error: str) -> None:
    answer = await token(api, **body)
    assert answer.status == status and answer.json["error"] == error


async def test_strict_mode_accepts_only_issued_unexpired_tokens(make_api: MakeApi) -> None:
    api = await make_api(strict=True, credentials={"centry": ["my-app:s"]})
    assert (await api.get(LIST, headers=AUTH)).status == 401
    issued = (await token(api, grant_type="client_credentials", client_id="my-app", client_secret="s")).json
    bearer = {"Authorization": f"Bearer {issued['access_token']}"}
    assert (await api.get(LIST, headers=bearer)).status == 200
    api.state.clock.advance(7201)
    assert (await api.get(LIST, headers=bearer)).status == 401


def listed(answer: Answer) -> list[str]:
    return [w["_id"] for w in answer.json]


async def test_limit_offset_and_after(api: Api) -> None:
    ids = [(await create(api)).json["_id"] for _ in range(4)]
    assert listed(await api.get(f"{LIST}?limit=2&offset=1", headers=AUTH)) == ids[1:3]
    assert listed(await api.get(f"{LIST}?after={ids[1]}", headers=AUTH)) == ids[2:]


async def test_created_at_filters(make_api: MakeApi) -> None:
    api = await make_api(seed=1)
    old = (await create(api)).json
    api.state.clock.advance(3600)
    new = (await create(api)).json
    since = old["created_at"].replace("+", "%2B")
    after_old = await api.get(f"{LIST}?created_at_gt={since}", headers=AUTH)
    assert [w["_id"] for w in after_old.json] == [new["_id"]]
    bad = await api.get(f"{LIST}?created_at_gte=yesterday", headers=AUTH)
    assert (bad.status, bad.json) == (422, {"error": "created_at_gte is not a valid date"})


async def test_unknown_id_and_unsupported_method(api: Api) -> None:
    assert (await api.get(one("5a1e1e1e1e1e1e1e1e1e1e1e"), headers=AUTH)).json == {"error": "Not Found"}
    answer = await api.patch(LIST, json={}, headers=AUTH)
    assert (answer.status, answer.json) == (405, {"error": "Method Not Allowed"})


@pytest.mark.parametrize("suffix", [".xml", ".csv", ".html"])
async def test_another_format_than_json_is_406(api: Api, suffix: str) -> None:
    for path in (f"/conexion/v1/webhooks{suffix}", f"/conexion/v1/webhooks/59c9852d1746bf1d93000001{suffix}"):
        answer = await api.get(path, headers=AUTH)
        assert (answer.status, answer.json) == (406, {"error": "Not Acceptable"})
    assert (await api.get("/conexion/v1/nothing.xml", headers=AUTH)).status == 404


async def test_a_token_issued_under_a_seed_is_not_born_expired(make_api: MakeApi) -> None:
    """created_at follows the real clock, as signature timestamps do, so a client that checks
    created_at + expires_in against its own time accepts the token (issue 17 item 10g)."""
    api = await make_api(seed=1)
    issued = await token(api, grant_type="client_credentials", client_id="my-app", client_secret="s")
    assert issued.json["created_at"] + issued.json["expires_in"] > time.time() + 7000


# -- deliveries seen by a receiver, with the consumers' verifiers (tests/providers/conftest.py) ----

async def test_centry_sends_each_topic_to_the_webhooks_with_that_flag(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    await register(api, "centry", receiver.url + "/products", ["on_product_save", "on_product_delete"])
    await register(api, "centry", receiver.url + "/orders", ["on_order_save"])
    await register(api, "centry", receiver.url + "/none", [])
    for topic in ("on_product_delete", "on_order_save", "on_integration_config_save"):
        await fired(api, provider="centry", event=topic)
    assert paths(receiver) == ["/orders", "/products"]
    by_path = {hit.path: hit.json for hit in receiver.received}
    assert by_path["/products"]["topic"] == "on_product_delete" and "product_id" in by_path["/products"]
    assert by_path["/orders"]["topic"] == "on_order_save" and "order_id" in by_path["/orders"]


@pytest.mark.parametrize("status", [201, 202, 204])
async def test_centry_counts_only_200_as_delivered(receiver: Receiver, make_api: MakeApi, status: int) -> None:
    api = await make_api(**FAST)
    await register(api, "centry", receiver.url, ["on_order_delete"])
    receiver.respond_with(status)
    [sent] = await fired(api, provider="centry", event="on_order_delete")
    assert [a["status"] for a in sent["attempts"]] == [status, 200]
    assert sent["attempts"][0]["outcome"] == "failed" and sent["attempts"][0]["error"]
    assert sent["status"] == "delivered" and len(receiver.received) == 2


def test_centry_counts_only_200_and_the_report_says_it_cannot_authenticate(client: Any) -> None:
    with Receiver(status=201) as consumer:
        report = client.audit("centry", consumer.url)
    checks = {c["check"]: c for c in report["endpoints"][0]["checks"]}
    created = checks["event on_product_save"]
    assert created == {"check": "event on_product_save", "safe": "accepts it: answers 200 (only 200 counts)",
                       "observed": "HTTP 201", "verdict": "fail"}
    note = checks["authenticity"]
    assert note["verdict"] == "note" and "signs nothing" in note["safe"]
    assert "fetch the product, order or integration config" in note["observed"]
    assert not any(name.startswith("forgery") for name in checks)
    with Receiver() as consumer:
        assert client.audit("centry", consumer.url)["passed"] is True  # a note is not a failure
