"""Event delivery end to end: webhooks registered through each provider's API, events fired through
the control API, notifications received by a real HTTP receiver and checked the way a consumer
would check them, with verifiers written here from the providers' documented algorithms."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from aiohttp import ClientSession

from emulator import Emulator
from emulator.receiver import Receiver
from tests.conftest import Answer, Api, MakeApi, free_port

PAYBOOK = {"Authorization": "api_key api_key=PB"}
SHARE = {"X-Share-Api-Key": "SA"}
GIGAPAY = {"Authorization": "Token GP", "Integration-ID": "int-1"}
CENTRY = {"Authorization": "Bearer CT"}
FAST = {"time_scale": 1e-6}


# -- the verifiers a consumer writes from each provider's docs ---------------------------------

def shareactor_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def gigapay_valid(header: str, secret: str, body: bytes) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def syncfy_claims(token: str, jwk: dict[str, str], body: bytes) -> dict[str, Any]:
    key = base64.urlsafe_b64decode(jwk["k"] + "=" * (-len(jwk["k"]) % 4))
    claims = jwt.decode(token, key, algorithms=["HS256"])
    assert claims["sha256"] == hashlib.sha256(body).hexdigest()
    return claims


def test_the_verifiers_reproduce_the_docs_worked_examples() -> None:
    shareactor_body = b'{"object":{"_id":{"$oid":"5964a0ead57ba2036750a3b4"},"first_name":"John"}}'
    assert shareactor_signature("ed06e2f4e7bdb5ee6050695aba5ed3f2725fd3394df22f3a8a0c2856123a", shareactor_body) == \
        "7825b7d30098b886ab6969efdd834ed776cc4d94907468856e7997ffc704bf7a"
    gigapay_body = b'{"id":"1847","name":"Albin Lindskog","verified_at":"2019-05-23T11:57:03.742345Z"}'
    assert gigapay_valid("t=1583327301,v1=1574ee6d08d1b6148e756d23dbbc1880ea8dd382afebd3e337e8a56df8d02b7f",
                         "c1329a085d65f7757838df5920fdcc9a", gigapay_body)


# -- a receiver: a real HTTP endpoint on a free port, in its own thread -----------------------------

@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """Tests ask for it before `make_api`, so their emulator stops first (nothing left in flight)."""
    with Receiver() as receiving:
        yield receiving


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}/down"


# -- helpers --------------------------------------------------------------------------------------

async def fire(api: Api, **body: Any) -> Answer:
    return await api.post("/_emulator/events", json=body)


async def fired(api: Api, **body: Any) -> list[dict[str, Any]]:
    answer = await fire(api, wait=True, **body)
    assert answer.status == 200, answer.json
    return answer.json["deliveries"]


def check(api: Api, provider: str, schema: str, value: Any) -> None:
    errors = list(api.state.providers[provider].validator(schema).iter_errors(value))
    assert not errors, f"{schema}: {errors[0].message}"


def event_schema(api: Api, provider: str, event: str) -> str:
    return api.state.providers[provider].raw["events"]["catalogue"][event]["schema"]


async def paybook_webhook(api: Api, url: str, **fields: Any) -> dict[str, Any]:
    body = {"url": url, "events": ["credential_create"], **fields}
    return (await api.post("/v1/webhooks", json=body, headers=PAYBOOK)).json["response"]


async def gigapay_webhook(api: Api, url: str, events: list[str], headers: dict[str, str] = GIGAPAY
                          ) -> dict[str, Any]:
    answer = await api.post("/v2/webhooks/", json={"url": url, "events": events}, headers=headers)
    assert answer.status == 201, answer.json
    return answer.json


async def shareactor_webhook(api: Api, url: str, event_type: str = "order.created") -> dict[str, Any]:
    answer = await api.post("/webhooks", json={"endpoint": url, "event_type": event_type}, headers=SHARE)
    return answer.json


# -- each provider's notification ------------------------------------------------------------------

async def test_paybook_posts_the_payload_with_the_custom_headers(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    await paybook_webhook(api, receiver.url + "/pb", headers={"X-Consumer-Token": "abc"})
    [delivery] = await fired(api, provider="paybook", event="credential_create")
    assert delivery["status"] == "delivered"
    [got] = receiver.received
    assert got.path == "/pb" and got.headers["X-Consumer-Token"] == "abc"
    assert got.headers["Content-Type"] == "application/json"
    check(api, "paybook", event_schema(api, "paybook", "credential_create"), got.json)
    assert got.json["event"] == "credential_create"
    assert got.json["endpoints"]["credential"] == [f"/v1/credentials/{got.json['id_credential']}"]


@pytest.mark.parametrize("event", ["refresh", "documents_completed", "credential_update"])
async def test_every_paybook_sample_matches_its_schema(receiver: Receiver, make_api: MakeApi, event: str) -> None:
    api = await make_api(**FAST)
    await fired(api, provider="paybook", event=event, url=receiver.url)
    check(api, "paybook", event_schema(api, "paybook", event), receiver.received[0].json)


async def test_syncfy_sends_the_v3_envelope_signed_with_a_jwt(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    body = {"url": receiver.url + "/sy", "events": ["credentials.created"], "headers": {"X-Env": "sandbox"}}
    subscription = (await api.post("/v1/webhooks/subscriptions", json=body, headers=PAYBOOK)).json["response"]
    [delivery] = await fired(api, provider="syncfy", event="credentials.created")
    [got] = receiver.received
    notification = got.json
    check(api, "syncfy", "notification.json", notification)
    [entry] = notification["events"]
    check(api, "syncfy", "event-credential.json", entry["payload"])
    assert entry["header"]["event"]["name"] == "credentials.created"
    assert entry["header"]["event"]["eid"] == delivery["event_ids"][0]
    assert entry["header"]["user"]["id_environment"] == subscription["id_environment"]
    assert entry["header"]["user"]["id_user"] == entry["payload"]["id_user"]
    assert got.headers["X-Env"] == "sandbox"
    jwk = (await api.get("/_emulator/providers/syncfy/jwk")).json
    claims = syncfy_claims(got.headers["request-signature"], jwk, got.body)
    assert claims["rid"] == notification["rid"] and claims["exp"] - claims["iat"] == 300


async def test_a_jwk_set_through_the_control_api_signs_from_then_on(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    jwk = {"kty": "oct", "kid": "mine", "k": base64.urlsafe_b64encode(b"k" * 32).rstrip(b"=").decode()}
    assert (await api.put("/_emulator/providers/syncfy/jwk", json=jwk)).json == jwk
    assert (await api.get("/_emulator/providers/syncfy/jwk")).json == jwk
    await fired(api, provider="syncfy", event="documents.success", url=receiver.url)
    token = receiver.received[0].headers["request-signature"]
    assert jwt.get_unverified_header(token)["kid"] == "mine"
    syncfy_claims(token, jwk, receiver.received[0].body)


@pytest.mark.parametrize("body", [{"kty": "RSA", "k": "abc"}, {"kty": "oct"}, {"kty": "oct", "k": "not base64!"}])
async def test_a_bad_jwk_is_refused(api: Api, body: dict[str, Any]) -> None:
    assert (await api.put("/_emulator/providers/syncfy/jwk", json=body)).status == 400


async def test_only_jwt_signing_providers_have_a_jwk(api: Api) -> None:
    assert (await api.get("/_emulator/providers/gigapay/jwk")).status == 404


async def test_syncfy_groups_the_events_of_one_firing_when_asked(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    events = ["credentials.created", "documents.completed"]
    for group, path in ((1, "/grouped"), (0, "/single")):
        body = {"url": receiver.url + path, "events": events, "group_events": group}
        await api.post("/v1/webhooks/subscriptions", json=body, headers=PAYBOOK)
    deliveries = await fired(api, provider="syncfy", event=events)
    assert len(deliveries) == 3
    grouped = [r for r in receiver.received if r.path == "/grouped"]
    single = [r for r in receiver.received if r.path == "/single"]
    assert [len(r.json["events"]) for r in grouped] == [2]
    assert sorted(r.json["events"][0]["header"]["event"]["name"] for r in single) == events
    check(api, "syncfy", "event-documents.json", grouped[0].json["events"][1]["payload"])


async def test_syncfy_documents_failed_is_sent_as_documents_fail(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    [delivery] = await fired(api, provider="syncfy", event="documents.failed", url=receiver.url)
    assert delivery["events"] == ["documents.fail"]
    assert receiver.received[0].json["events"][0]["header"]["event"]["name"] == "documents.fail"


async def test_shareactor_signs_the_raw_body_with_the_webhook_secret(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    webhook = await shareactor_webhook(api, receiver.url + "/sa")
    await fired(api, provider="shareactor", event="order.created")
    [got] = receiver.received
    assert got.headers["X-Share-Webhook-Signature"] == shareactor_signature(webhook["secret"], got.body)
    check(api, "shareactor", "notification.json", got.json)
    assert got.json["event_type"] == "order.created"


async def test_shareactor_simulate_fires_the_webhooks_own_event(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    webhook = await shareactor_webhook(api, receiver.url + "/sim", "payment.failed")
    await shareactor_webhook(api, receiver.url + "/other", "payment.failed")
    answer = await api.post(f"/webhooks/{webhook['_id']['$oid']}/simulate", headers=SHARE)
    assert answer.status == 204
    [delivery] = (await api.get("/_emulator/deliveries?provider=shareactor")).json["deliveries"]
    assert delivery["url"] == receiver.url + "/sim" and delivery["events"] == ["payment.failed"]


async def test_gigapay_sends_the_object_with_a_timestamped_signature(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    webhook = await gigapay_webhook(api, receiver.url + "/gp", ["Employee.verified"])
    await fired(api, provider="gigapay", event="Employee.verified")
    [got] = receiver.received
    assert gigapay_valid(got.headers["Gigapay-Signature"], webhook["secret_key"], got.body)
    check(api, "gigapay", "event-employee.json", got.json)
    assert "event" not in got.json  # the body is the object alone


@pytest.mark.parametrize("event", ["Payout.accepted", "Payrun.paid", "Registration.verified", "Employee.created"])
async def test_every_gigapay_object_matches_its_schema(receiver: Receiver, make_api: MakeApi, event: str) -> None:
    api = await make_api(**FAST)
    await fired(api, provider="gigapay", event=event, url=receiver.url, secret="s")
    check(api, "gigapay", event_schema(api, "gigapay", event), receiver.received[0].json)


async def test_centry_posts_the_topic_to_flagged_webhooks(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    for path, flag in (("/orders", "on_order_save"), ("/products", "on_product_save")):
        body = {"callback_url": receiver.url + path, flag: True}
        await api.post("/conexion/v1/webhooks.json", json=body, headers=CENTRY)
    [delivery] = await fired(api, provider="centry", event="on_order_save")
    [got] = receiver.received
    assert got.path == "/orders" and delivery["status"] == "delivered"
    check(api, "centry", "notification.json", got.json)
    assert got.json["topic"] == "on_order_save" and len(got.json["order_id"]) == 24
    assert not any(h.lower().endswith("signature") for h in got.headers)


# -- who gets what -------------------------------------------------------------------------------

async def test_fan_out_reaches_every_webhook_that_wants_the_event(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    await gigapay_webhook(api, receiver.url + "/a", ["Payout.created"])
    await gigapay_webhook(api, receiver.url + "/b", ["Payout.created", "Payout.accepted"])
    await gigapay_webhook(api, receiver.url + "/c", ["Employee.created"])
    deliveries = await fired(api, provider="gigapay", event="Payout.created")
    assert sorted(r.path for r in receiver.received) == ["/a", "/b"]
    assert len({d["event_ids"][0] for d in deliveries}) == 1  # one event, two deliveries


async def test_tenant_limits_the_fan_out_to_one_key(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    await gigapay_webhook(api, receiver.url + "/mine", ["Payout.created"])
    await gigapay_webhook(api, receiver.url + "/theirs", ["Payout.created"], {**GIGAPAY, "Authorization": "Token X"})
    await fired(api, provider="gigapay", event="Payout.created", tenant="GP")
    assert [r.path for r in receiver.received] == ["/mine"]


async def test_scope_limits_gigapay_to_one_integration(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    await gigapay_webhook(api, receiver.url + "/one", ["Payout.created"])
    await gigapay_webhook(api, receiver.url + "/two", ["Payout.created"], {**GIGAPAY, "Integration-ID": "int-2"})
    await fired(api, provider="gigapay", event="Payout.created", scope="int-2")
    assert [r.path for r in receiver.received] == ["/two"]


async def test_gigapay_invoice_aliases_reach_payrun_subscribers(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    await gigapay_webhook(api, receiver.url + "/invoices", ["Invoice.paid"])
    [delivery] = await fired(api, provider="gigapay", event="Payrun.paid")
    assert delivery["events"] == ["Payrun.paid"]
    check(api, "gigapay", "event-payrun.json", receiver.received[0].json)


async def test_soft_deleted_shareactor_webhooks_get_nothing(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    webhook = await shareactor_webhook(api, receiver.url)
    await api.delete(f"/webhooks/{webhook['_id']['$oid']}", headers=SHARE)
    assert await fired(api, provider="shareactor", event="order.created") == []
    assert receiver.received == []


async def test_overrides_deep_merge_into_the_payload(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    data = {"id_user": "5e751d54d0510472295413b3", "endpoints": {"extra": ["/x"]}}
    await fired(api, provider="paybook", event="credential_create", url=receiver.url, data=data)
    payload = receiver.received[0].json
    assert payload["id_user"] == "5e751d54d0510472295413b3"
    assert payload["endpoints"]["extra"] == ["/x"] and payload["endpoints"]["credential"]


# -- retries, timeouts and outcomes ---------------------------------------------------------------

async def test_a_500_is_retried_until_success(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    receiver.respond_with(500, 502)
    [delivery] = await fired(api, provider="shareactor", event="user.created", url=receiver.url, secret="s")
    assert delivery["status"] == "delivered"
    assert [a["status"] for a in delivery["attempts"]] == [500, 502, 200]
    assert len({r.body for r in receiver.received}) == 1  # the same notification every time


async def test_a_timeout_is_retried(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(delivery_timeout=0.5, **FAST)
    receiver.respond_with((200, 1.5))
    [delivery] = await fired(api, provider="paybook", event="refresh", url=receiver.url)
    first, second = delivery["attempts"]
    assert first["status"] is None and "no response within 0.5 s" in first["error"]
    assert second["status"] == 200 and delivery["status"] == "delivered"


@pytest.mark.parametrize(("provider", "event", "attempts"), [
    ("paybook", "refresh", 6), ("gigapay", "Payout.created", 11), ("centry", "on_product_save", 576),
])
async def test_connection_refused_gives_up_after_the_schedule(make_api: MakeApi, provider: str, event: str,
                                                              attempts: int) -> None:
    api = await make_api(**FAST)
    [delivery] = await fired(api, provider=provider, event=event, url=closed_port_url())
    assert delivery["status"] == "failed"
    assert len(delivery["attempts"]) == attempts
    assert delivery["error"] == f"gave up after {attempts} attempts"
    assert "ClientConnectorError" in delivery["attempts"][0]["error"]


async def test_connection_refused_then_the_receiver_comes_up(make_api: MakeApi) -> None:
    api = await make_api(time_scale=0.05)  # retries after 0.05 s, 0.1 s, 0.2 s, ...
    url = closed_port_url()
    [pending] = (await fire(api, provider="gigapay", event="Payout.created", url=url, secret="s")).json["deliveries"]
    while not (await api.get(f"/_emulator/deliveries/{pending['id']}")).json["attempts"]:
        await asyncio.sleep(0.01)
    with Receiver(port=int(url.rsplit(":", 1)[1].split("/")[0])) as late:
        await asyncio.wait_for(wait_until_settled(api), 10)
    delivery = (await api.get(f"/_emulator/deliveries/{pending['id']}")).json
    assert delivery["status"] == "delivered"
    assert "ClientConnectorError" in delivery["attempts"][0]["error"]
    assert delivery["attempts"][-1]["status"] == 200 and len(late.received) == 1


async def test_centry_counts_only_200_as_delivered(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    receiver.respond_with(201, 204)
    [delivery] = await fired(api, provider="centry", event="on_order_delete", url=receiver.url)
    assert [a["status"] for a in delivery["attempts"]] == [201, 204, 200]
    assert delivery["attempts"][0]["error"] == "HTTP 201 is not a success"


async def test_gigapay_signs_every_retry_anew(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    receiver.respond_with(500)
    await fired(api, provider="gigapay", event="Payout.created", url=receiver.url, secret="s3cret")
    assert len(receiver.received) == 2
    assert all(gigapay_valid(r.headers["Gigapay-Signature"], "s3cret", r.body) for r in receiver.received)


async def test_paybook_counts_failures_and_disables_past_1000(make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    webhook = await paybook_webhook(api, closed_port_url())
    await fired(api, provider="paybook", event="credential_create")
    [listed] = (await api.get("/v1/webhooks", headers=PAYBOOK)).json["response"]
    assert (listed["ct_failed"], listed["is_disabled"]) == (6, 0)

    for _ in range(166):  # 6 more failed attempts each: 1002 in all
        await fire(api, provider="paybook", event="credential_create")
    await asyncio.wait_for(wait_until_settled(api), 30)
    [listed] = (await api.get("/v1/webhooks", headers=PAYBOOK)).json["response"]
    assert listed["id_webhook"] == webhook["id_webhook"]
    assert listed["is_disabled"] == 1 and listed["ct_failed"] > 1000
    assert await fired(api, provider="paybook", event="credential_create") == []


async def wait_until_settled(api: Api) -> None:
    while (await api.get("/_emulator/deliveries?status=pending")).json["deliveries"]:
        await asyncio.sleep(0.01)


async def test_paybook_waits_the_webhooks_delay_before_the_first_attempt(receiver: Receiver,
                                                                        make_api: MakeApi) -> None:
    api = await make_api(time_scale=0.001)
    await paybook_webhook(api, receiver.url, delay=1000)  # 1 s at this scale
    [pending] = (await fire(api, provider="paybook", event="credential_create")).json["deliveries"]
    assert pending["status"] == "pending" and pending["attempts"] == []
    waiting = (await api.get(f"/_emulator/deliveries/{pending['id']}")).json
    assert waiting["next_attempt_at"] is not None and receiver.received == []
    await wait_until_settled(api)
    assert len(receiver.received) == 1


# -- negative signatures ----------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["wrong_secret", "stale_timestamp", "tampered_body", "missing"])
async def test_negative_modes_fail_a_careful_gigapay_verifier(receiver: Receiver, make_api: MakeApi,
                                                              mode: str) -> None:
    api = await make_api(**FAST)
    await fired(api, provider="gigapay", event="Payout.created", url=receiver.url, secret="s3cret", signature=mode)
    got = receiver.received[0]
    header = got.headers.get("Gigapay-Signature")
    if mode == "missing":
        assert header is None
        return
    stamp = int(dict(p.split("=", 1) for p in header.split(","))["t"])
    fresh = abs(stamp - time.time()) <= 300  # the tolerance Stripe-style verifiers use
    assert not (gigapay_valid(header, "s3cret", got.body) and fresh)


@pytest.mark.parametrize("mode", ["wrong_secret", "tampered_body", "missing"])
async def test_negative_modes_fail_shareactor_and_syncfy_verifiers(receiver: Receiver, make_api: MakeApi,
                                                                   mode: str) -> None:
    api = await make_api(**FAST)
    await fired(api, provider="shareactor", event="plan.created", url=receiver.url, secret="s", signature=mode)
    await fired(api, provider="syncfy", event="documents.completed", url=receiver.url, signature=mode)
    share, syncfy = receiver.received
    assert share.headers.get("X-Share-Webhook-Signature") != shareactor_signature("s", share.body)
    jwk = (await api.get("/_emulator/providers/syncfy/jwk")).json
    with pytest.raises((jwt.PyJWTError, AssertionError, KeyError)):
        syncfy_claims(syncfy.headers["request-signature"], jwk, syncfy.body)


async def test_valid_mode_passes_both_verifiers(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    await fired(api, provider="shareactor", event="plan.created", url=receiver.url, secret="s", signature="valid")
    share = receiver.received[0]
    assert share.headers["X-Share-Webhook-Signature"] == shareactor_signature("s", share.body)


async def test_stale_timestamp_makes_an_expired_syncfy_token(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    await fired(api, provider="syncfy", event="documents.completed", url=receiver.url, signature="stale_timestamp")
    jwk = (await api.get("/_emulator/providers/syncfy/jwk")).json
    with pytest.raises(jwt.ExpiredSignatureError):
        syncfy_claims(receiver.received[0].headers["request-signature"], jwk, receiver.received[0].body)


# -- the delivery log and the control API -------------------------------------------------------------

async def test_without_wait_the_answer_is_202_and_pending(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(time_scale=0.001)
    receiver.respond_with(500)
    answer = await fire(api, provider="centry", event="on_order_save", url=receiver.url)
    assert answer.status == 202 and answer.json["deliveries"][0]["status"] == "pending"
    assert "complete" not in answer.json


async def test_the_log_filters_and_shows_one_delivery(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    [ok] = await fired(api, provider="centry", event="on_order_save", url=receiver.url)
    [bad] = await fired(api, provider="paybook", event="refresh", url=closed_port_url())
    assert [d["id"] for d in (await api.get("/_emulator/deliveries?status=failed")).json["deliveries"]] == [bad["id"]]
    assert [d["id"] for d in (await api.get("/_emulator/deliveries?provider=centry")).json["deliveries"]] == [ok["id"]]
    assert [d["id"] for d in (await api.get("/_emulator/deliveries?event=refresh")).json["deliveries"]] == [bad["id"]]
    by_url = (await api.get("/_emulator/deliveries", params={"url": receiver.url})).json["deliveries"]
    assert [d["id"] for d in by_url] == [ok["id"]]
    one = (await api.get(f"/_emulator/deliveries/{ok['id']}")).json
    assert one["attempts"][0]["request_headers"]["Content-Type"] == "application/json"
    assert json.loads(one["attempts"][0]["request_body"]) == json.loads(one["body"])
    assert (await api.get("/_emulator/deliveries/nope")).status == 404


async def test_redelivery_sends_the_same_notification_again(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    [delivery] = await fired(api, provider="shareactor", event="order.created", url=receiver.url, secret="s")
    again = await api.post(f"/_emulator/deliveries/{delivery['id']}/redeliver")
    assert again.status == 200
    assert again.json["event_ids"] == delivery["event_ids"] and len(again.json["attempts"]) == 2
    first, second = receiver.received
    assert first.body == second.body
    assert (await api.post("/_emulator/deliveries/nope/redeliver")).status == 404


async def test_the_log_is_bounded(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(delivery_log_size=3, **FAST)
    ids = [(await fired(api, provider="centry", event="on_order_save", url=receiver.url))[0]["id"]
           for _ in range(5)]
    log = (await api.get("/_emulator/deliveries")).json
    assert [d["id"] for d in log["deliveries"]] == ids[2:] and log["dropped"] == 2


async def test_reset_forgets_deliveries(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    await fired(api, provider="centry", event="on_order_save", url=receiver.url)
    await api.post("/_emulator/reset", json={"provider": "centry"})
    assert (await api.get("/_emulator/deliveries")).json["deliveries"] == []


@pytest.mark.parametrize(("body", "status", "fragment"), [
    ({"event": "x"}, 400, "provider must name one of"),
    ({"provider": "nope", "event": "x"}, 404, "no provider named 'nope'"),
    ({"provider": "gigapay", "event": "Payout.exploded"}, 400, "gigapay has no event 'Payout.exploded'"),
    ({"provider": "gigapay"}, 400, "event is required"),
    ({"provider": "gigapay", "event": "Payout.created", "url": "ftp://x"}, 400, "url must be an absolute http(s) URL"),
    ({"provider": "gigapay", "event": "Payout.created", "signature": "bad"}, 400, "signature must be one of"),
    ({"provider": "gigapay", "event": "Payout.created", "colour": 1}, 400, "unknown field(s) colour"),
    ({"provider": "gigapay", "event": "Payout.created", "data": [1]}, 400, "data must be an object"),
    ({"provider": "gigapay", "event": "Payout.created", "secret": "s"}, 400, "secret applies only with url"),
    ({"provider": "syncfy", "event": "documents.fail", "url": "http://x.io", "secret": "s"}, 400, "JWK"),
])
async def test_bad_firing_requests_get_clear_errors(api: Api, body: dict[str, Any], status: int,
                                                    fragment: str) -> None:
    answer = await fire(api, **body)
    assert answer.status == status
    assert fragment in answer.json["message"]


async def test_a_firing_body_that_is_not_json_is_refused(api: Api) -> None:
    answer = await api.post("/_emulator/events", data=b"{", headers={"Content-Type": "application/json"})
    assert answer.status == 400 and answer.json["error"] == "malformed_body"


async def test_providers_lists_events(api: Api) -> None:
    providers = {p["name"]: p for p in (await api.get("/_emulator/providers")).json["providers"]}
    assert "Payrun.paid" in providers["gigapay"]["events"]
    assert providers["gigapay"]["aliases"] == {"Invoice.created": "Payrun.created", "Invoice.paid": "Payrun.paid"}
    assert providers["paybook"]["base_path"] == "/v1"


async def test_event_catalogues_match_the_names_each_api_accepts(api: Api) -> None:
    for name in ("paybook", "syncfy", "shareactor", "gigapay"):
        provider = api.state.providers[name]
        accepted = set(provider.registry.contents(provider.schema_uri("events.json"))["enum"])
        catalogue = set(provider.raw["events"]["catalogue"]) | set(provider.raw["events"].get("aliases", {}))
        assert accepted == catalogue, name


# -- shutdown ----------------------------------------------------------------------------------------

async def test_shutdown_finishes_the_attempt_in_flight(receiver: Receiver) -> None:
    emulator = await Emulator(time_scale=1e-6).start_async()
    receiver.respond_with((200, 0.3))
    async with ClientSession() as session:
        body = {"provider": "centry", "event": "on_order_save", "url": receiver.url}
        assert (await session.post(emulator.url + "/_emulator/events", json=body)).status == 202
    await receiver.wait_for_async(1)  # the attempt is under way
    await emulator.stop_async()
    [delivery] = emulator.state.dispatcher.log.find()  # type: ignore[union-attr]
    assert delivery.status == "delivered" and delivery.attempts[0].status == 200
    assert delivery.done.is_set()
