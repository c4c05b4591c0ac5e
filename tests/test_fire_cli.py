"""`python -m emulator fire ...` as a user runs it: a real subprocess firing at a real receiver (the
suite's `receiver`), its exit status, its output, and the notification checked with the verifiers
written from the docs in tests/providers/conftest.py (provider-specific firings are in tests/providers/)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from aiohttp import ClientSession

from emulator.pytest_plugin import EmulatorHandle
from emulator.receiver import Receiver
from tests.providers.conftest import (
    AUTH,
    closed_url,
    fire_cli,
    gigapay_valid,
    shareactor_signature,
)


async def test_fire_with_data_and_a_bad_signature_mode(receiver: Receiver) -> None:
    run = await fire_cli("shareactor", "order.created", "--url", receiver.url, "--secret", "s",
                         "--data", '{"human_id": "ORD-7"}', "--signature", "wrong_secret")
    assert run.code == 0, run.err
    [got] = receiver.received
    assert got.json["object"]["human_id"] == "ORD-7"
    assert got.headers["X-Share-Webhook-Signature"] != shareactor_signature("s", got.body)


async def test_fire_at_a_target_that_never_answers_exits_1() -> None:
    run = await fire_cli("gigapay", "Payout.created", "--url", closed_url(), "--secret", "s",
                         "--time-scale", "0.000001")
    assert run.code == 1
    [delivery] = run.deliveries
    assert delivery["status"] == "failed" and len(delivery["attempts"]) == 11


BAD_REQUESTS = [
    (["gigapay", "Payout.exploded", "--url", "http://127.0.0.1:9/x"], "Payout.exploded"),
    (["nope", "x", "--url", "http://127.0.0.1:9/x"], "nope"),
    (["gigapay", "Payout.created"], "--url"),
    (["gigapay", "Payout.created", "--url", "http://127.0.0.1:9/x", "--data", "{not json"], "--data"),
]


async def test_fire_refuses_bad_requests_with_exit_2_and_a_clear_message() -> None:
    runs = await asyncio.gather(*(fire_cli(*args) for args, _ in BAD_REQUESTS))  # side by side: faster
    for run, (args, fragment) in zip(runs, BAD_REQUESTS, strict=True):
        assert run.code == 2, args
        assert fragment in run.err, (args, run.err)
        assert "Traceback" not in run.err


async def test_fire_through_a_running_emulator_reaches_its_registered_webhooks(
        receiver: Receiver, webhook_emulator_pool: Callable[..., EmulatorHandle]) -> None:
    emulator = webhook_emulator_pool(time_scale=1e-6)
    async with ClientSession() as session:
        webhooks = []
        for path in ("/one", "/two"):
            async with session.post(emulator.url + "/v2/webhooks/", headers=AUTH["gigapay"],
                                    json={"url": receiver.url + path, "events": ["Payout.created"]}) as answer:
                assert answer.status == 201
                webhooks.append(await answer.json())
    run = await fire_cli("gigapay", "Payout.created", "--server", emulator.url)
    assert run.code == 0, run.err
    assert sorted(d["url"] for d in run.deliveries) == [receiver.url + "/one", receiver.url + "/two"]
    assert len(emulator.deliveries(provider="gigapay")) == 2
    secrets = {w["url"]: w["secret_key"] for w in webhooks}
    await receiver.wait_for_async(2)
    assert sorted(got.path for got in receiver.received) == ["/one", "/two"]
    for got in receiver.received:
        assert gigapay_valid(got.headers["Gigapay-Signature"], secrets[receiver.url + got.path], got.body)


async def test_fire_through_a_running_emulator_with_no_webhook_says_so(
        webhook_emulator_pool: Callable[..., EmulatorHandle]) -> None:
    emulator = webhook_emulator_pool(time_scale=1e-6)
    run = await fire_cli("centry", "on_order_save", "--server", emulator.url)
    assert run.code == 1
    assert run.deliveries == []
    assert run.err.strip() == "webhook-emulator: nothing sent: no centry webhook is registered"


async def test_fire_that_reaches_nobody_says_why_and_lists_the_webhooks(
        webhook_emulator_pool: Callable[..., EmulatorHandle]) -> None:
    """Another tenant's webhook, or one that wants other events: the reason names it, and the
    webhooks that exist are listed (id, tenant, URL, events) on stderr and in the JSON answer."""
    emulator = webhook_emulator_pool(time_scale=1e-6)
    async with ClientSession() as session, session.post(
            emulator.url + "/v2/webhooks/", headers=AUTH["gigapay"],
            json={"url": "http://127.0.0.1:9/gp", "events": ["Payout.created"]}) as answer:
        webhook = await answer.json()
    tenant = AUTH["gigapay"]["Authorization"].removeprefix("Token ")
    unwanted = await fire_cli("gigapay", "Payrun.paid", "--server", emulator.url)
    elsewhere = await fire_cli("gigapay", "Payout.created", "--server", emulator.url, "--tenant", "someone-else")
    listed = f"  webhook {webhook['id']} of tenant {tenant!r} -> http://127.0.0.1:9/gp wants Payout.created"
    assert unwanted.code == 1 and unwanted.err.splitlines() == [
        "webhook-emulator: nothing sent: none of the 1 gigapay webhook(s) wants Payrun.paid", listed]
    assert json.loads(unwanted.out)["webhooks"] == [{"id": webhook["id"], "tenant": tenant, "url": webhook["url"],
                                                     "events": ["Payout.created"], "disabled": False}]
    assert elsewhere.code == 1 and elsewhere.err.splitlines() == [
        "webhook-emulator: nothing sent: no gigapay webhook belongs to tenant 'someone-else' (1 belong to others)",
        listed]


async def test_a_mistyped_event_or_provider_gets_a_suggestion() -> None:
    event = await fire_cli("gigapay", "Payout.craeted", "--url", "http://127.0.0.1:9/")
    provider = await fire_cli("gigapy", "Payout.created", "--url", "http://127.0.0.1:9/")
    assert event.code == 2 and "no event 'Payout.craeted' (did you mean 'Payout.created'?)" in event.err
    assert provider.code == 2 and "no provider named 'gigapy' (did you mean 'gigapay'?)" in provider.err


async def test_bad_data_json_blames_only_data() -> None:
    run = await fire_cli("gigapay", "Payout.created", "--url", "http://127.0.0.1:9/", "--secret", "s",
                         "--data", "{bad")
    assert run.code == 2
    assert run.err.startswith("webhook-emulator: --data must be valid JSON: ") and "--secret" not in run.err


async def test_fire_at_a_server_that_is_not_there_exits_2() -> None:
    run = await fire_cli("centry", "on_order_save", "--server", closed_url(""), "--timeout", "2")
    assert run.code == 2
    assert "cannot reach" in run.err
