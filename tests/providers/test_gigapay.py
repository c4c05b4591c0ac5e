"""Gigapay API v2 webhooks (seed 003): DRF conventions, Integration-ID scoping, PATCH vs PUT,
307 on a missing slash, form bodies, Idempotency-Key replay."""

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
    GIGAPAY_BODY,
    GIGAPAY_EXAMPLE_SECRET,
    INTEGRATION,
    OTHER_INTEGRATION,
    SPECS,
    check_notification,
    fire_cli,
    fired,
    gigapay_signature,
    gigapay_valid,
    paths,
    register,
    signature_valid,
)

AUTH = auth("gigapay", "asasdadjanfkanfda", integration="aqdnkjasdo12")
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


async def create(api: Api, headers: dict[str, str] = AUTH, **fields: Any) -> Answer:
    body = {"url": "https://gigatron.se/webhooks/payouts/", "events": ["Payout.created"], **fields}
    return await api.post("/v2/webhooks/", json=body, headers=headers)


async def test_create_reproduces_the_seed_object(api: Api) -> None:
    answer = await create(api)
    assert answer.status == 201
    body = answer.json
    assert list(body) == ["id", "url", "events", "secret_key", "metadata"]
    assert UUID4.match(body["id"])
    assert re.fullmatch(r"[a-z0-9]{32}", body["secret_key"])
    assert body["url"] == "https://gigatron.se/webhooks/payouts/"
    assert body["events"] == ["Payout.created"]
    assert body["metadata"] == {}


async def test_client_chosen_id_secret_and_metadata_are_kept(api: Api) -> None:
    answer = await create(api, id="481272", secret_key="c1329a085d65f7757838df5920fdcc9a", metadata={"team": "pay"})
    assert answer.json["id"] == "481272"
    assert answer.json["secret_key"] == "c1329a085d65f7757838df5920fdcc9a"
    assert (await api.get("/v2/webhooks/481272/", headers=AUTH)).json["metadata"] == {"team": "pay"}


async def test_duplicate_id_is_a_field_error(api: Api) -> None:
    await create(api, id="481272")
    answer = await create(api, id="481272")
    assert answer.status == 400
    assert answer.json == {"id": ["webhook with this id already exists."]}


@pytest.mark.parametrize(("body", "errors"), [
    ({"events": ["Payout.created"]}, {"url": ["This field is required."]}),
    ({"url": "https://x.se/"}, {"events": ["This field is required."]}),
    ({"url": "not a url", "events": ["Payout.created"]}, {"url": ["Enter a valid URL."]}),
    ({"url": "https://x.se/", "events": ["Payout.created", "X"]}, {"events": {"1": ['"X" is not a valid choice.']}}),
    ({"url": "https://x.se/", "events": "Payout.created"},
     {"events": ['Expected a list of items but got type "str".']}),
])
async def test_validation_errors_are_drf_field_errors(api: Api, body: dict[str, Any], errors: dict[str, Any]) -> None:
    answer = await api.post("/v2/webhooks/", json=body, headers=AUTH)
    assert answer.status == 400
    assert answer.json == errors


async def test_a_body_that_is_not_an_object_is_rejected(api: Api) -> None:
    answer = await api.post("/v2/webhooks/", json=["https://x.se/"], headers=AUTH)
    assert answer.status == 400
    assert answer.json == {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}


async def test_malformed_json_is_a_parse_error(api: Api) -> None:
    answer = await api.post("/v2/webhooks/", data=b"{nope", headers={**AUTH, "Content-Type": "application/json"})
    assert answer.status == 400
    assert answer.json["detail"].startswith("JSON parse error")


async def test_retrieve_patch_put_and_delete(api: Api) -> None:
    webhook = (await create(api, metadata={"a": 1})).json
    path = f"/v2/webhooks/{webhook['id']}/"
    assert (await api.get(path, headers=AUTH)).json == webhook

    patched = await api.patch(path, json={"url": "https://gigatron.se/new/"}, headers=AUTH)
    assert patched.status == 200
    assert patched.json == {**webhook, "url": "https://gigatron.se/new/"}

    replaced = await api.put(path, json={"url": "https://gigatron.se/put/", "events": ["Employee.created"]},
                             headers=AUTH)
    assert replaced.status == 200
    assert replaced.json["metadata"] == {}  # omitted: back to the default
    assert replaced.json["secret_key"] != webhook["secret_key"]  # omitted: a new random one
    assert replaced.json["id"] == webhook["id"]

    deleted = await api.delete(path, headers=AUTH)
    assert (deleted.status, deleted.raw) == (204, b"")
    assert (await api.get(path, headers=AUTH)).json == {"detail": "Not found."}


