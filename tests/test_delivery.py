"""Event delivery end to end, seen from a consumer: webhooks registered through each provider's own
API, events fired through the control API, notifications caught by a real HTTP receiver, bodies
checked against the events' JSON Schemas and signatures checked by verifiers written from the
algorithms in PROVIDERS.md (never with the project's signer). The receiver is the suite's
`receiver` (the shipped `webhook_receiver`); the verifiers and the helpers are in
tests/providers/conftest.py; provider-specific delivery tests in tests/providers/."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import warnings
from typing import Any

import pytest
from aiohttp import ClientSession

from emulator import Emulator
from emulator.engine.events import catalogue
from emulator.receiver import Receiver
from emulator.state import STATE
from tests.conftest import Api, MakeApi, free_port
from tests.providers.conftest import (
    ATTEMPTS,
    AUTH,
    EVENTS,
    FAST,
    GIGAPAY_EXAMPLE_SECRET,
    OTHER_AUTH,
    OTHER_TENANT,
    PROVIDERS,
    SECRET,
    SHAREACTOR_EXAMPLE_SECRET,
    check_notification,
    closed_url,
    delivery,
    fire,
    fired,
    fired_at,
    gigapay_signature,
    gigapay_valid,
    listed,
    paths,
    register,
    settled,
    shareactor_signature,
    signature_valid,
    webhook_secret,
)

# -- the verifiers (tests/providers/conftest.py), written from PROVIDERS.md ---------------------------

def test_the_verifiers_reproduce_the_docs_worked_examples() -> None:
    shareactor_body = b'{"object":{"_id":{"$oid":"5964a0ead57ba2036750a3b4"},"first_name":"John"}}'
    assert shareactor_signature(SHAREACTOR_EXAMPLE_SECRET, shareactor_body) == \
        "7825b7d30098b886ab6969efdd834ed776cc4d94907468856e7997ffc704bf7a"
    gigapay_body = b'{"id":"1847","name":"Albin Lindskog","verified_at":"2019-05-23T11:57:03.742345Z"}'
    header = "t=1583327301,v1=1574ee6d08d1b6148e756d23dbbc1880ea8dd382afebd3e337e8a56df8d02b7f"
    assert gigapay_signature(GIGAPAY_EXAMPLE_SECRET, "1583327301", gigapay_body) == header
    assert gigapay_valid(header, GIGAPAY_EXAMPLE_SECRET, gigapay_body, now=1583327301)
    assert not gigapay_valid(header, GIGAPAY_EXAMPLE_SECRET, gigapay_body + b" ", now=1583327301)
    assert not gigapay_valid(header, GIGAPAY_EXAMPLE_SECRET, gigapay_body)  # years stale


# -- each provider's notification ---------------------------------------------------------------------

@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_registered_webhook_gets_one_signed_schema_valid_notification(
        receiver: Receiver, make_api: MakeApi, provider: str) -> None:
    api = await make_api(**FAST)
    event = EVENTS[provider][0]
    webhook = await register(api, provider, f"{receiver.url}/{provider}/hook", [event])
    [sent] = await fired(api, provider=provider, event=event)
    assert sent["status"] == "delivered" and sent["events"] == [event]
    assert [a["status"] for a in sent["attempts"]] == [200]
    [got] = receiver.received
    assert got.path == f"/{provider}/hook"
    body = check_notification(api, provider, got, [event])
    assert signature_valid(provider, got, await webhook_secret(api, provider, webhook))
    if provider == "syncfy":
        [entry] = body["events"]
        assert entry["header"]["event"]["eid"] == sent["event_ids"][0]
        assert entry["header"]["user"]["id_environment"] == webhook["id_environment"]
        assert entry["header"]["user"]["id_user"] == entry["payload"]["id_user"]
    if provider == "gigapay":
        assert "event" not in body and "event_type" not in body  # the object itself [doc]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_every_event_in_the_catalogue_sends_a_schema_valid_notification(
        receiver: Receiver, make_api: MakeApi, provider: str) -> None:
    api = await make_api(**FAST)
    events = list(catalogue(api.app[STATE].providers[provider]))
    deliveries, secret = await fired_at(api, provider, events, receiver.url)
    assert sorted(e for d in deliveries for e in d["events"]) == sorted(events)
    assert all(d["status"] == "delivered" for d in deliveries)
    assert len(receiver.received) == len(events)
    by_body = {d["body"]: d["events"] for d in deliveries}  # arrival order is free: match hits by body
    for got in receiver.received:
        check_notification(api, provider, got, by_body[got.body.decode()])
        assert signature_valid(provider, got, secret)


@pytest.mark.parametrize("provider", ["paybook", "syncfy"])
async def test_the_webhooks_custom_headers_reach_the_receiver(receiver: Receiver, make_api: MakeApi,
                                                              provider: str) -> None:
    api = await make_api(**FAST)
    event = EVENTS[provider][0]
    await register(api, provider, receiver.url, [event], headers={"X-Consumer-Token": "abc", "X-Env": "sandbox"})
    await fired(api, provider=provider, event=event)
    [got] = receiver.received
    assert got.headers["X-Consumer-Token"] == "abc" and got.headers["X-Env"] == "sandbox"


async def test_providers_that_do_not_sign_with_a_jwk_have_none(api: Api) -> None:
    answer = await api.get("/_emulator/providers/gigapay/jwk")
    assert answer.status == 404 and "gigapay" in answer.json["message"]


# -- fan-out and filters ------------------------------------------------------------------------------

@pytest.mark.parametrize("provider", PROVIDERS)
async def test_every_webhook_that_wants_the_event_gets_it_and_no_other(receiver: Receiver, make_api: MakeApi,
                                                                       provider: str) -> None:
    api = await make_api(**FAST)
    event, other = EVENTS[provider]
    await register(api, provider, receiver.url + "/a", [event])
    await register(api, provider, receiver.url + "/b", [event])
    await register(api, provider, receiver.url + "/c", [other])
    deliveries = await fired(api, provider=provider, event=event)
    assert sorted(d["url"] for d in deliveries) == [receiver.url + "/a", receiver.url + "/b"]
    assert paths(receiver) == ["/a", "/b"]
    assert len({d["event_ids"][0] for d in deliveries}) == 1  # one event, sent to two webhooks


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_tenant_limits_a_firing_to_one_credential(receiver: Receiver, make_api: MakeApi, provider: str) -> None:
    api = await make_api(**FAST)
    event = EVENTS[provider][0]
    await register(api, provider, receiver.url + "/mine", [event])
    await register(api, provider, receiver.url + "/theirs", [event], auth=OTHER_AUTH[provider])
    [sent] = await fired(api, provider=provider, event=event, tenant=OTHER_TENANT[provider])
    assert sent["tenant"] == OTHER_TENANT[provider]
    assert paths(receiver) == ["/theirs"]


@pytest.mark.parametrize(("provider", "subscribed", "fired_as", "sent_as"), [
    ("syncfy", "documents.fail", "documents.failed", "documents.fail"),
    ("syncfy", "documents.failed", "documents.fail", "documents.fail"),
    ("gigapay", "Payrun.paid", "Invoice.paid", "Payrun.paid"),
    ("gigapay", "Invoice.paid", "Payrun.paid", "Payrun.paid"),
    ("gigapay", "Invoice.created", "Invoice.created", "Payrun.created"),
])
async def test_an_alias_fires_the_canonical_event(receiver: Receiver, make_api: MakeApi, provider: str,
                                                 subscribed: str, fired_as: str, sent_as: str) -> None:
    api = await make_api(**FAST)
    await register(api, provider, receiver.url, [subscribed])
    [sent] = await fired(api, provider=provider, event=fired_as)
    assert sent["events"] == [sent_as] and sent["status"] == "delivered"
    [got] = receiver.received
    check_notification(api, provider, got, [sent_as])


async def test_an_event_and_its_alias_in_one_firing_send_one_notification(receiver: Receiver,
                                                                          make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    await register(api, "gigapay", receiver.url, ["Payrun.paid", "Invoice.paid"])
    [sent] = await fired(api, provider="gigapay", event=["Invoice.paid", "Payrun.paid"])
    assert sent["events"] == ["Payrun.paid"]
    assert len(receiver.received) == 1
    assert receiver.received[0].json["latest_status"] == "paid"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_firing_nobody_wants_sends_nothing(receiver: Receiver, make_api: MakeApi, provider: str) -> None:
    api = await make_api(**FAST)
    event, other = EVENTS[provider]
    await register(api, provider, receiver.url, [other])
    assert await fired(api, provider=provider, event=event) == []
    assert receiver.received == []


# -- payload overrides and ShareActor's simulate --------------------------------------------------------

async def test_simulating_an_unknown_webhook_is_a_404(api: Api) -> None:
    answer = await api.post("/webhooks/5964a0ead57ba2036750a3b4/simulate", headers=AUTH["shareactor"])
    assert answer.status == 404


# -- retries, timeouts and outcomes ---------------------------------------------------------------------

@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_500_is_retried_and_then_delivered(receiver: Receiver, make_api: MakeApi, provider: str) -> None:
    api = await make_api(**FAST)
    receiver.respond_with(500)
    [sent], secret = await fired_at(api, provider, EVENTS[provider][0], receiver.url)
    assert sent["status"] == "delivered"
    assert [a["status"] for a in sent["attempts"]] == [500, 200]
    first, second = receiver.received
    assert first.body == second.body  # the same notification again
    assert signature_valid(provider, first, secret) and signature_valid(provider, second, secret)


@pytest.mark.parametrize("provider", ["paybook", "gigapay", "centry"])
async def test_an_attempt_that_times_out_is_retried(receiver: Receiver, make_api: MakeApi, provider: str) -> None:
    api = await make_api(delivery_timeout=0.3, **FAST)
    receiver.respond_with((200, 0.8))
    [sent], _ = await fired_at(api, provider, EVENTS[provider][0], receiver.url)
    first, second = sent["attempts"]
    assert first["status"] is None and first["error"]
    assert second["status"] == 200 and sent["status"] == "delivered"
    assert len(receiver.received) == 2


async def test_connection_refused_then_the_receiver_comes_up(make_api: MakeApi) -> None:
    api = await make_api(time_scale=0.05)  # retries after 0.05 s, 0.1 s, 0.2 s, ...
    port = free_port()
    answer = await fire(api, provider="gigapay", event="Payout.created", url=f"http://127.0.0.1:{port}/late",
                        secret=SECRET)
    [pending] = answer.json["deliveries"]
    async with asyncio.timeout(10):
        while not (await delivery(api, pending["id"]))["attempts"]:
            await asyncio.sleep(0.005)
    with Receiver(port=port) as late:
        final = await settled(api, pending["id"])
    assert final["status"] == "delivered"
    assert final["attempts"][0]["status"] is None and final["attempts"][0]["error"]
    assert final["attempts"][-1]["status"] == 200
    [got] = late.received
    assert got.path == "/late" and signature_valid("gigapay", got, SECRET)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_connection_refused_gives_up_after_the_schedule(make_api: MakeApi, provider: str) -> None:
    api = await make_api(**FAST)
    [sent], _ = await fired_at(api, provider, EVENTS[provider][0], closed_url())
    assert sent["status"] == "failed" and sent["error"]
    assert sent["attempt_count"] == ATTEMPTS[provider]
    assert all(a["status"] is None and a["error"] for a in sent["attempts"])
    kept = min(ATTEMPTS[provider], 20)  # the log keeps the most recent 20 (--delivery-attempts-kept)
    assert [a["number"] for a in sent["attempts"]] == list(range(ATTEMPTS[provider] - kept + 1, ATTEMPTS[provider] + 1))


@pytest.mark.parametrize("provider", ["paybook", "syncfy", "shareactor", "gigapay"])
async def test_a_receiver_that_keeps_failing_gets_the_schedule_and_no_more(receiver: Receiver, make_api: MakeApi,
                                                                           provider: str) -> None:
    api = await make_api(**FAST)
    receiver.respond_with(*[500] * ATTEMPTS[provider], 200)
    [sent], _ = await fired_at(api, provider, EVENTS[provider][0], receiver.url)
    assert sent["status"] == "failed"
    assert [a["status"] for a in sent["attempts"]] == [500] * ATTEMPTS[provider]
    assert len(receiver.received) == ATTEMPTS[provider]


@pytest.mark.parametrize("provider", ["paybook", "syncfy", "shareactor", "gigapay"])
async def test_other_providers_count_any_2xx_as_delivered(receiver: Receiver, make_api: MakeApi,
                                                         provider: str) -> None:
    api = await make_api(**FAST)
    receiver.respond_with(201)
    [sent], _ = await fired_at(api, provider, EVENTS[provider][0], receiver.url)
    assert sent["status"] == "delivered" and [a["status"] for a in sent["attempts"]] == [201]


# -- negative signatures ----------------------------------------------------------------------------------

NEGATIVE = [(p, m) for p in ("shareactor", "gigapay", "syncfy")
            for m in ("wrong_secret", "stale_timestamp", "tampered_body", "missing")
            # ShareActor signs no timestamp, so a stale one cannot show (see the report).
            if (p, m) != ("shareactor", "stale_timestamp")]


@pytest.mark.parametrize(("provider", "mode"), NEGATIVE)
async def test_a_bad_signature_mode_fails_the_consumers_verifier(receiver: Receiver, make_api: MakeApi,
                                                                 provider: str, mode: str) -> None:
    api = await make_api(**FAST)
    [sent], secret = await fired_at(api, provider, EVENTS[provider][0], receiver.url, signature=mode)
    assert sent["signature"] == mode and sent["status"] == "delivered"
    [got] = receiver.received
    assert not signature_valid(provider, got, secret)
    json.loads(got.body)  # still a JSON body a consumer can read


@pytest.mark.parametrize("provider", ["shareactor", "gigapay", "syncfy"])
async def test_the_valid_mode_passes_the_consumers_verifier(receiver: Receiver, make_api: MakeApi,
                                                            provider: str) -> None:
    api = await make_api(**FAST)
    _, secret = await fired_at(api, provider, EVENTS[provider][0], receiver.url, signature="valid")
    assert signature_valid(provider, receiver.received[0], secret)


# -- redelivery, wait and the delivery log -------------------------------------------------------------------

@pytest.mark.parametrize("provider", PROVIDERS)
async def test_redelivery_sends_the_same_notification_once_more(receiver: Receiver, make_api: MakeApi,
                                                                provider: str) -> None:
    api = await make_api(**FAST)
    [sent], secret = await fired_at(api, provider, EVENTS[provider][0], receiver.url)
    again = await api.post(f"/_emulator/deliveries/{sent['id']}/redeliver")
    assert again.status == 200
    assert again.json["id"] == sent["id"] and again.json["event_ids"] == sent["event_ids"]
    assert again.json["body"] == sent["body"]
    assert [a["status"] for a in again.json["attempts"]] == [200, 200]
    first, second = receiver.received
    assert first.body == second.body
    assert signature_valid(provider, second, secret)
    assert len((await delivery(api, sent["id"]))["attempts"]) == 2


async def test_redelivering_a_failed_delivery_can_deliver_it(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    receiver.respond_with(*[500] * 6)
    [sent] = await fired(api, provider="paybook", event="refresh", url=receiver.url)
    assert sent["status"] == "failed"
    again = (await api.post(f"/_emulator/deliveries/{sent['id']}/redeliver")).json
    assert again["status"] == "delivered" and len(again["attempts"]) == 7
    assert (await delivery(api, sent["id"]))["status"] == "delivered"
    assert len({got.body for got in receiver.received}) == 1 and len(receiver.received) == 7


async def test_redelivering_an_unknown_delivery_is_a_404(api: Api) -> None:
    answer = await api.post("/_emulator/deliveries/nope/redeliver")
    assert answer.status == 404 and "nope" in answer.json["message"]


async def test_without_wait_the_answer_is_202_with_pending_deliveries(receiver: Receiver,
                                                                      make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    await register(api, "centry", receiver.url + "/a", ["on_order_save"])
    await register(api, "centry", receiver.url + "/b", ["on_order_save"])
    answer = await fire(api, provider="centry", event="on_order_save")
    assert answer.status == 202 and "complete" not in answer.json
    assert [d["status"] for d in answer.json["deliveries"]] == ["pending", "pending"]
    for pending in answer.json["deliveries"]:
        assert (await settled(api, pending["id"]))["status"] == "delivered"
    assert paths(receiver) == ["/a", "/b"]


async def test_with_wait_the_answer_is_200_with_final_outcomes(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    await register(api, "gigapay", receiver.url, ["Payout.created"])
    await register(api, "gigapay", closed_url(), ["Payout.created"])
    answer = await fire(api, provider="gigapay", event="Payout.created", wait=True)
    assert answer.status == 200 and answer.json["complete"] is True
    assert sorted(d["status"] for d in answer.json["deliveries"]) == ["delivered", "failed"]
    assert answer.json["provider"] == "gigapay"


async def test_wait_gives_up_after_its_timeout_with_complete_false(make_api: MakeApi) -> None:
    api = await make_api(time_scale=1.0)  # the first retry is a second away
    answer = await fire(api, provider="gigapay", event="Payout.created", url=closed_url(), secret=SECRET,
                        wait=True, timeout=0.2)
    assert answer.status == 200 and answer.json["complete"] is False
    [pending] = answer.json["deliveries"]
    assert pending["status"] == "pending" and len(pending["attempts"]) == 1


async def test_the_log_filters_by_provider_event_status_and_url(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    [ok] = await fired(api, provider="centry", event="on_order_save", url=receiver.url + "/ok")
    [bad] = await fired(api, provider="paybook", event="refresh", url=closed_url())
    [other] = await fired(api, provider="centry", event="on_product_save", url=receiver.url + "/other")
    assert await listed(api) == [ok["id"], bad["id"], other["id"]]
    assert await listed(api, "?provider=centry") == [ok["id"], other["id"]]
    assert await listed(api, "?event=refresh") == [bad["id"]]
    assert await listed(api, "?status=failed") == [bad["id"]]
    assert await listed(api, "?status=delivered&provider=centry&event=on_product_save") == [other["id"]]
    assert [d["id"] for d in (await api.get("/_emulator/deliveries", params={"url": receiver.url + "/ok"})
                              ).json["deliveries"]] == [ok["id"]]
    assert await listed(api, "?provider=gigapay") == []
    one = await delivery(api, ok["id"])
    assert one["attempts"][0]["request_headers"]["Content-Type"] == "application/json"
    assert json.loads(one["attempts"][0]["request_body"]) == json.loads(one["body"]) == receiver.received[0].json
    missing = await api.get("/_emulator/deliveries/nope")
    assert missing.status == 404 and missing.json["message"]


async def test_the_log_keeps_the_most_recent_deliveries(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(delivery_log_size=3, **FAST)
    ids = [(await fired(api, provider="centry", event="on_order_save", url=receiver.url))[0]["id"]
           for _ in range(5)]
    log = (await api.get("/_emulator/deliveries")).json
    assert [d["id"] for d in log["deliveries"]] == ids[2:] and log["dropped"] == 2
    assert (await api.get(f"/_emulator/deliveries/{ids[0]}")).status == 404
    assert len(receiver.received) == 5  # dropping from the log does not stop anything being sent


async def test_reset_forgets_deliveries(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    [centry] = await fired(api, provider="centry", event="on_order_save", url=receiver.url)
    [paybook] = await fired(api, provider="paybook", event="refresh", url=receiver.url)
    assert (await api.post("/_emulator/reset", json={"provider": "centry"})).status == 200
    assert await listed(api) == [paybook["id"]]
    assert (await api.get(f"/_emulator/deliveries/{centry['id']}")).status == 404
    assert (await api.post("/_emulator/reset")).status == 200
    assert await listed(api) == []


@pytest.mark.parametrize(("body", "fragment"), [
    ({"event": "x"}, "provider"),
    ({"provider": "nope", "event": "x"}, "nope"),
    ({"provider": "gigapay", "event": "Payout.exploded"}, "Payout.exploded"),
    ({"provider": "gigapay"}, "event"),
    ({"provider": "gigapay", "event": "Payout.created", "url": "ftp://x"}, "url"),
    ({"provider": "gigapay", "event": "Payout.created", "url": "not a url"}, "url"),
    ({"provider": "gigapay", "event": "Payout.created", "signature": "bad"}, "signature"),
    ({"provider": "gigapay", "event": "Payout.created", "colour": 1}, "colour"),
    ({"provider": "gigapay", "event": "Payout.created", "data": [1]}, "data"),
    ({"provider": "gigapay", "event": "Payout.created", "data": "x"}, "data"),
    ({"provider": "gigapay", "event": "Payout.created", "wait": "yes"}, "wait"),
    ({"provider": "syncfy", "event": "documents.fail", "url": "http://x.io", "secret": "s"}, "JWK"),
])
async def test_a_bad_firing_request_gets_a_clear_4xx(api: Api, body: dict[str, Any], fragment: str) -> None:
    answer = await fire(api, **body)
    assert 400 <= answer.status < 500
    assert answer.headers["Content-Type"].startswith("application/json")
    assert fragment in answer.json["message"]
    assert await listed(api) == []


@pytest.mark.parametrize("raw", [b"{", b"[1, 2]", b'"text"'])
async def test_a_firing_body_that_is_not_a_json_object_is_refused(api: Api, raw: bytes) -> None:
    answer = await api.post("/_emulator/events", data=raw, headers={"Content-Type": "application/json"})
    assert answer.status == 400 and answer.json["message"]


# -- shutdown ------------------------------------------------------------------------------------------------

def dispatcher_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if "Dispatcher" in t.get_coro().__qualname__]  # type: ignore[union-attr]


async def stop_cleanly(emulator: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    """Stop the emulator (bounded) and check it left no task behind and said nothing alarming."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await asyncio.wait_for(emulator.stop_async(), 15)
        await asyncio.sleep(0)
        gc.collect()
    assert [t for t in dispatcher_tasks() if not t.done()] == []
    assert [str(w.message) for w in caught] == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_stopping_finishes_the_attempt_in_flight(receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.respond_with((200, 0.5))
    emulator = await Emulator(**FAST).start_async()
    async with ClientSession() as session:
        body = {"provider": "centry", "event": "on_order_save", "url": receiver.url}
        async with session.post(emulator.url + "/_emulator/events", json=body) as answer:
            assert answer.status == 202
    await receiver.wait_for_async(1)  # the attempt is under way: the receiver is still answering
    await stop_cleanly(emulator, caplog)
    [sent] = emulator.state.dispatcher.log.find()  # type: ignore[union-attr]
    assert sent.status == "delivered" and [a.status for a in sent.attempts] == [200]


async def test_stopping_cancels_deliveries_waiting_for_a_retry(receiver: Receiver,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.respond_with(500)
    emulator = await Emulator(time_scale=1.0).start_async()  # the retry is a second away
    async with ClientSession() as session:
        body = {"provider": "gigapay", "event": "Payout.created", "url": receiver.url, "secret": SECRET}
        async with session.post(emulator.url + "/_emulator/events", json=body) as answer:
            assert answer.status == 202
            [pending] = (await answer.json())["deliveries"]
        async with asyncio.timeout(5):
            while True:
                async with session.get(f"{emulator.url}/_emulator/deliveries/{pending['id']}") as shown:
                    if (await shown.json())["next_attempt_at"]:
                        break
                await asyncio.sleep(0.005)
    await stop_cleanly(emulator, caplog)
    [sent] = emulator.state.dispatcher.log.find()  # type: ignore[union-attr]
    assert [a.status for a in sent.attempts] == [500] and len(receiver.received) == 1
    # What the log says afterwards: not delivered, no further attempt promised, and why.
    assert sent.status != "delivered" and sent.done.is_set()
    assert sent.next_attempt_at is None and sent.error


async def test_each_firing_finds_the_subscribers_as_they_are_after_every_change(receiver: Receiver,
                                                                             make_api: MakeApi) -> None:
    """Subscribers are looked up in an index the collection keeps until it changes: a webhook that
    changes its events, is added or deleted between two firings is found (or not) accordingly."""
    api = await make_api(**FAST)

    async def receiving() -> list[str]:
        deliveries = await fired(api, provider="gigapay", event="Employee.created")
        return [d["url"].removeprefix(receiver.url) for d in deliveries]

    first = await register(api, "gigapay", receiver.url + "/first", ["Payout.created"])
    assert await receiving() == []
    patched = await api.patch(f"/v2/webhooks/{first['id']}/", json={"events": ["Employee.created"]},
                              headers=AUTH["gigapay"])
    assert patched.status == 200
    assert await receiving() == ["/first"]
    await register(api, "gigapay", receiver.url + "/second", ["Employee.created", "Payout.created"])
    assert await receiving() == ["/first", "/second"]
    assert (await api.delete(f"/v2/webhooks/{first['id']}/", headers=AUTH["gigapay"])).status == 204
    assert await receiving() == ["/second"]
