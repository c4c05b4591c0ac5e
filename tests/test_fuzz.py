"""Seeded random requests across every route: odd methods, bodies, content types, query values and
credentials. None may answer 5xx or anything but JSON (the roadmap's fuzzing builds on this)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from tests.conftest import Api, MakeApi

PATHS = ["/v1/webhooks", "/v1/webhooks/abc", "/v1/webhooks/subscriptions", "/v1/webhooks/subscriptions/x",
         "/webhooks", "/webhooks/5964a0ead57ba2036750a3b4", "/webhooks/x/simulate", "/v2/webhooks/", "/v2/webhooks/x/",
         "/conexion/v1/webhooks.json", "/conexion/v1/webhooks/x.json", "/conexion/v1/webhook/x.json", "/oauth/token",
         "/_emulator/events", "/_emulator/reset", "/_emulator/deliveries/x/redeliver",
         "/_emulator/providers/syncfy/jwk", "/_emulator/state"]
CREDENTIALS = [{}, {"Authorization": "api_key api_key=K"}, {"X-Share-Api-Key": "K"},
               {"Authorization": "Token T", "Integration-ID": "i"}, {"Authorization": "Bearer T"},
               {"Authorization": "api_key api_key=K", "X-Http-Method-Override": "DELETE"}]
VALUES: list[Any] = [None, True, 0, -1, 10**30, 1.5, "", "x", "https://x.io/h", "ftp://x", [], [1], ["refresh"],
                     ["Payout.created"], {}, {"a": 1}, "order.created", ["credentials.created"], "a" * 3000, [[[]]]]
FIELDS = ["url", "events", "endpoint", "event_type", "callback_url", "on_product_save", "id", "secret_key",
          "metadata", "delay", "headers", "group_events", "grant_type", "client_id", "refresh_token", "provider",
          "event", "data", "wait", "signature", "tenant", "secret", "kty", "k", "api_key"]
QUERIES = ["", "?page=0", "?page=-1", "?page=x", "?page_size=0", "?size=99999999999999999999", "?sort=-x",
           "?limit=-5&skip=a", "?created_at_gt=2020", "?after=zz", "?api_key=", "?access_token=T", "?page=2&page=3"]
RAW_BODIES = [b"[", b"null", b"1", b'"s"', b"\xff", b"a=b&events=x"]


def random_request(rnd: random.Random) -> tuple[str, str, dict[str, Any]]:
    headers = dict(rnd.choice(CREDENTIALS))
    kwargs: dict[str, Any] = {"headers": headers}
    choice = rnd.random()
    if choice < 0.6:
        body = {rnd.choice(FIELDS): rnd.choice(VALUES) for _ in range(rnd.randint(0, 5))}
        kwargs["data"] = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    elif choice < 0.75:
        kwargs["data"] = rnd.choice(RAW_BODIES)
        headers["Content-Type"] = rnd.choice(["application/json", "application/x-www-form-urlencoded", "text/plain"])
    method = rnd.choice(["GET", "POST", "PUT", "PATCH", "DELETE"])
    return method, rnd.choice(PATHS) + rnd.choice(QUERIES), kwargs


@pytest.mark.parametrize("seed", range(6))
async def test_random_requests_never_get_a_5xx_or_non_json(make_api: MakeApi, seed: int) -> None:
    api: Api = await make_api(time_scale=1e-6)
    rnd = random.Random(seed)
    for _ in range(250):
        method, path, kwargs = random_request(rnd)
        answer = await api.request(method, path, validate=False, **kwargs)
        assert answer.status < 500, f"{method} {path} {kwargs} -> {answer.status} {answer.raw[:200]!r}"