async def test_put_needs_url_and_events(api: Api) -> None:
    webhook = (await create(api)).json
    answer = await api.put(f"/v2/webhooks/{webhook['id']}/", json={"url": "https://x.se/"}, headers=AUTH)
    assert answer.status == 400
    assert answer.json == {"events": ["This field is required."]}


async def test_patch_can_change_the_id(api: Api) -> None:
    webhook = (await create(api)).json
    answer = await api.patch(f"/v2/webhooks/{webhook['id']}/", json={"id": "renamed"}, headers=AUTH)
    assert answer.json["id"] == "renamed"
    assert (await api.get("/v2/webhooks/renamed/", headers=AUTH)).status == 200
    assert (await api.get(f"/v2/webhooks/{webhook['id']}/", headers=AUTH)).status == 404


async def test_unknown_id_is_not_found(api: Api) -> None:
    answer = await api.get("/v2/webhooks/nope/", headers=AUTH)
    assert (answer.status, answer.json) == (404, {"detail": "Not found."})


async def test_unsupported_method_is_405_with_allow(api: Api) -> None:
    answer = await api.delete("/v2/webhooks/", headers=AUTH)
    assert answer.status == 405
    assert answer.json == {"detail": 'Method "DELETE" not allowed.'}
    assert "GET" in answer.headers["Allow"] and "POST" in answer.headers["Allow"]


async def test_unknown_path_under_the_api_is_drf_404(api: Api) -> None:
    answer = await api.get("/v2/nothing-here/", headers=AUTH)
    assert (answer.status, answer.json) == (404, {"detail": "Not found."})


@pytest.mark.parametrize(("headers", "detail"), [
    ({}, "Authentication credentials were not provided."),
    ({"Authorization": "Bearer x"}, "Invalid token."),
])
async def test_auth_failures(api: Api, headers: dict[str, str], detail: str) -> None:
    answer = await api.get("/v2/webhooks/", headers=headers)
    assert (answer.status, answer.json) == (401, {"detail": detail})


async def test_missing_slash_redirects_307_keeping_the_query(api: Api) -> None:
    answer = await api.get("/v2/webhooks?page_size=5", headers=AUTH)
    assert answer.status == 307
    assert answer.headers["Location"].endswith("/v2/webhooks/?page_size=5")


async def test_form_bodies_are_accepted(api: Api) -> None:
    answer = await api.post("/v2/webhooks/", data={"url": "https://x.se/h", "events": "Payout.created",
                                                   "metadata": '{"k": "v"}'}, headers=AUTH)
    assert answer.status == 201
    assert answer.json["events"] == ["Payout.created"]
    assert answer.json["metadata"] == {"k": "v"}


def result_ids(answer: Answer) -> set[str]:
    return {w["id"] for w in answer.json["results"]}


async def test_integration_scoping(api: Api) -> None:
    other = {**AUTH, "Integration-ID": "other"}
    user_only = {"Authorization": AUTH["Authorization"]}
    payout = (await create(api)).json
    registration = (await create(api, events=["Registration.verified"])).json
    assert result_ids(await api.get("/v2/webhooks/", headers=AUTH)) == {payout["id"], registration["id"]}
    assert result_ids(await api.get("/v2/webhooks/", headers=other)) == {registration["id"]}
    assert result_ids(await api.get("/v2/webhooks/", headers=user_only)) == {registration["id"]}
    assert (await api.get(f"/v2/webhooks/{payout['id']}/", headers=other)).status == 404


async def test_integration_events_need_the_integration_id(api: Api) -> None:
    answer = await create(api, headers={"Authorization": AUTH["Authorization"]})
    assert answer.status == 400
    assert "Integration-ID" in answer.json["non_field_errors"][0]


