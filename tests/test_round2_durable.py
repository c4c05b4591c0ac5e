"""Durable state, round two: a call whose changes cannot be written leaves memory as it was, and
start-up refuses a corrupted file in one line (or skips its bad rows when told to)."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
from contextlib import closing
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


def corrupted(tmp_path: Path, sql: str, *params: Any) -> Path:
    """A data dir with two webhooks of T1, whose file `sql` then corrupts."""
    with Emulator(data_dir=tmp_path) as emulator:
        assert create(emulator, "T1", "https://x.se/first") == 201
        assert create(emulator, "T1", "https://x.se/second") == 201
        emulator.client.fire("gigapay", "Payout.created", url="http://127.0.0.1:9/", secret="s", delay=3600)
    with closing(sqlite3.connect(tmp_path / "emulator.sqlite3")) as db, db:
        db.execute(sql, params)
    return tmp_path


CORRUPTIONS = {
    "bad-json": ("UPDATE records SET record = '{not json' WHERE rowid = 1",),
    "not-utf8": ("UPDATE records SET record = CAST(? AS TEXT) WHERE rowid = 1", b'{"id": "\xff\xfe"}'),
    "missing-key": ("UPDATE records SET record = json_remove(record, '$.created') WHERE rowid = 1",),
    "bad-delivery": ("UPDATE deliveries SET delivery = '[]'",),
    "naive-created": ("UPDATE records SET record = json_set(record, '$.created', '2024-01-01T00:00:00') "
                      "WHERE rowid = 1",),
    "data-not-object": ("UPDATE records SET record = json_set(record, '$.data', 'x') WHERE rowid = 1",),
    "naive-token": ("INSERT INTO tokens VALUES ('centry', 'tok', json_object('owner', 'a:b', 'expires', "
                    "'2030-01-01T00:00:00', 'refresh', 'r', 'scope', 's'))",),
    "unknown-provider-tenant": ("UPDATE tenants SET provider = 'nosuch'",),
    "unknown-provider-record": ("UPDATE records SET provider = 'nosuch' WHERE rowid = 1",),
    "delivery-status": ("UPDATE deliveries SET delivery = json_set(delivery, '$.status', 'weird')",),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_a_corrupted_row_stops_start_up_in_one_line(tmp_path: Path, corruption: str) -> None:
    data = corrupted(tmp_path, *CORRUPTIONS[corruption])
    done = subprocess.run([sys.executable, "-m", "emulator", "serve", "--port", "0", "--data-dir", str(data)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    [line] = [said for said in done.stderr.splitlines() if " INFO " not in said]  # (the log's info lines aside)
    assert str(data / "emulator.sqlite3") in line and " row " in line and "--skip-corrupt-rows" in line


@pytest.mark.parametrize("corruption", ["bad-json", "data-not-object", "naive-created", "unknown-provider-record"])
def test_corrupted_rows_can_be_left_out(tmp_path: Path, corruption: str) -> None:
    data = corrupted(tmp_path, *CORRUPTIONS[corruption])
    with Emulator(data_dir=data, skip_corrupt_rows=True) as emulator:
        assert listed(emulator, "T1") == ["https://x.se/second"]
        assert len(emulator.client.deliveries()) == 1
        assert requests.get(emulator.url + "/_emulator/state/snapshot", timeout=10).status_code == 200


@pytest.mark.parametrize(("name", "text", "option"), [
    ("state.yaml", "gigapay:\n  null: []\n", "--state"),
    ("faults.yaml", "- {provider: [gigapay], status: 500}\n", "--faults"),
    ("faults.json", '[{"provider": {"a": 1}, "status": 500}]', "--faults"),
    ("faults2.yaml", "- {provider: gigapay, status: 500, latency: 1.0e+308}\n", "--faults"),
    ("faults3.yaml", "- {status: 500, 5: x}\n", "--faults"),
    ("state2.yaml", "paybook:\n  2024-01-01: []\n", "--state"),
])
def test_a_bad_state_or_faults_file_stops_start_up_in_one_line(tmp_path: Path, name: str, text: str,
                                                                 option: str) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "emulator", "serve", "--port", "0", option, str(tmp_path / name)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert name in line


def test_start_up_says_what_it_read_back(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = corrupted(tmp_path, "SELECT 1")
    caplog.set_level(logging.DEBUG, logger="emulator")
    with Emulator(data_dir=data):
        pass
    said = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "emulator"]
    assert (logging.INFO, f"reading {data / 'emulator.sqlite3'} back (a file of many deliveries takes seconds)") in said
    assert any(level == logging.DEBUG and m.startswith("read back 2 webhook(s) and 1 deliveries (1 pending) in ")
               for level, m in said)
