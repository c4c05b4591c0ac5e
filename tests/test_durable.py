"""Durable state with --data-dir: real `python -m emulator serve` processes stopped (SIGTERM) or
killed (SIGKILL) and started again on the same folder keep every webhook and carry on every
unfinished delivery, sending none twice."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from emulator import Emulator, Settings
from emulator.engine.store import Store
from emulator.receiver import Receiver
from emulator.settings import SettingsError
from tests.conftest import free_port
from tests.providers.clients import auth

PAYBOOK = auth("paybook", "PB")
SYNCFY = auth("syncfy", "SY")
SHARE = auth("shareactor", "SA")
GIGAPAY = auth("gigapay", "GP", integration="integration-1")


class Server:
    """`python -m emulator serve` on a fixed port and data dir, started and stopped by the test."""

    def __init__(self, data_dir: Path, *options: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = [sys.executable, "-m", "emulator", "serve", "--port", str(self.port),
                     "--data-dir", str(data_dir), *options]
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> Server:
        self.process = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.stderr.read() if self.process.stderr else ""
            try:
                requests.get(f"{self.url}/_emulator/health", timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.05)
        raise TimeoutError("the emulator did not start")

    def stop(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)
        self.process.wait(timeout=30)
        if self.process.stderr:
            self.process.stderr.close()

    def get(self, path: str, headers: dict[str, str] | None = None) -> Any:
        return requests.get(self.url + path, headers=headers, timeout=10).json()

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        answer = requests.post(self.url + path, json=body, headers=headers, timeout=10)
        assert answer.status_code < 300, answer.text
        return answer.json() if answer.content else None


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    """Servers a test starts; any still running at the end is killed."""
    started: list[Server] = []
    yield started
    for server in started:
        if server.process is not None and server.process.poll() is None:
            server.process.kill()
            server.process.wait(timeout=30)


def answers(server: Server, centry_token: str) -> list[Any]:
    """What each provider's API answers about its webhooks (Paybook/Syncfy envelope ids left out)."""
    paybook = server.get("/v1/webhooks", PAYBOOK)["response"]
    syncfy = server.get("/v1/webhooks/subscriptions", SYNCFY)["response"]
    return [paybook, syncfy, server.get("/webhooks", SHARE), server.get("/v2/webhooks/", GIGAPAY),
            server.get("/conexion/v1/webhooks.json", {"Authorization": f"Bearer {centry_token}"}),
            server.get("/_emulator/providers/syncfy/jwk")]


@pytest.mark.slow  # (emulator subprocesses, killed and restarted)
def test_webhooks_survive_a_restart_and_a_kill_9(tmp_path: Path, servers: list[Server]) -> None:
    data = tmp_path / "data"
    first = Server(data).start()
    servers.append(first)
    first.post("/v1/webhooks", {"url": "https://a.mx/1", "events": ["refresh"], "headers": {"X-A": "1"}}, PAYBOOK)
    made = first.post("/v1/webhooks/subscriptions", {"url": "https://s.mx/1", "events": ["credentials.created"]},
                      SYNCFY)["response"]
    requests.put(f"{first.url}/v1/webhooks/subscriptions/{made['id_subscription']}", json={"description": "new"},
                 headers=SYNCFY, timeout=10)
    doomed = first.post("/webhooks", {"endpoint": "https://sa.io/1", "event_type": "order.created"}, SHARE)
    first.post("/webhooks", {"endpoint": "https://sa.io/2", "event_type": "order.updated"}, SHARE)
    requests.delete(f"{first.url}/webhooks/{doomed['_id']['$oid']}", headers=SHARE, timeout=10)
    first.post("/v2/webhooks/", {"url": "https://g.se/1", "events": ["Payout.created"], "secret_key": "s"},
               {**GIGAPAY, "Idempotency-Key": "k1"})
    token = first.post("/oauth/token", {"grant_type": "client_credentials", "client_id": "CE",
                                        "client_secret": "s"})["access_token"]
    first.post("/conexion/v1/webhooks.json", {"callback_url": "https://c.cl/1", "on_order_save": True},
               {"Authorization": f"Bearer {token}"})
    before, snapshot = answers(first, token), first.get("/_emulator/state/snapshot")
    first.stop(signal.SIGTERM)

    second = Server(data).start()
    servers.append(second)
    assert answers(second, token) == before
    assert second.get("/_emulator/state/snapshot") == snapshot
    replayed = second.post("/v2/webhooks/", {"url": "https://g.se/1", "events": ["Payout.created"]},
                           {**GIGAPAY, "Idempotency-Key": "k1"})
    assert replayed["id"] == before[3]["results"][0]["id"]
    late = second.post("/v1/webhooks", {"url": "https://a.mx/late", "events": ["refresh"]}, PAYBOOK)["response"]
    snapshot = second.get("/_emulator/state/snapshot")
    second.stop(signal.SIGKILL)  # right after the answer: what was acknowledged is on disk

    third = Server(data).start()
    servers.append(third)
    assert third.get("/_emulator/state/snapshot") == snapshot
    assert late["id_webhook"] in [w["id_webhook"] for w in third.get("/v1/webhooks", PAYBOOK)["response"]]