async def test_pages_have_absolute_links(api: Api) -> None:
    for _ in range(5):
        await create(api)
    first = await api.get("/v2/webhooks/?page_size=2&x=1", headers=AUTH)
    assert first.json["count"] == 5 and len(first.json["results"]) == 2
    assert first.json["previous"] is None
    assert re.fullmatch(r"http://[^/]+/v2/webhooks/\?page=2&page_size=2&x=1", first.json["next"])
    second = await api.get("/v2/webhooks/?page_size=2&x=1&page=2", headers=AUTH)
    # Gigapay's docs keep `page=1` in the link to page 1 (plain DRF would drop it), other parameters too,
    # sorted by name as DRF writes links.
    assert re.fullmatch(r"http://[^/]+/v2/webhooks/\?page=1&page_size=2&x=1", second.json["previous"])
    last = await api.get("/v2/webhooks/?page_size=2&page=3", headers=AUTH)
    assert len(last.json["results"]) == 1 and last.json["next"] is None


async def test_default_page_size_is_25(api: Api) -> None:
    for _ in range(26):
        await create(api)
    answer = await api.get("/v2/webhooks/", headers=AUTH)
    assert len(answer.json["results"]) == 25 and answer.json["next"] is not None


@pytest.mark.parametrize("page", ["9", "0", "abc"])
async def test_out_of_range_page_is_invalid(api: Api, page: str) -> None:
    await create(api)
    answer = await api.get(f"/v2/webhooks/?page={page}", headers=AUTH)
    assert (answer.status, answer.json) == (404, {"detail": "Invalid page."})


async def test_empty_list(api: Api) -> None:
    answer = await api.get("/v2/webhooks/", headers=AUTH)
    assert answer.json == {"count": 0, "next": None, "previous": None, "results": []}


async def test_idempotency_key_replays_without_creating(api: Api) -> None:
    headers = {**AUTH, "Idempotency-Key": "k1"}
    first = await create(api, headers=headers)
    again = await create(api, headers=headers, url="https://x.se/other")
    assert (again.status, again.json) == (first.status, first.json)
    assert (await api.get("/v2/webhooks/", headers=AUTH)).json["count"] == 1


async def test_idempotency_key_expires_after_24_hours(api: Api) -> None:
    headers = {**AUTH, "Idempotency-Key": "k1"}
    first = await create(api, headers=headers)
    api.state.clock.advance(86400 + 1)
    later = await create(api, headers=headers)
    assert later.json["id"] != first.json["id"]


# -- what DRF accepts (issue 17 item 8) ----------------------------------------------------------------

async def test_an_integer_id_is_read_as_its_text(api: Api) -> None:
    created = await create(api, id=19472)
    assert created.status == 201 and created.json["id"] == "19472"
    assert (await api.get("/v2/webhooks/19472/", headers=AUTH)).status == 200
    again = await create(api, id=19472)
    assert (again.status, again.json) == (400, {"id": ["webhook with this id already exists."]})
    boolean = await create(api, id=True)
    assert (boolean.status, boolean.json) == (400, {"id": ["Not a valid string."]})


async def test_indexed_form_lists_are_lists_on_post_and_put(api: Api) -> None:
    """What laravel-gigapay sends through Guzzle form_params (createByArray, replace)."""
    form = {**AUTH, "Content-Type": "application/x-www-form-urlencoded"}
    created = await api.post("/v2/webhooks/", data="url=https%3A%2F%2Fexample.com%2Fhook&events%5B1%5D=Payout.notified"
                             "&events%5B0%5D=Payout.created", headers=form)
    assert created.status == 201 and created.json["events"] == ["Payout.created", "Payout.notified"]
    replaced = await api.put(f"/v2/webhooks/{created.json['id']}/", headers=form,
                             data="url=https%3A%2F%2Fexample.com%2Fother&events%5B0%5D=Payrun.paid")
    assert replaced.status == 200 and replaced.json["events"] == ["Payrun.paid"]


