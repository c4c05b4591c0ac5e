"""`wait_for_delivery` that times out says why: no delivery was ever created (and which webhooks
there are), the delivery failed after its attempts (and the last answer), or it is still pending
(and when its next attempt is)."""

from __future__ import annotations

import time

import pytest

from emulator import Emulator, EmulatorClient, Receiver


def why(client: EmulatorClient, **filters: object) -> str:
    with pytest.raises(TimeoutError) as timed_out:
        client.wait_for_delivery(timeout=0.05, **filters)  # type: ignore[arg-type]
    return str(timed_out.value)


def test_nothing_created_without_webhooks(client: EmulatorClient) -> None:
    client.fire("gigapay", "Payout.created")
    assert why(client, event="Payout.created") == (
        "no delivery matching {'event': 'Payout.created'} reached delivered within 0.05 s: none was ever created: "
        "was the event fired, and does a webhook (enabled, of that tenant) want it? gigapay has no webhooks")


def test_nothing_created_lists_the_webhooks_that_exist(client: EmulatorClient) -> None:
    client.create_webhook("gigapay", "T", {"url": "http://app.test/employees", "events": ["Employee.created"]},
                          scope="I")
    client.fire("gigapay", "Payout.created")
    said = why(client, event="Payout.created", provider="gigapay")
    assert "none was ever created" in said
    assert 'gigapay has 1 webhook(s): tenant \'T\': {"id":' in said
    assert '"url":"http://app.test/employees","events":["Employee.created"]' in said
    assert why(client, event="Payout.created", tenant="U").endswith("gigapay has no webhooks of tenant 'U'")


def test_a_failed_delivery_says_after_how_many_attempts_and_the_last_answer(client: EmulatorClient,
                                                                            receiver: Receiver) -> None:
    receiver.status = 500
    client.fire("paybook", "refresh", url=receiver.url_for("/pb"))
    final = client.wait_for_delivery(status=None, event="refresh")
    assert final["status"] == "failed" and len(final["attempts"]) == 6
    assert why(client, event="refresh").endswith(
        f"refresh to {receiver.url}/pb failed after 6 attempt(s), last HTTP 500")


def test_a_pending_delivery_says_when_its_next_attempt_is(receiver: Receiver) -> None:
    with Emulator() as slow:  # real time: Centry retries every 5 minutes
        receiver.status = 503
        slow.client.fire("centry", "on_product_save", url=receiver.url_for("/ct"))
        receiver.wait_for(1)
        deadline = time.monotonic() + 10
        while not (pending := slow.client.deliveries()[0])["next_attempt_at"] and time.monotonic() < deadline:
            time.sleep(0.01)  # the attempt's outcome is recorded just after the receiver answered
        assert pending["status"] == "pending"
        assert why(slow.client, event="on_product_save").endswith(
            f"on_product_save to {receiver.url}/ct is still pending after 1 attempt(s), last HTTP 503, "
            f"next attempt at {pending['next_attempt_at']}")
