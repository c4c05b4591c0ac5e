"""Notifications that misbehave on purpose, caught by a real receiver: sent twice (`duplicate`),
late (`delay`), or one after the other in reverse (`order`), through the control API, the client,
the pytest plugin and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from emulator.client import ControlError
from emulator.pytest_plugin import EmulatorHandle
from emulator.receiver import Receiver

SECRET = "s3cret"
EVENTS = ["Payout.created", "Payout.notified", "Payout.accepted"]


def test_a_duplicate_is_the_same_notification_again_after_delivery(client: Any, receiver: Receiver) -> None:
    [sent] = client.fire("shareactor", "order.created", url=receiver.url_for("/hook"), secret=SECRET,
                         duplicate=True, wait=True)
    first, second = receiver.wait_for(2)
    assert first.body == second.body and sent["body"] == first.body.decode()
    assert receiver.verify("shareactor", first, SECRET) and receiver.verify("shareactor", second, SECRET)
    assert sent["status"] == "delivered" and sent["duplicates"] == 1
    assert [(a["status"], a["outcome"]) for a in sent["attempts"]] == [(200, "delivered"), (200, "delivered")]


def test_a_duplicate_follows_the_successful_retry_only(client: Any, receiver: Receiver) -> None:
    receiver.respond_with(500)
    [sent] = client.fire("gigapay", "Payout.created", url=receiver.url_for("/g"), secret=SECRET, duplicate=True,
                         wait=True)
    assert [a["status"] for a in sent["attempts"]] == [500, 200, 200]
    assert len({h.body for h in receiver.wait_for(3)}) == 1


def test_a_delay_holds_the_notification_back(client: Any, receiver: Receiver) -> None:
    # 3600 s at a time scale of 0.001: held for 3.6 s, long after these checks.
    [held] = client.fire("gigapay", "Payout.created", url=receiver.url_for("/late"), secret=SECRET, delay=3600)
    found = client.delivery(held["id"])
    assert found["status"] == "pending" and found["attempts"] == [] and found["next_attempt_at"] is not None
    assert receiver.received == []
    [quick] = client.fire("gigapay", "Payout.created", url=receiver.url_for("/soon"), secret=SECRET, delay=1,
                          wait=True)
    assert quick["status"] == "delivered"
    assert [r.path for r in receiver.received] == ["/soon"]


@pytest.mark.parametrize(("order", "expected"), [("fired", EVENTS), ("reversed", EVENTS[::-1])])
def test_an_order_sends_one_after_the_other(client: Any, receiver: Receiver, order: str,
                                            expected: list[str]) -> None:
    receiver.respond_with(500)  # the first one fails once: the others wait for its retry
    deliveries = client.fire("gigapay", EVENTS, url=receiver.url_for("/o"), secret=SECRET, order=order, wait=True)
    by_body = {d["body"]: d["events"][0] for d in deliveries}
    assert [by_body[h.body.decode()] for h in receiver.wait_for(4)] == [expected[0], *expected]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("duplicate", -1, "duplicate must be"),
    ("duplicate", "yes", "duplicate must be"),
    ("delay", -2, "delay must be"),
    ("delay", True, "delay must be"),
    ("order", "random", "order must be one of fired, reversed"),
])
def test_bad_misbehaviour_is_refused(client: Any, receiver: Receiver, field: str, value: Any, message: str) -> None:
    with pytest.raises(ControlError, match=message) as refused:
        client.fire("gigapay", "Payout.created", url=receiver.url, **{field: value})
    assert refused.value.status == 400 and receiver.received == []


def test_the_pytest_fixture_fires_duplicates(webhook_emulator: EmulatorHandle, webhook_receiver: Receiver) -> None:
    webhook_emulator.fire("centry", "on_order_save", url=webhook_receiver.url_for("/c"), duplicate=True, wait=True)
    first, second = webhook_receiver.wait_for(2)
    assert first.json == second.json and first.json["topic"] == "on_order_save"


def test_the_cli_fires_reversed_duplicates(receiver: Receiver) -> None:
    done = subprocess.run([sys.executable, "-m", "emulator", "fire", "centry", "on_product_save", "on_order_save",
                           "--url", receiver.url_for("/cli"), "--order", "reversed", "--duplicate",
                           "--time-scale", "0.001", "--json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    deliveries = json.loads(done.stdout)["deliveries"]
    assert [d["duplicates"] for d in deliveries] == [1, 1]
    topics = [h.json["topic"] for h in receiver.wait_for(4)]
    assert topics == ["on_order_save", "on_order_save", "on_product_save", "on_product_save"]
