"""Everything an emulator keeps per request is bounded: idempotency replays and issued tokens keep
at most MAX_KEPT entries (the expired go first, then the oldest), like the journal and the log."""

from __future__ import annotations

import pytest

from emulator import store
from tests.conftest import MakeApi

GIGAPAY = {"Authorization": "Token t", "Integration-ID": "i"}
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
    api = await make_api(strict=True)
    tokens = [(await api.post("/oauth/token", json={"grant_type": "client_credentials", "client_id": f"c{i}"})
               ).json["access_token"] for i in range(4)]
    statuses = [(await api.get("/conexion/v1/webhooks.json", headers={"Authorization": f"Bearer {t}"})).status
                for t in tokens]
    assert statuses == [401, 401, 200, 200]
