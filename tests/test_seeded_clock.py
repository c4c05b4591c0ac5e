"""Under `--seed` the records the providers' APIs make keep the seeded clock, while what a consumer
holds up against its own clock follows the real time: the times of what a firing makes (its events
and the objects they point to, notified and fetched alike), objects put in place, and signatures
(issue 17, 10g; docs/configuration.md, "Seeded runs")."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from emulator import Settings, create_app, notification
from emulator.engine.clock import SEEDED_EPOCH, Clock
from tests.conftest import Api, MakeApi
from tests.providers.clients import auth

# The real time the tests' clock is fixed at: 2026-01-01T00:00:00Z.
REAL = 1767225600
PROVIDERS = ["centry", "gigapay", "paybook", "shareactor", "syncfy"]
GIGAPAY = auth("gigapay", "GP", integration="integration-1")
NOWHERE = "http://127.0.0.1:9/hook"  # (the discard port: deliveries fail, which is not what is tested)


def days(value: Any) -> Iterator[str]:
    """The UTC day (YYYY-MM-DD) of every time-looking value in a JSON document: ISO texts, Unix
    seconds and milliseconds, and Syncfy's/ShareActor's `$date` wrappers."""
    if isinstance(value, dict):
        for item in value.values():
            yield from days(item)
    elif isinstance(value, list):
        for item in value:
            yield from days(item)
    elif isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}", value):
        yield value[:10]
    elif isinstance(value, int) and not isinstance(value, bool) and 10**9 <= value < 10**13:
        seconds = value / 1000 if value >= 10**12 else value
        yield datetime.fromtimestamp(seconds, UTC).date().isoformat()


@pytest.fixture
async def seeded(aiohttp_client: Any) -> Api:
    app = create_app(Settings(seed=5, time_scale=1e-6), clock=Clock(SEEDED_EPOCH, real=lambda: REAL))
    return Api(await aiohttp_client(app), app)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_what_every_seeded_firing_makes_carries_the_real_time(seeded: Api, provider: str) -> None:
    """Every event of the provider, fired under a seed: the notifications and the objects they
    point to have times of the real day, none of the seeded clock's."""
    providers = (await seeded.get("/_emulator/providers")).json["providers"]
    [names] = [p["events"] for p in providers if p["name"] == provider]
    seen: set[str] = set()
    for name in names:
        fired = await seeded.post("/_emulator/events", json={"provider": provider, "event": name, "tenant": "T",
                                                             "url": NOWHERE})
        assert fired.status == 202, fired.json
        seen |= {day for delivery in fired.json["deliveries"] for day in days(json.loads(delivery["body"]))}
    seen |= set(days((await seeded.get("/_emulator/state", params={"provider": provider})).json[provider]["objects"]))
    assert "2024-01-02" not in seen  # (the seeded clock's day)
    assert "2026-01-01" in seen


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_notification_made_without_a_server_follows_its_timestamp(seeded: Api, provider: str) -> None:
    providers = (await seeded.get("/_emulator/providers")).json["providers"]
    [names] = [p["events"] for p in providers if p["name"] == provider]
    made = [notification(provider, name, seed=5, timestamp=REAL) for name in names]
    assert made == [notification(provider, name, seed=5, timestamp=REAL) for name in names]  # (byte for byte)
    assert "2024-01-02" not in {day for one in made for day in days(one.json)}


async def test_a_seeded_firings_object_is_fetched_with_the_notified_real_times(seeded: Api) -> None:
    fired = await seeded.post("/_emulator/events", json={"provider": "gigapay", "event": "Payout.created",
                                                         "tenant": "GP", "url": NOWHERE})
    assert fired.status == 202, fired.json
    [delivery] = fired.json["deliveries"]
    notified = json.loads(delivery["body"])
    fetched = await seeded.get(f"/v2/payouts/{notified['id']}/", headers=GIGAPAY)
    assert fetched.status == 200 and fetched.json == notified
    assert notified["created_at"].startswith("2026-01-01T00:00:00")


async def test_the_webhooks_a_seeded_api_makes_keep_the_seeded_clock(seeded: Api) -> None:
    made = await seeded.post("/webhooks", headers=auth("shareactor", "SA"),
                             json={"endpoint": "https://example.com/h", "event_type": "order.created"})
    assert made.status == 200
    assert 1704164645678 <= made.json["created"]["$date"] < 1704164645678 + 1000  # 2024-01-02T03:04:05.678Z


async def test_an_object_put_in_place_under_a_seed_carries_the_real_time(seeded: Api) -> None:
    put = await seeded.put("/_emulator/providers/gigapay/objects/payout",
                           json={"tenant": "GP", "scope": "integration-1", "object": {"amount": "1.00"}})
    assert put.status == 200
    assert put.json["object"]["created_at"].startswith("2026-01-01T00:00:00")


def test_advancing_the_clock_moves_the_times_it_makes_but_never_the_signatures() -> None:
    clock = Clock(SEEDED_EPOCH, real=lambda: REAL)
    clock.advance(7200)
    assert clock.wall() == datetime.fromtimestamp(REAL + 7200, UTC)
    assert clock.now() == SEEDED_EPOCH.replace(hour=5)
    assert clock.signing_time() == REAL


