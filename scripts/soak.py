#!/usr/bin/env python3
"""Soak test: drive an emulator on 127.0.0.1 with API calls of every provider and with deliveries
to a local receiver for a bounded time, sampling the process's memory (RSS) and the size of every
log, queue and store the emulator keeps. Prints a table; exits 1 if memory grew by more than the
margin after the warm-up, or if anything outgrew its bound.

    python scripts/soak.py --seconds 300            # the long form
    python scripts/soak.py --seconds 5 --margin-mb 40   # the short form the test suite runs

Only loopback addresses are used: the emulator, the receiver and every webhook URL are 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from emulator import Settings, create_app
from emulator.engine.store import MAX_KEPT
from emulator.state import STATE, EmulatorState

TENANTS = ["alpha", "beta", "gamma"]
KEEP_PER_TENANT = 3  # each driver deletes its oldest webhooks beyond this: the store stays flat


@dataclass
class Provider:
    """How the driver talks to one provider."""

    create: str
    item: str
    list: str
    auth: Callable[[str], dict[str, str]]
    body: Callable[[str], dict[str, Any]]
    event: str
    id_of: Callable[[Any], str]
    update: tuple[str, dict[str, Any]] | None = None


def _enveloped(key: str) -> Callable[[Any], str]:
    return lambda body: str(body["response"][key])


PROVIDERS = {
    "gigapay": Provider("/v2/webhooks/", "/v2/webhooks/{id}/", "/v2/webhooks/",
                        lambda t: {"Authorization": f"Token {t}", "Integration-ID": "soak"},
                        lambda url: {"url": url, "events": ["Payout.created"]}, "Payout.created",
                        lambda body: str(body["id"]), ("PATCH", {"metadata": {"soak": True}})),
    "paybook": Provider("/v1/webhooks", "/v1/webhooks/{id}", "/v1/webhooks",
                        lambda t: {"Authorization": f"api_key api_key={t}"},
                        lambda url: {"url": url, "events": ["refresh"]}, "refresh", _enveloped("id_webhook")),
    "syncfy": Provider("/v1/webhooks/subscriptions", "/v1/webhooks/subscriptions/{id}", "/v1/webhooks/subscriptions",
                       lambda t: {"Authorization": f"api_key api_key={t}"},
                       lambda url: {"url": url, "events": ["credentials.created"]}, "credentials.created",
                       _enveloped("id_subscription"), ("PUT", {"description": "soak"})),
    "shareactor": Provider("/webhooks", "/webhooks/{id}", "/webhooks", lambda t: {"X-Share-Api-Key": t},
                           lambda url: {"endpoint": url, "event_type": "order.created"}, "order.created",
                           lambda body: str(body["_id"]["$oid"]), ("PUT", {"endpoint": "http://127.0.0.1:9/x"})),
    "centry": Provider("/conexion/v1/webhooks.json", "/conexion/v1/webhooks/{id}.json", "/conexion/v1/webhooks.json",
                       lambda t: {"Authorization": f"Bearer {t}"},
                       lambda url: {"callback_url": url, "on_order_save": True}, "on_order_save",
                       lambda body: str(body["_id"]), ("PATCH", {"on_product_save": True})),
}


def rss_mb() -> float:
    """The process's resident memory now (Linux), else its peak."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sizes(state: EmulatorState) -> dict[str, int]:
    """The size of every log, queue and store of one emulator."""
    dispatcher = state.dispatcher
    assert dispatcher is not None
    collections = state.store.collections.values()
    return {
        "journal": len(state.journal),
        "deliveries": len(dispatcher.log.find()),
        "pending": dispatcher.pending,
        "attempts": sum(len(d.attempts) for d in dispatcher.log.find()),
        "records": sum(len(c.records) for c in collections),
        "deleted": sum(len(c.removed) for c in collections),
        "replays": len(state.store.replays),
        "tokens": sum(len(t) for t in state.store.tokens.values()),
    }


