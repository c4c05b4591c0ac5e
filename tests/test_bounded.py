"""Everything an emulator keeps per request is bounded: idempotency replays and issued tokens keep
at most MAX_KEPT entries (the expired go first, then the oldest), like the journal and the
delivery log, and deliveries dropped from the log stop retrying."""

from __future__ import annotations

import asyncio

import pytest

from emulator.delivery.records import DROPPED
from emulator.engine import store
from emulator.receiver import Receiver
from tests.conftest import MakeApi, free_port
from tests.providers.clients import auth

GIGAPAY = auth("gigapay", "t", integration="i")
BODY = {"url": "https://x.se/", "events": ["Payout.created"]}


async def test_idempotency_replays_keep_only_the_most_recent_keys(make_api: MakeApi,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "MAX_KEPT", 3)
    api = await make_api()
    first = {}
    for key in ("k1", "k2", "k3", "k4", "k5"):
        first[key] = (await api.post("/v2/webhooks/", json=BODY, headers={**GIGAPAY, "Idempotency-Key": key})).json
    assert len(api.state.store.replays) == 3
    again = {key: (await api.post("/v2/webhooks/", json=BODY, headers={**GIGAPAY, "Idempotency-Key": key})).json
             for key in ("k5", "k4", "k1")}
    assert again["k5"] == first["k5"] and again["k4"] == first["k4"]  # still replayed
    assert again["k1"]["id"] != first["k1"]["id"]  # forgotten: a new webhook


async def test_issued_tokens_keep_only_the_most_recent(make_api: MakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "MAX_KEPT", 2)
    api = await make_api(strict=True, credentials={"centry": [f"c{i}:" for i in range(4)]})
    tokens = [(await api.post("/oauth/token", json={"grant_type": "client_credentials", "client_id": f"c{i}"})
               ).json["access_token"] for i in range(4)]
    statuses = [(await api.get("/conexion/v1/webhooks.json", headers={"Authorization": f"Bearer {t}"})).status
                for t in tokens]
    assert statuses == [401, 401, 200, 200]


async def test_deliveries_dropped_from_the_log_stop_retrying(make_api: MakeApi) -> None:
    """Pending deliveries stay within the log's size: one dropped while it waits for a retry
    fails at once, and one dropped before its first attempt gets that attempt and no retry."""
    api = await make_api(delivery_log_size=2, time_scale=1.0)  # retries a second or more away
    dead = f"http://127.0.0.1:{free_port()}/dead"
    dispatcher = api.state.dispatcher
    assert dispatcher is not None
    body = {"provider": "gigapay", "event": "Payout.created", "url": dead, "secret": "s"}
    [first] = (await api.post("/_emulator/events", json=body)).json["deliveries"]
    waiting = dispatcher.log.get(first["id"])
    assert waiting is not None
    async with asyncio.timeout(10):
        while waiting.next_attempt_at is None:  # its first attempt failed; a retry is scheduled
            await asyncio.sleep(0.005)
    fired = [(await api.post("/_emulator/events", json=body)).json["deliveries"][0]["id"] for _ in range(3)]
    async with asyncio.timeout(10):
        await waiting.done.wait()
    assert (waiting.status, waiting.error, len(waiting.attempts)) == ("failed", DROPPED, 1)
    async with asyncio.timeout(10):
        while dispatcher.pending > 2:  # the dropped ones finish; the two in the log keep retrying
            await asyncio.sleep(0.005)
    assert [d.id for d in dispatcher.log.find()] == fired[1:]
    assert (await api.get(f"/_emulator/deliveries/{first['id']}")).status == 404


async def test_an_emulator_asked_to_send_faster_than_it_can_sheds_the_oldest_unsent(make_api: MakeApi) -> None:
    """More than twice the log's size waiting for a first attempt: the oldest dropped ones are
    abandoned, so pending deliveries stay bounded under any load."""
    api = await make_api(delivery_log_size=2, time_scale=1e-6)
    events = ["Employee.created", "Employee.notified", "Employee.claimed", "Employee.verified", "Payout.created",
              "Payout.notified", "Payout.accepted", "Payrun.created", "Payrun.paid", "Registration.verified"]
    with Receiver() as receiver:
        answer = await api.post("/_emulator/events", json={"provider": "gigapay", "event": events,
                                                           "url": receiver.url_for("/g"), "secret": "s"})
        assert len(answer.json["deliveries"]) == 10  # one per event, all made before any is sent
        dispatcher = api.state.dispatcher
        assert dispatcher is not None and dispatcher.pending == 4
        async with asyncio.timeout(10):
            while dispatcher.pending:
                await asyncio.sleep(0.005)
        assert len(receiver.received) == 4
    assert len((await api.get("/_emulator/deliveries")).json["deliveries"]) == 2
