"""Durable state when the file cannot be written (a full disk): what a receiver saw stays as it
was, a firing that cannot be saved sends nothing, and a failed reset forgets nothing."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import requests

from emulator import Emulator
from emulator.engine.store import Changes
from emulator.receiver import Receiver

HEADERS = {"Authorization": "Token T1", "Integration-ID": "i"}


def full(*args: Any) -> None:
    raise sqlite3.OperationalError("database or disk is full")


def subscribe(emulator: Emulator, url: str) -> None:
    body = {"url": url, "events": ["Payout.created"]}
    assert requests.post(emulator.url + "/v2/webhooks/", json=body, headers=HEADERS, timeout=10).status_code == 201


def outcomes(emulator: Emulator) -> list[tuple[str, str | None]]:
    return [(d["status"], d["error"]) for d in emulator.client.deliveries()]


def test_an_attempt_whose_commit_fails_keeps_what_the_receiver_did(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    with Receiver() as receiver, Emulator(data_dir=tmp_path) as emulator:
        subscribe(emulator, receiver.url_for("/hook"))
        store = emulator.state.store
        write = store._write

        def full_once_sent(changes: Changes) -> None:  # the firing is saved, what its attempts did is not
            if any(delivery.attempts for delivery, _ in changes.deliveries.values()):
                full()
            write(changes)

        monkeypatch.setattr(store, "_write", full_once_sent)
        [delivery] = emulator.client.fire("gigapay", "Payout.created", wait=True)
        assert (delivery["status"], delivery["error"]) == ("delivered", None)
        assert len(receiver.received) == 1
        assert outcomes(emulator) == [("delivered", None)]
        assert emulator.client.redeliver(delivery["id"])["attempt_count"] == 2
        assert len(receiver.received) == 2
        monkeypatch.undo()
        subscribe(emulator, receiver.url_for("/next"))  # the next commit that succeeds writes it
    assert not [r for r in caplog.records if r.exc_info or "never retrieved" in r.getMessage()]
    assert any("cannot save what deliveries did now" in r.getMessage() for r in caplog.records)
    with Emulator(data_dir=tmp_path) as emulator:
        assert outcomes(emulator) == [("delivered", None)]


def test_a_firing_that_cannot_be_saved_sends_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Receiver() as receiver, Emulator(data_dir=tmp_path) as emulator:
        subscribe(emulator, receiver.url_for("/hook"))
        monkeypatch.setattr(emulator.state.store, "_write", full)
        fired = requests.post(emulator.url + "/_emulator/events", json={"provider": "gigapay",
                                                                          "event": "Payout.created"}, timeout=10)
        assert fired.status_code == 500
        assert emulator.client.deliveries() == []
        monkeypatch.undo()
        [delivery] = emulator.client.fire("gigapay", "Payout.created", wait=True)
        assert delivery["status"] == "delivered"
        assert len(receiver.received) == 1  # this firing's notification, and not the one that failed
    with Emulator(data_dir=tmp_path) as emulator:
        assert [d["id"] for d in emulator.client.deliveries()] == [delivery["id"]]


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/_emulator/reset", {}),
    ("POST", "/_emulator/reset", {"provider": "gigapay"}),
    ("PUT", "/_emulator/state", {"paybook": {"T9": [{"url": "https://x.se/", "events": ["refresh"]}]}}),
])
def test_a_reset_that_cannot_be_written_keeps_the_delivery_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str, path: str, body: dict[str, Any]) -> None:
    with Receiver() as receiver, Emulator(data_dir=tmp_path) as emulator:
        subscribe(emulator, receiver.url_for("/hook"))
        [delivery] = emulator.client.fire("gigapay", "Payout.created", wait=True)
        monkeypatch.setattr(emulator.state.store, "_write", full)
        assert requests.request(method, emulator.url + path, json=body, timeout=10).status_code == 500
        monkeypatch.undo()
        assert [d["id"] for d in emulator.client.deliveries()] == [delivery["id"]]
        assert "T9" not in str(emulator.client.state())
    with Emulator(data_dir=tmp_path) as emulator:
        assert [d["id"] for d in emulator.client.deliveries()] == [delivery["id"]]


def test_a_failed_commit_logs_no_traceback_from_a_delivery(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A retry's schedule saved while the disk is full: the receiver's failure is recorded as such."""
    caplog.set_level(logging.INFO)
    with Receiver(status=500) as receiver, Emulator(data_dir=tmp_path, time_scale=0.001) as emulator:
        subscribe(emulator, receiver.url_for("/hook"))
        store = emulator.state.store
        write = store._write

        def full_once_sent(changes: Changes) -> None:
            if any(delivery.attempts for delivery, _ in changes.deliveries.values()):
                full()
            write(changes)

        monkeypatch.setattr(store, "_write", full_once_sent)
        [delivery] = emulator.client.fire("gigapay", "Payout.created", wait=True, timeout=30)
        assert delivery["status"] == "failed" and delivery["error"].startswith("gave up after")
        assert {a["error"] for a in delivery["attempts"]} == {"HTTP 500 is not a success"}
    assert not [r for r in caplog.records if r.exc_info]