@pytest.mark.parametrize(("url", "valid"), [
    ("ftp://files.example.com/hook", True), ("http://localhost:8000/hook", True), ("http://0.0.0.0:8000/", True),
    ("http://[::1]:80/hook", True), ("http://intranet/hook", False), ("http://-bad.example.com/", False),
    ("http://example.c/", False), ("ws://example.com/", False)])
async def test_urls_are_validated_as_django_does(api: Api, url: str, valid: bool) -> None:
    answer = await create(api, url=url)
    assert answer.status == (201 if valid else 400)
    if not valid:
        assert answer.json == {"url": ["Enter a valid URL."]}


# -- 405 and OPTIONS as DRF answers them (issue 17 item 7) ------------------------------------------

async def test_a_405_lists_the_views_methods_then_head_and_options(api: Api) -> None:
    listed = await api.delete("/v2/webhooks/", headers=AUTH)
    assert (listed.status, listed.headers["Allow"]) == (405, "GET, POST, HEAD, OPTIONS")
    detail = await api.post("/v2/webhooks/481272/", json={}, headers=AUTH)
    assert (detail.status, detail.headers["Allow"]) == (405, "GET, PUT, PATCH, DELETE, HEAD, OPTIONS")
    assert detail.json == {"detail": 'Method "POST" not allowed.'}


async def test_options_answers_drfs_metadata(api: Api) -> None:
    listed = await api.request("OPTIONS", "/v2/webhooks/", headers=AUTH, validate=False)
    assert listed.status == 200
    assert list(listed.json) == ["name", "description", "renders", "parses", "actions"]
    assert listed.json["name"] == "Webhook List" and list(listed.json["actions"]) == ["POST"]
    assert listed.json["actions"]["POST"]["url"]["type"] == "url"
    detail = await api.request("OPTIONS", "/v2/webhooks/481272/", headers=AUTH, validate=False)
    assert detail.json["name"] == "Webhook Instance" and list(detail.json["actions"]) == ["PUT"]


async def test_accept_language_sv_answers_drfs_swedish_messages(api: Api) -> None:
    sv = {**AUTH, "Accept-Language": "sv-SE,sv;q=0.9,en;q=0.5"}
    missing = await api.get("/v2/webhooks/nothing/", headers=sv)
    assert (missing.status, missing.json) == (404, {"detail": "Hittades inte."})
    refused = await create(api, headers=sv, url="not a url", events=[])
    assert refused.json == {"url": ["Ange en giltig URL."], "events": ["Den här listan får inte vara tom."]}
    not_allowed = await api.delete("/v2/webhooks/", headers=sv)
    assert not_allowed.json == {"detail": 'Metoden "DELETE" tillåts inte.'}
    english = await api.get("/v2/webhooks/nothing/", headers={**AUTH, "Accept-Language": "en"})
    assert english.json == {"detail": "Not found."}
    no_swedish = await create(api, headers=sv, id=True)  # DRF has no Swedish for this one
    assert no_swedish.json == {"id": ["Not a valid string."]}


# -- deliveries seen by a receiver, with the consumers' verifiers (tests/providers/conftest.py) ----

