"""Durable state, round two: a call whose changes cannot be written leaves memory as it was, and
start-up refuses a corrupted file in one line (or skips its bad rows when told to)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import requests

from emulator import Emulator
from emulator.receiver import Receiver

BODY = {"url": "https://x.se/", "events": ["Payout.created"]}


def gigapay(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}", "Integration-ID": "i"}


def listed(emulator: Emulator, token: str) -> list[str]:
    answer = requests.get(emulator.url + "/v2/webhooks/", headers=gigapay(token), timeout=10)
    return [w["url"] for w in answer.json()["results"]]


def create(emulator: Emulator, token: str, url: str) -> int:
    return requests.post(emulator.url + "/v2/webhooks/", json={**BODY, "url": url}, headers=gigapay(token),
                         timeout=10).status_code


def test_a_call_whose_commit_fails_changes_nothing_and_the_next_keeps_its_tenant(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk: the failed creates are not listed and get no notification; once the disk has
    room again, a tenant first seen in a failed call is created (and kept across a restart)."""
    with Receiver() as receiver, Emulator(data_dir=tmp_path) as emulator:
        assert create(emulator, "T1", receiver.url_for("/kept")) == 201
        store = emulator.state.store

        def full(*args: Any) -> None:
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(store, "_write", full)
        assert create(emulator, "T1", receiver.url_for("/lost")) == 500
        assert create(emulator, "T2", receiver.url_for("/lost-too")) == 500
        assert listed(emulator, "T1") == [receiver.url_for("/kept")]
        assert listed(emulator, "T2") == []
        monkeypatch.undo()
        delivered = emulator.client.fire("gigapay", "Payout.created", wait=True)
        assert [d["url"] for d in delivered] == [receiver.url_for("/kept")]
        assert create(emulator, "T2", receiver.url_for("/second-try")) == 201
        kept, second = receiver.url_for("/kept"), receiver.url_for("/second-try")
    with Emulator(data_dir=tmp_path) as emulator:
        assert listed(emulator, "T1") == [kept]
        assert listed(emulator, "T2") == [second]


def test_a_reset_that_cannot_be_written_forgets_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Emulator(data_dir=tmp_path) as emulator:
        assert create(emulator, "T1", "https://x.se/kept") == 201

        def full(*args: Any) -> None:
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(emulator.state.store, "_write", full)
        assert requests.post(emulator.url + "/_emulator/reset", timeout=10).status_code == 500
        monkeypatch.undo()
        assert listed(emulator, "T1") == ["https://x.se/kept"]