async def test_the_delivery_log_of_a_seeded_firing_has_the_times_of_what_was_sent(seeded: Api) -> None:
    fired = await seeded.post("/_emulator/events", json={"provider": "gigapay", "event": "Payout.created",
                                                         "tenant": "GP", "url": NOWHERE, "wait": True})
    [delivery] = fired.json["deliveries"]
    times = [delivery["created"], *(attempt["at"] for attempt in delivery["attempts"])]
    assert times and all(t.startswith("2026-01-01T00:00:00") for t in times), times
    signed = delivery["attempts"][0]["request_headers"]["Gigapay-Signature"]
    assert signed.startswith(f"t={REAL},")


async def test_a_token_issued_under_a_seed_expires_on_the_real_clock(seeded: Api) -> None:
    issued = await seeded.post("/oauth/token", json={"grant_type": "client_credentials", "client_id": "app",
                                                     "client_secret": "s"})
    assert issued.status == 200 and issued.json["created_at"] == REAL
    snapshot = (await seeded.get("/_emulator/state/snapshot")).json
    [kept] = snapshot["$emulator"]["tokens"]["centry"].values()
    assert kept["expires"].startswith("2026-01-01T02:00:00")  # (REAL + expires_in, not the seeded clock's)


async def test_a_full_reset_starts_a_seeded_emulator_again_and_keeps_the_signing_keys(seeded: Api) -> None:
    async def first_answer() -> Any:
        made = await seeded.post("/webhooks", headers=auth("shareactor", "SA"),
                                 json={"endpoint": "https://example.com/h", "event_type": "order.created"})
        return made.json

    before = await first_answer()
    chosen = {"kty": "oct", "kid": "mine", "k": "a2V5LW9mLXRoaXJ0eS10d28tYnl0ZXMtZm9yLXRlc3Rz"}
    assert (await seeded.put("/_emulator/providers/syncfy/jwk", json=chosen)).status == 200
    seeded.state.clock.advance(3600)
    assert (await seeded.post("/_emulator/reset")).status == 200
    assert await first_answer() == before
    assert (await seeded.get("/_emulator/providers/syncfy/jwk")).json["kid"] == "mine"


async def test_a_seeded_default_signing_key_does_not_depend_on_what_was_made_before(
        make_api: MakeApi) -> None:
    quiet, busy = await make_api(seed=5), await make_api(seed=5)
    await busy.post("/webhooks", headers=auth("shareactor", "SA"),
                    json={"endpoint": "https://example.com/h", "event_type": "order.created"})
    keys = [(await api.get("/_emulator/providers/syncfy/jwk")).json for api in (quiet, busy)]
    assert keys[0] == keys[1]


async def test_a_full_reset_numbers_fault_rules_from_f1_again(seeded: Api) -> None:
    rule = {"provider": "centry", "status": 503}
    assert (await seeded.post("/_emulator/faults", json=rule)).json["id"] == "f1"
    await seeded.post("/_emulator/reset")
    assert (await seeded.post("/_emulator/faults", json=rule)).json["id"] == "f1"


async def test_loading_a_state_starts_a_seeded_emulator_again_and_a_refused_one_never_repeats_an_id(
        seeded: Api) -> None:
    doc = {"shareactor": {"SA": [{"endpoint": "https://example.com/kept", "event_type": "order.created"}]}}
    sa = auth("shareactor", "SA")
    body = {"endpoint": "https://example.com/h", "event_type": "order.created"}

    async def load_then_create() -> Any:
        assert (await seeded.put("/_emulator/state", json=doc)).status == 200
        return (await seeded.post("/webhooks", headers=sa, json=body)).json

    first = await load_then_create()
    await seeded.post("/webhooks", headers=sa, json=body)
    assert await load_then_create() == first
    refused = await seeded.put("/_emulator/state", json={"shareactor": {"SA": [{"endpoint": 1}]}}, validate=False)
    assert refused.status == 400
    made = (await seeded.post("/webhooks", headers=sa, json=body)).json
    listed = (await seeded.get("/webhooks", headers=sa)).json
    assert len({w["_id"]["$oid"] for w in listed}) == len(listed) == 3 and made["_id"] != first["_id"]


async def test_a_refused_state_document_changes_nothing_of_a_seeded_emulator(seeded: Api) -> None:
    """Not the fault rules' numbering, nor the clock, nor what a later reset starts from."""
    sa, body = auth("shareactor", "SA"), {"endpoint": "https://example.com/h", "event_type": "order.created"}
    at_start = (await seeded.post("/webhooks", headers=sa, json=body)).json
    assert (await seeded.post("/_emulator/faults", json={"provider": "centry", "status": 503})).json["id"] == "f1"
    before = (await seeded.post("/webhooks", headers=sa, json=body)).json["created"]["$date"]
    assert (await seeded.put("/_emulator/state", json={"gigapay": 5}, validate=False)).status == 400
    assert (await seeded.post("/_emulator/faults", json={"provider": "centry", "status": 500})).json["id"] == "f2"
    assert (await seeded.post("/webhooks", headers=sa, json=body)).json["created"]["$date"] > before
    await seeded.post("/_emulator/reset")
    assert (await seeded.post("/webhooks", headers=sa, json=body)).json == at_start


async def test_each_provider_lists_the_signature_modes_a_firing_may_ask_for(seeded: Api) -> None:
    providers = {p["name"]: p["signature_modes"] for p in (await seeded.get("/_emulator/providers")).json["providers"]}
    assert providers["centry"] == providers["paybook"] == ["valid"]
    assert providers["shareactor"] == ["valid", "wrong_secret", "tampered_body", "missing"]
    assert providers["gigapay"] == ["valid", "wrong_secret", "tampered_body", "missing", "stale_timestamp"]