@pytest.mark.slow  # (emulator subprocesses, killed and restarted)
def test_unfinished_deliveries_resume_after_a_kill_9_and_none_is_sent_twice(tmp_path: Path,
                                                                             servers: list[Server]) -> None:
    data = tmp_path / "data"
    with Receiver() as receiver:
        # Time scale 3: Paybook's first retry comes 3 s after a failed attempt.
        first = Server(data, "--time-scale", "3").start()
        servers.append(first)
        first.post("/v1/webhooks", {"url": receiver.url_for("/done"), "events": ["credential_create"]}, PAYBOOK)
        first.post("/v1/webhooks", {"url": receiver.url_for("/later"), "events": ["refresh"]}, PAYBOOK)
        done = first.post("/_emulator/events", {"provider": "paybook", "event": "credential_create", "wait": True})
        assert [d["status"] for d in done["deliveries"]] == ["delivered"]
        receiver.respond_with(503)
        [pending] = first.post("/_emulator/events", {"provider": "paybook", "event": "refresh"})["deliveries"]
        receiver.wait_for(1, path="/later")
        while not first.get(f"/_emulator/deliveries/{pending['id']}")["attempts"]:
            time.sleep(0.01)
        first.stop(signal.SIGKILL)

        second = Server(data, "--time-scale", "3").start()
        servers.append(second)
        resumed = second.get(f"/_emulator/deliveries/{pending['id']}")
        assert resumed["status"] == "pending" and len(resumed["attempts"]) == 1
        receiver.wait_for(2, path="/later", timeout=30)
        deadline = time.monotonic() + 30
        while second.get(f"/_emulator/deliveries/{pending['id']}")["status"] == "pending":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        finished = second.get(f"/_emulator/deliveries/{pending['id']}")
        assert finished["status"] == "delivered"
        assert [a["status"] for a in finished["attempts"]] == [503, 200]
        first_at, second_at = (datetime.fromisoformat(a["at"]) for a in finished["attempts"])
        assert (second_at - first_at).total_seconds() >= 2.9  # on its schedule, not at once
        statuses = {d["id"]: d["status"] for d in second.get("/_emulator/deliveries")["deliveries"]}
        assert statuses == {done["deliveries"][0]["id"]: "delivered", pending["id"]: "delivered"}
        second.stop(signal.SIGTERM)
        assert [r.path for r in receiver.received].count("/done") == 1
        assert [r.path for r in receiver.received].count("/later") == 2


def test_a_preload_fills_a_new_data_dir_only(tmp_path: Path) -> None:
    state = tmp_path / "state.yaml"
    state.write_text("syncfy:\n  SY:\n    - {url: 'http://app:8000/syncfy', events: [credentials.created]}\n")
    settings = Settings(port=0, data_dir=tmp_path / "data", state=state)
    with Emulator(settings) as emulator:
        [made] = emulator.client.snapshot()["syncfy"]["SY"]
        requests.delete(f"{emulator.url}/v1/webhooks/subscriptions/{made['id_subscription']}", headers=SYNCFY,
                        timeout=10)
    with Emulator(settings) as emulator:
        assert requests.get(f"{emulator.url}/v1/webhooks/subscriptions", headers=SYNCFY,
                            timeout=10).json()["response"] == []


def test_without_a_data_dir_the_state_stays_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with Emulator() as emulator:
        emulator.client.create_webhook("syncfy", "SY", {"url": "http://app:8000/s", "events": ["credentials.created"]})
        assert type(emulator.state.store) is Store
    assert list(tmp_path.iterdir()) == []


