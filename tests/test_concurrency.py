"""Many requests at once: concurrent creates all land, and concurrent updates, deletes, resets and
firings never corrupt the store, the request journal or the delivery log, nor log an error."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import Counter
from typing import Any

import pytest

from emulator.receiver import Receiver
from tests.conftest import Api, MakeApi

# provider -> (create path, item path, auth headers for a tenant, a create body for a receiver URL, list path)
PROVIDERS: dict[str, dict[str, Any]] = {
    "gigapay": {"create": "/v2/webhooks/", "item": "/v2/webhooks/{id}/", "list": "/v2/webhooks/?page_size=1000",
                "auth": lambda t: {"Authorization": f"Token {t}", "Integration-ID": "i"},
                "body": lambda url: {"url": url, "events": ["Payout.created"]}, "event": "Payout.created",
                "update": ("PATCH", {"url": "https://x.se/changed"})},
    "paybook": {"create": "/v1/webhooks", "item": "/v1/webhooks/{id}", "list": "/v1/webhooks",
                "auth": lambda t: {"Authorization": f"api_key api_key={t}"},
                "body": lambda url: {"url": url, "events": ["refresh"]}, "event": "refresh", "update": None},
    "syncfy": {"create": "/v1/webhooks/subscriptions", "item": "/v1/webhooks/subscriptions/{id}",
               "list": "/v1/webhooks/subscriptions", "auth": lambda t: {"Authorization": f"api_key api_key={t}"},
               "body": lambda url: {"url": url, "events": ["credentials.created"]}, "event": "credentials.created",
               "update": ("PUT", {"description": "changed"})},
    "shareactor": {"create": "/webhooks", "item": "/webhooks/{id}", "list": "/webhooks?size=1000",
                   "auth": lambda t: {"X-Share-Api-Key": t},
                   "body": lambda url: {"endpoint": url, "event_type": "order.created"}, "event": "order.created",
                   "update": ("PUT", {"endpoint": "https://x.io/changed"})},
    "centry": {"create": "/conexion/v1/webhooks.json", "item": "/conexion/v1/webhooks/{id}.json",
               "list": "/conexion/v1/webhooks.json", "auth": lambda t: {"Authorization": f"Bearer {t}"},
               "body": lambda url: {"callback_url": url, "on_order_save": True}, "event": "on_order_save",
               "update": ("PATCH", {"on_product_save": True})},
}
TENANTS = ["t1", "t2", "t3", "t4"]


def object_id(provider: str, body: Any) -> str:
    """The id of a created or listed object, wherever the provider puts it."""
    body = body.get("response", body) if isinstance(body, dict) and "rid" in body else body
    for key in ("id", "id_webhook", "id_subscription", "_id"):
        if key in body:
            value = body[key]
            return value["$oid"] if isinstance(value, dict) else value
    raise AssertionError(f"{provider}: no id in {body}")


def listed(provider: str, body: Any) -> list[Any]:
    body = body.get("response", body) if isinstance(body, dict) and "rid" in body else body
    return body["results"] if isinstance(body, dict) else body


async def create(api: Api, provider: str, tenant: str, url: str) -> tuple[str, str, str]:
    spec = PROVIDERS[provider]
    answer = await api.post(spec["create"], json=spec["body"](url), headers=spec["auth"](tenant))
    assert answer.status in (200, 201), answer.json
    return provider, tenant, object_id(provider, answer.json)


def no_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_500_concurrent_creates_give_500_distinct_listable_objects(
        make_api: MakeApi, caplog: pytest.LogCaptureFixture) -> None:
    api = await make_api(journal_size=1000)
    jobs = [(provider, TENANTS[i % len(TENANTS)]) for i, provider in
            enumerate(sorted(PROVIDERS) * 100)]
    made = await asyncio.gather(*(create(api, p, t, f"https://example.com/{i}") for i, (p, t) in enumerate(jobs)))
    assert len(made) == 500 and len(set(made)) == 500
    for (provider, tenant), expected in Counter((p, t) for p, t, _ in made).items():
        spec = PROVIDERS[provider]
        answer = await api.get(spec["list"], headers=spec["auth"](tenant))
        ids = [object_id(provider, item) for item in listed(provider, answer.json)]
        assert len(ids) == expected == len(set(ids))
        assert set(ids) == {i for p, t, i in made if (p, t) == (provider, tenant)}
    assert len((await api.get("/_emulator/requests")).json["requests"]) == 500 + len(set(jobs))
    assert no_errors(caplog) == []


async def test_concurrent_updates_deletes_resets_and_firings_leave_everything_consistent(
        make_api: MakeApi, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    api = await make_api(time_scale=1e-4, journal_size=5000, delivery_log_size=5000)
    rnd = random.Random(7)
    with Receiver() as receiver:
        made = await asyncio.gather(*(create(api, p, t, receiver.url_for(f"/{p}"))
                                      for p in PROVIDERS for t in TENANTS for _ in range(5)))

        async def update(provider: str, tenant: str, record_id: str) -> int:
            spec = PROVIDERS[provider]
            if spec["update"] is None:
                return 0
            method, body = spec["update"]
            answer = await api.request(method, spec["item"].format(id=record_id), json=body,
                                       headers=spec["auth"](tenant))
            assert answer.status in (200, 404), answer.json  # 404: deleted or reset meanwhile
            return answer.status

        async def delete(provider: str, tenant: str, record_id: str) -> int:
            spec = PROVIDERS[provider]
            answer = await api.delete(spec["item"].format(id=record_id), headers=spec["auth"](tenant))
            assert answer.status in (200, 204, 404), answer.json
            return answer.status

        async def fire(provider: str) -> int:
            answer = await api.post("/_emulator/events", json={"provider": provider,
                                                               "event": PROVIDERS[provider]["event"]})
            assert answer.status == 202, answer.json
            return answer.status

        async def reset(provider: str) -> int:
            answer = await api.post("/_emulator/reset", json={"provider": provider})
            assert answer.status == 200
            return answer.status

        async def read() -> int:
            for path in ("/_emulator/state", "/_emulator/requests", "/_emulator/deliveries"):
                answer = await api.get(path)
                assert answer.status == 200
                json.loads(answer.raw)
            return 200

        jobs: list[Any] = []
        for provider, tenant, record_id in made:
            jobs += [update(provider, tenant, record_id), update(provider, tenant, record_id), read()]
            if rnd.random() < 0.3:
                jobs.append(delete(provider, tenant, record_id))
        jobs += [fire(p) for p in PROVIDERS for _ in range(6)]
        jobs += [reset(rnd.choice(sorted(PROVIDERS))) for _ in range(3)]
        rnd.shuffle(jobs)
        await asyncio.gather(*jobs)

        # Let the deliveries already fired settle (they may have been reset away: then they are gone).
        async with asyncio.timeout(30):
            while any(d["status"] == "pending" for d in (await api.get("/_emulator/deliveries")).json["deliveries"]):
                await asyncio.sleep(0.02)

    state = (await api.get("/_emulator/state")).json
    for provider, spec in PROVIDERS.items():
        for tenant, kept in state[provider]["tenants"].items():
            answer = await api.get(spec["list"], headers=spec["auth"](tenant))
            listed_ids = sorted(object_id(provider, item) for item in listed(provider, answer.json))
            assert listed_ids == sorted(object_id(provider, r) for r in kept["records"])
            assert len(set(listed_ids)) == len(listed_ids)
    deliveries = (await api.get("/_emulator/deliveries")).json["deliveries"]
    assert {d["status"] for d in deliveries} <= {"delivered", "failed"}
    assert len({d["id"] for d in deliveries}) == len(deliveries)
    journal = (await api.get("/_emulator/requests")).json["requests"]
    assert all(entry["status"] < 500 for entry in journal)
    assert no_errors(caplog) == []