async def test_gigapay_worked_example_secret_signs_a_real_delivery(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    data = {"id": "1847", "name": "Albin Lindskog", "verified_at": "2019-05-23T11:57:03.742345Z"}
    await fired(api, provider="gigapay", event="Employee.verified", url=receiver.url,
                secret=GIGAPAY_EXAMPLE_SECRET, data=data)
    [got] = receiver.received
    assert got.json["id"] == "1847" and got.json["verified_at"] == "2019-05-23T11:57:03.742345Z"
    t = got.headers["Gigapay-Signature"].split(",")[0].removeprefix("t=")
    assert got.headers["Gigapay-Signature"] == gigapay_signature(GIGAPAY_EXAMPLE_SECRET, t, got.body)
    assert gigapay_valid(got.headers["Gigapay-Signature"], GIGAPAY_EXAMPLE_SECRET, got.body)


async def test_gigapay_scope_limits_a_firing_to_one_integration(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    await register(api, "gigapay", receiver.url + "/one", ["Payout.created"])
    other = {**DELIVERY_AUTH["gigapay"], "Integration-ID": OTHER_INTEGRATION}
    await register(api, "gigapay", receiver.url + "/two", ["Payout.created"], auth=other)
    user_level = {"Authorization": DELIVERY_AUTH["gigapay"]["Authorization"]}  # Registration.* belong to the user
    await register(api, "gigapay", receiver.url + "/user", ["Registration.verified"], auth=user_level)

    assert [d["url"] for d in await fired(api, provider="gigapay", event="Payout.created", scope=INTEGRATION)] \
        == [receiver.url + "/one"]
    assert [d["url"] for d in await fired(api, provider="gigapay", event="Registration.verified",
                                          scope=INTEGRATION)] == [receiver.url + "/user"]
    assert len(await fired(api, provider="gigapay", event="Payout.created")) == 2
    assert paths(receiver) == ["/one", "/one", "/two", "/user"]


async def test_gigapay_data_overrides_are_signed_with_the_rest(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    webhook = await register(api, "gigapay", receiver.url, ["Payout.created"])
    await fired(api, provider="gigapay", event="Payout.created", data={"amount": "99.00", "metadata": {"n": "42"}})
    [got] = receiver.received
    body = check_notification(api, "gigapay", got, ["Payout.created"])
    assert body["amount"] == "99.00" and body["metadata"] == {"n": "42"} and body["currency"] == "SEK"
    assert signature_valid("gigapay", got, webhook["secret_key"])


async def test_gigapay_signs_every_attempt_with_its_own_timestamp(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    webhook = await register(api, "gigapay", receiver.url, ["Payout.accepted"])
    receiver.respond_with(500, 502)
    [sent] = await fired(api, provider="gigapay", event="Payout.accepted")
    assert [a["status"] for a in sent["attempts"]] == [500, 502, 200]
    assert len(receiver.received) == 3
    for got, attempt in zip(receiver.received, sent["attempts"], strict=True):
        header = got.headers["Gigapay-Signature"]
        t = header.split(",")[0].removeprefix("t=")
        assert header == gigapay_signature(webhook["secret_key"], t, got.body)
        assert gigapay_valid(header, webhook["secret_key"], got.body)
        assert attempt["request_headers"]["Gigapay-Signature"] == header  # the log shows what was sent


async def test_fire_gigapay_at_a_url_sends_a_correctly_signed_body(receiver: Receiver) -> None:
    run = await fire_cli("gigapay", "Payout.created", "--url", receiver.url + "/gp", "--secret", "s")
    assert run.code == 0, run.err
    [delivery] = run.deliveries
    assert delivery["status"] == "delivered" and delivery["events"] == ["Payout.created"]
    [got] = receiver.received
    assert got.path == "/gp"
    assert gigapay_valid(got.headers["Gigapay-Signature"], "s", got.body)
    assert got.json["latest_status"] == "created" and got.json["id"]


async def test_gigapay_throttling_reads_like_drf(api: Api) -> None:
    await api.post("/_emulator/faults", json={"provider": "gigapay", "status": 429, "retry_after": 7})
    answer = await api.get("/v2/webhooks/", headers=AUTH)
    assert answer.headers["Retry-After"] == "7"
    assert answer.json == {"detail": "Request was throttled. Expected available in 7 seconds."}


@pytest.mark.parametrize("page_size", ["abc", "0", "-4", "1.5", ""])
async def test_gigapay_ignores_an_unusable_page_size_as_drf_does(api: Api, page_size: str) -> None:
    for _ in range(26):
        await api.post("/v2/webhooks/", json={"url": "https://x.se/", "events": ["Payout.created"]}, headers=AUTH)
    answer = await api.get(f"/v2/webhooks/?page_size={page_size}", headers=AUTH)
    assert answer.status == 200
    assert answer.json["count"] == 26 and len(answer.json["results"]) == 25


def test_gigapay_worked_example() -> None:
    signed = sign(SPECS["gigapay"], GIGAPAY_BODY, "c1329a085d65f7757838df5920fdcc9a", 1583327301, "rid")
    assert signed.headers == {"Gigapay-Signature": "t=1583327301,v1=1574ee6d08d1b6148e756d23dbbc1880ea8dd382afebd3e337"
                                                   "e8a56df8d02b7f"}