def test_an_unusable_data_dir_stops_start_up(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = subprocess.run([sys.executable, "-m", "emulator", "serve", "--port", "0", "--data-dir", str(blocker)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"webhook-emulator: data dir {blocker}: cannot use it: ")


def test_counters_resets_and_replaced_state_are_kept(tmp_path: Path) -> None:
    settings = Settings(port=0, time_scale=0.0001, data_dir=tmp_path / "data")
    with Receiver() as receiver, Emulator(settings) as emulator:
        client = emulator.client
        client.create_webhook("centry", "CE", {"callback_url": "https://c.cl/1", "on_order_save": True})
        client.load_state({"syncfy": {"SY": [{"url": "https://s.mx/1", "events": ["credentials.created"]}]}})
        client.create_webhook("gigapay", "GP", {"url": "https://g.se/1", "events": ["Payout.created"]}, scope="I")
        client.reset("gigapay")
        hook = client.create_webhook("paybook", "PB", {"url": receiver.url_for("/fails"), "events": ["refresh"]})
        receiver.respond_with(*[500] * 6)
        [failed] = client.fire("paybook", "refresh", wait=True)
        assert failed["status"] == "failed"
        snapshot = client.snapshot()
    assert snapshot["paybook"]["PB"][0]["ct_failed"] == 6
    assert {"syncfy", "paybook"} <= set(snapshot) and not {"centry", "gigapay"} & set(snapshot)
    with Emulator(settings) as emulator:
        assert emulator.client.snapshot() == snapshot
        [delivery] = emulator.client.deliveries()
        assert delivery["status"] == "failed" and delivery["webhook_id"] == hook["id_webhook"]


def test_one_data_dir_serves_one_emulator_at_a_time(tmp_path: Path) -> None:
    settings = Settings(port=0, data_dir=tmp_path / "data")
    with Emulator(settings), pytest.raises(SettingsError) as caught:
        Emulator(settings).start()
    assert "(another emulator uses it)" in str(caught.value)


def test_deliveries_pushed_out_of_the_log_are_not_sent_again_after_a_restart(tmp_path: Path) -> None:
    """A log of 2: five pending deliveries, of which only the newest 2 are kept, and resumed."""
    settings = Settings(port=0, time_scale=1.0, delivery_log_size=2, data_dir=tmp_path / "data")
    closed = f"http://127.0.0.1:{free_port()}/gone"
    with Emulator(settings) as emulator:
        fired = [emulator.client.fire("gigapay", "Payout.created", url=closed, secret="s")[0]["id"] for _ in range(5)]
        assert [d["id"] for d in emulator.client.deliveries()] == fired[-2:]
    with closing(sqlite3.connect(tmp_path / "data" / "emulator.sqlite3")) as db:  # what a restart would resume
        assert sorted(i for (i,) in db.execute("SELECT id FROM deliveries")) == sorted(fired[-2:])
    with Emulator(settings) as emulator:
        assert [d["id"] for d in emulator.client.deliveries()] == fired[-2:]
        assert emulator.state.dispatcher is not None and emulator.state.dispatcher.pending == 2


def test_a_call_whose_changes_cannot_be_saved_answers_a_json_500_in_the_journal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When what a call changed cannot be written (the disk is full, the file is gone), the call
    fails as the provider fails (its own 500 body), and the journal records it."""
    body = {"url": "https://x.se/", "events": ["Payout.created"]}
    headers = {"Authorization": "Token T1", "Integration-ID": "i"}
    with Emulator(data_dir=tmp_path) as emulator:
        def full(*args: Any) -> None:
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(emulator.state.store, "commit", full)
        answer = requests.post(emulator.url + "/v2/webhooks/", json=body, headers=headers, timeout=10)
        control = requests.get(emulator.url + "/_emulator/health", timeout=10)
        monkeypatch.undo()
        [entry] = emulator.client.requests()
    assert answer.status_code == 500
    assert answer.json() == {"detail": "A server error occurred."}
    assert (entry["method"], entry["status"]) == ("POST", 500)
    assert control.status_code == 500 and control.json()["error"] == "internal"


def test_a_key_that_is_not_utf8_keeps_its_webhooks_across_a_restart(tmp_path: Path) -> None:
    """Header bytes that are not UTF-8 name a tenant like any other key; the store writes it (and
    what else the call changed) and reads it back the same."""
    headers = {"Authorization": "Token T\xff1", "Integration-ID": "i"}
    body = {"url": "https://x.se/", "events": ["Payout.created"]}
    with Emulator(data_dir=tmp_path) as emulator:
        created = requests.post(emulator.url + "/v2/webhooks/", json=body, headers=headers, timeout=10)
        assert created.status_code == 201
    with Emulator(data_dir=tmp_path) as emulator:
        listed = requests.get(emulator.url + "/v2/webhooks/", headers=headers, timeout=10)
    assert [w["id"] for w in listed.json()["results"]] == [created.json()["id"]]


def test_a_seeded_emulator_restarted_on_its_data_dir_never_makes_a_kept_id_again(tmp_path: Path) -> None:
    """The seeded ids go on from what the data dir holds: a webhook made after a restart is a new
    one beside the kept one, and the same data dir gives the same ids again."""
    settings = Settings(port=0, seed=7, data_dir=tmp_path / "data")
    sa = auth("shareactor", "SA")

    def create(emulator: Emulator, path: str) -> dict[str, Any]:
        answer = requests.post(f"{emulator.url}/webhooks", headers=sa, timeout=10,
                               json={"endpoint": f"https://example.com{path}", "event_type": "order.created"})
        assert answer.status_code == 200, answer.text
        return answer.json()

    with Emulator(settings) as emulator:
        first = create(emulator, "/a")
    shutil.copytree(tmp_path / "data", tmp_path / "copy")
    with Emulator(settings) as emulator:
        second = create(emulator, "/b")
        listed = requests.get(f"{emulator.url}/webhooks", headers=sa, timeout=10).json()
    assert second["_id"] != first["_id"]
    assert sorted(w["endpoint"] for w in listed) == ["https://example.com/a", "https://example.com/b"]
    with Emulator(Settings(port=0, seed=7, data_dir=tmp_path / "copy")) as emulator:
        assert create(emulator, "/b")["_id"] == second["_id"]