@dataclass
class Driver:
    """API calls in a loop until a deadline, with counts of what was sent and answered."""

    url: str
    receiver: str
    deadline: float
    rnd: random.Random
    sent: int = 0
    server_errors: int = 0
    owned: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    keys: Any = field(default_factory=itertools.count)

    async def call(self, session: aiohttp.ClientSession, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with session.request(method, self.url + path, allow_redirects=False, **kwargs) as response:
            body = await response.json(content_type=None) if response.content_length != 0 else None
            self.sent += 1
            self.server_errors += response.status >= 500
            return response.status, body

    async def step(self, session: aiohttp.ClientSession) -> None:
        name = self.rnd.choice(sorted(PROVIDERS))
        spec, tenant = PROVIDERS[name], self.rnd.choice(TENANTS)
        headers = spec.auth(tenant)
        mine = self.owned.setdefault((name, tenant), [])
        roll = self.rnd.random()
        if roll < 0.3 or not mine:
            extra = {"Idempotency-Key": f"soak-{next(self.keys)}"} if name == "gigapay" else {}
            status, body = await self.call(session, "POST", spec.create, json=spec.body(f"{self.receiver}/{name}"),
                                           headers={**headers, **extra})
            if status in (200, 201):
                mine.append(spec.id_of(body))
            while len(mine) > KEEP_PER_TENANT:
                await self.call(session, "DELETE", spec.item.format(id=mine.pop(0)), headers=headers)
        elif roll < 0.45:
            await self.call(session, "GET", spec.list, headers=headers)
        elif roll < 0.55 and spec.update:
            method, body = spec.update
            await self.call(session, method, spec.item.format(id=self.rnd.choice(mine)), json=body, headers=headers)
        elif roll < 0.65:
            await self.call(session, "DELETE", spec.item.format(id=mine.pop(self.rnd.randrange(len(mine)))),
                            headers=headers)
        elif roll < 0.75:
            await self.call(session, "POST", "/_emulator/events",
                            json={"provider": name, "event": spec.event, "tenant": tenant})
        elif roll < 0.85:
            await self.call(session, "POST", "/oauth/token",
                            json={"grant_type": "client_credentials", "client_id": tenant})
        else:  # rejected requests: a malformed body, an unusable query value, an unknown id
            await self.call(session, "POST", spec.create, data=b'{"url": [', headers=headers)
            await self.call(session, "GET", spec.list + "?limit=-1&page=x&size=x", headers=headers)
            await self.call(session, "GET", spec.item.format(id="nope"), headers=headers)

    async def run(self) -> None:
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < self.deadline:
                await self.step(session)


async def receiver_app(rnd: random.Random) -> web.AppRunner:
    """A receiver on 127.0.0.1 that answers most notifications 200 and some 500 (retries)."""
    async def answer(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=500 if rnd.random() < 0.1 else 200)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


async def soak(args: argparse.Namespace) -> int:
    rnd = random.Random(args.seed)
    receiver = await receiver_app(rnd)
    app = create_app(Settings(time_scale=args.time_scale, journal_size=args.journal_size,
                              delivery_log_size=args.delivery_log_size))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    state = app[STATE]
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    started = time.monotonic()
    drivers = [Driver(url, f"http://127.0.0.1:{receiver.addresses[0][1]}", started + args.seconds,
                      random.Random(args.seed + i)) for i in range(args.concurrency)]
    tasks = [asyncio.create_task(d.run()) for d in drivers]
    samples: list[dict[str, float]] = []
    while not all(t.done() for t in tasks):
        await asyncio.wait(tasks, timeout=args.sample_every)
        samples.append({"seconds": round(time.monotonic() - started, 1), "rss_mb": round(rss_mb(), 1),
                        "requests": sum(d.sent for d in drivers), **sizes(state)})
    await asyncio.gather(*tasks)
    await runner.cleanup()
    await receiver.cleanup()
    return report(args, samples, sum(d.server_errors for d in drivers))


def report(args: argparse.Namespace, samples: list[dict[str, float]], server_errors: int) -> int:
    """Print the table and the verdict; the exit status."""
    columns = list(samples[0])
    print(" ".join(f"{c:>10}" for c in columns))
    for sample in samples:
        print(" ".join(f"{sample[c]:>10}" for c in columns))
    warm = samples[min(len(samples) - 1, max(1, int(len(samples) * args.warmup)))]
    growth = samples[-1]["rss_mb"] - warm["rss_mb"]
    # Pending deliveries: at most twice the log's size waiting for a first attempt, plus those in flight.
    bounds = {"journal": args.journal_size, "deliveries": args.delivery_log_size,
              "pending": 3 * args.delivery_log_size, "replays": MAX_KEPT,
              "tokens": MAX_KEPT * len(PROVIDERS),
              "records": KEEP_PER_TENANT * len(TENANTS) * len(PROVIDERS) * args.concurrency}
    problems = [f"{name} reached {max(s[name] for s in samples):g} > {bound}" for name, bound in bounds.items()
                if max(s[name] for s in samples) > bound]
    if growth > args.margin_mb:
        problems.append(f"memory grew {growth:.1f} MB after the warm-up (margin {args.margin_mb:g} MB)")
    if server_errors:
        problems.append(f"{server_errors} answers were 5xx")
    print(f"\n{samples[-1]['requests']:g} requests in {samples[-1]['seconds']:g} s; memory "
          f"{warm['rss_mb']:g} -> {samples[-1]['rss_mb']:g} MB after the warm-up")
    print("FAIL: " + "; ".join(problems) if problems else "OK: memory flat, every log within its bound")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to drive the emulator (default 60)")
    parser.add_argument("--sample-every", type=float, default=None, help="seconds between samples (default: 1/20)")
    parser.add_argument("--warmup", type=float, default=0.3,
                        help="share of the run before memory is compared (the logs fill up first; default 0.3)")
    parser.add_argument("--margin-mb", type=float, default=25.0, help="allowed memory growth (default 25 MB)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent API drivers (default 8)")
    parser.add_argument("--journal-size", type=int, default=1000)
    parser.add_argument("--delivery-log-size", type=int, default=1000)
    parser.add_argument("--time-scale", type=float, default=0.001, help="delivery retry time scale (default 0.001)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.sample_every is None:
        args.sample_every = max(0.25, args.seconds / 20)
    return asyncio.run(soak(args))


if __name__ == "__main__":
    sys.exit(main())
