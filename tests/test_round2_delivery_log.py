"""The delivery log is bounded in bytes as well as in deliveries: bodies are kept up to a limit
then marked truncated, each delivery keeps its most recent attempts (the count stays exact), the
list answers a page at a time; and redelivering a pending delivery leaves its schedule whole."""

from __future__ import annotations

import requests

from emulator import Emulator
from emulator.receiver import Receiver

BIG = "x" * 200_000


def test_bodies_are_kept_up_to_the_limit_then_marked_truncated() -> None:
    with Receiver() as receiver, Emulator(delivery_body_limit=1000) as emulator:
        [sent] = emulator.client.fire("gigapay", "Payout.created", {"description": BIG}, url=receiver.url_for("/big"),
                                      secret="s", wait=True)
        [received] = receiver.received
    assert len(received.body) > 200_000  # the receiver gets all of it
    assert len(sent["body"]) < 1100 and sent["body"].endswith("bytes in all]")
    assert f"[truncated: {len(received.body)} bytes in all]" in sent["attempts"][0]["request_body"]


def test_the_log_drops_its_oldest_deliveries_past_its_bytes() -> None:
    with Receiver() as receiver, Emulator(delivery_log_bytes=1_000_000) as emulator:
        ids = [emulator.client.fire("gigapay", "Payout.created", {"description": BIG}, url=receiver.url_for("/"),
                                    secret="s", wait=True)[0]["id"] for _ in range(6)]
        kept = [d["id"] for d in emulator.client.deliveries()]
        dropped = requests.get(emulator.url + "/_emulator/deliveries", timeout=10).json()["dropped"]
    assert kept == ids[-len(kept):] and 1 <= len(kept) < 6
    assert dropped == 6 - len(kept)


def test_a_delivery_keeps_its_most_recent_attempts_and_counts_them_all() -> None:
    with Receiver() as receiver, Emulator(delivery_attempts_kept=3) as emulator:
        [sent] = emulator.client.fire("gigapay", "Payout.created", url=receiver.url_for("/"), secret="s", wait=True)
        for _ in range(7):
            emulator.client.redeliver(sent["id"])
        found = emulator.client.delivery(sent["id"])
    assert found["attempt_count"] == 8 and len(receiver.received) == 8
    assert [a["number"] for a in found["attempts"]] == [6, 7, 8]


def test_the_list_answers_a_page_at_a_time() -> None:
    with Receiver() as receiver, Emulator() as emulator:
        ids = [emulator.client.fire("gigapay", "Payout.created", url=receiver.url_for("/"), secret="s")[0]["id"]
               for _ in range(5)]
        page = requests.get(emulator.url + "/_emulator/deliveries?limit=2&offset=1", timeout=10).json()
        newest = requests.get(emulator.url + "/_emulator/deliveries?limit=2&offset=1&order=newest", timeout=10).json()
        too_many = requests.get(emulator.url + "/_emulator/deliveries?limit=100000", timeout=10)
        no_order = requests.get(emulator.url + "/_emulator/deliveries?order=latest", timeout=10)
        every = emulator.client.deliveries()
    assert [d["id"] for d in page["deliveries"]] == ids[1:3] and page["total"] == 5
    assert [d["id"] for d in newest["deliveries"]] == [ids[3], ids[2]] and newest["order"] == "newest"
    assert too_many.status_code == 400
    assert no_order.status_code == 400 and "order must be oldest" in no_order.json()["message"]
    assert [d["id"] for d in every] == ids


def test_redelivering_a_pending_delivery_leaves_its_schedule_whole() -> None:
    """Paybook makes 6 attempts; a delivery held back (delay) and redelivered 6 times meanwhile
    still makes its own 6."""
    redeliveries = 6
    with Receiver(status=500) as receiver, Emulator(time_scale=0.001) as emulator:
        [held] = emulator.client.fire("paybook", "refresh", url=receiver.url_for("/"), secret="s", delay=1500)
        for _ in range(redeliveries):
            assert emulator.client.redeliver(held["id"])["status"] == "pending"
        done = emulator.client.wait_for_delivery(timeout=30, status="failed")
        assert len(receiver.received) == redeliveries + 6
    assert done["attempt_count"] == redeliveries + 6
