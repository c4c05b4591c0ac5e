"""Notifications a consumer can follow (issue 18): for every provider and every event, a consumer
that receives the notification and then fetches each URL or id in it gets 200 with the object,
whose ids match the notification and which satisfies the schema built from the provider's docs;
after a delete event the object answers the provider's 404."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from emulator.engine.objects import get_path
from emulator.engine.provider import load_providers
from emulator.engine.render import fill
from emulator.receiver import Receiver
from tests.conftest import Api, MakeApi

ACME = Path(__file__).parent.parent / "examples" / "acme"
KEY = "consumer-key"
SCOPE = "integration-1"
PROVIDERS = load_providers([ACME])
# How each provider's API authenticates the consumer (the same key as its webhook API).
AUTH: dict[str, dict[str, str]] = {
    "gigapay": {"Authorization": f"Token {KEY}", "Integration-ID": SCOPE},
    "centry": {"Authorization": f"Bearer {KEY}"},
    "shareactor": {"X-Share-Api-Key": KEY},
    "paybook": {"Authorization": f"api_key api_key={KEY},id_user=u1"},
    "syncfy": {"Authorization": f"api_key api_key={KEY},id_user=u1"},
    "acme": {"Authorization": f"Bearer {KEY}"},
}
# Where the event's own payload sits in each provider's notification body.
PAYLOAD: dict[str, Callable[[Any], Any]] = {
    "gigapay": lambda body: body, "centry": lambda body: body, "paybook": lambda body: body,
    "shareactor": lambda body: body["object"], "syncfy": lambda body: body["events"][0]["payload"],
    "acme": lambda body: body["data"],
}
CASES = [(name, event) for name, provider in PROVIDERS.items() if provider.events
         for event in provider.events.catalogue]


async def _notified(api: Api, receiver: Receiver, provider: str, event: str, **extra: Any) -> Any:
    url = receiver.url_for("/hook")
    scope = {"scope": SCOPE} if provider == "gigapay" and not event.startswith("Registration") else {}
    fired = await api.post("/_emulator/events", json={"provider": provider, "event": event, "tenant": KEY, "url": url,
                                                      "wait": True, **scope, **extra})
    assert fired.status == 200 and fired.json["deliveries"][0]["status"] == "delivered", fired.json
    return receiver.received[-1].json


def _unwrapped(provider: str, body: Any) -> Any:
    """The object of an answer: inside Paybook's and Syncfy's envelope, as a one-element list."""
    if PROVIDERS[provider].envelope is None:
        return body
    [found] = body["response"]
    return found


def _urls(value: Any) -> list[str]:
    """Every API path a notification names (Paybook's and Syncfy's `endpoints`)."""
    if isinstance(value, str):
        return [value] if re.match(r"^/v\d/", value) else []
    if isinstance(value, dict):
        return [u for v in value.values() for u in _urls(v)]
    if isinstance(value, list):
        return [u for v in value for u in _urls(v)]
    return []


async def _follow_ids(api: Api, provider_name: str, event: str, payload: Any) -> int:
    """GET the object of each of the event's effects by the id the notification gives; the number fetched."""
    provider = PROVIDERS[provider_name]
    assert provider.objects is not None
    fetched = 0
    for effect in provider.objects.events.get(event, ()):
        kind = provider.objects.kinds[effect.kind]
        one = next((r for r in kind.routes if r.answer == "one"), None)
        if one is None or effect.ensure is not None:
            continue
        object_id = fill(effect.id, {"payload": payload}) if effect.id is not None else get_path(payload, kind.id)
        assert isinstance(object_id, str), (event, effect)
        answer = await api.get(one.path.replace("{id}", object_id), headers=AUTH[provider_name])
        fetched += 1
        if effect.delete and kind.deleted_answer == "not_found":
            assert answer.status == 404, (event, answer.json)
            continue
        assert answer.status == 200, (event, answer.json)
        found = _unwrapped(provider_name, answer.json)
        assert get_path(found, kind.id) == object_id
        if effect.exact:  # the notification carries the object: the same object, field for field
            assert found == payload, event
    return fetched


async def _follow_urls(api: Api, provider: str, event: str, payload: Any) -> int:
    """GET every URL the notification names: 200, each object of the answer about the notification's
    credential, in the documented shape (the Api checks each answer's schema); a first page holds
    something, except the documents of a failed job."""
    fetched = 0
    for url in _urls(payload.get("endpoints")):
        response = await api.client.session.get(api.client.make_url(url), headers=AUTH[provider])
        assert response.status == 200, url
        fetched += 1
        if response.content_type == "application/zip":
            archive = zipfile.ZipFile(io.BytesIO(await response.read()))
            assert all(archive.read(n) for n in archive.namelist())
            continue
        answer = await api.get(url, headers=AUTH[provider])
        objects = answer.json["response"]
        first_page = "skip=0" in url or "skip" not in url
        assert bool(objects) == (first_page and not event.endswith(".fail")), url
        for found in objects:
            if "id_credential" in payload and "id_credential" in found:
                assert found["id_credential"] == payload["id_credential"], url
    return fetched


@pytest.mark.parametrize(("provider", "event"), CASES, ids=[f"{p}:{e}" for p, e in CASES])
async def test_a_consumer_fetches_what_each_notification_names(
        make_api: MakeApi, receiver: Receiver, provider: str, event: str) -> None:
    api = await make_api(fixtures=[ACME], time_scale=1e-6, seed=7)
    payload = PAYLOAD[provider](await _notified(api, receiver, provider, event))
    fetched = await _follow_ids(api, provider, event, payload) + await _follow_urls(api, provider, event, payload)
    assert fetched >= 1
