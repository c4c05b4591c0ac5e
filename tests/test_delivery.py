"""Event delivery end to end, seen from a consumer: webhooks registered through each provider's own
API, events fired through the control API, notifications caught by a real HTTP receiver in this
file, bodies checked against the events' JSON Schemas and signatures checked by verifiers written
here from the algorithms in PROVIDERS.md (never with the project's signer)."""

from __future__ import annotations

import asyncio
import base64
import gc
import hashlib
import hmac
import json
import logging
import time
import warnings
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from aiohttp import ClientSession, web
from multidict import CIMultiDict

from emulator import Emulator
from emulator.engine.events import catalogue
from emulator.state import STATE
from tests.conftest import Answer, Api, MakeApi, free_port

FAST = {"time_scale": 1e-6}
PROVIDERS = ["paybook", "syncfy", "shareactor", "gigapay", "centry"]
INTEGRATION = "11111111-1111-4111-8111-111111111111"
OTHER_INTEGRATION = "22222222-2222-4222-8222-222222222222"

# One tenant's credentials per provider, and a second tenant's.
AUTH = {
    "paybook": {"Authorization": "api_key api_key=PB"},
    "syncfy": {"Authorization": "api_key api_key=SY"},
    "shareactor": {"X-Share-Api-Key": "SA"},
    "gigapay": {"Authorization": "Token GP", "Integration-ID": INTEGRATION},
    "centry": {"Authorization": "Bearer CT"},
}
OTHER_AUTH = {
    "paybook": {"Authorization": "api_key api_key=PB2"},
    "syncfy": {"Authorization": "api_key api_key=SY2"},
    "shareactor": {"X-Share-Api-Key": "SA2"},
    "gigapay": {"Authorization": "Token GP2", "Integration-ID": INTEGRATION},
    "centry": {"Authorization": "Bearer CT2"},
}
OTHER_TENANT = {"paybook": "PB2", "syncfy": "SY2", "shareactor": "SA2", "gigapay": "GP2", "centry": "CT2"}
# Per provider: an event to fire, and another one a webhook can want instead.
EVENTS = {
    "paybook": ("credential_create", "refresh"),
    "syncfy": ("credentials.created", "documents.completed"),
    "shareactor": ("order.created", "payment.failed"),
    "gigapay": ("Payout.created", "Employee.verified"),
    "centry": ("on_product_save", "on_order_save"),
}
# Attempts before giving up: 1 + the documented retries.
ATTEMPTS = {"paybook": 6, "syncfy": 6, "shareactor": 6, "gigapay": 11, "centry": 576}
SIGNATURE_HEADERS = ("X-Share-Webhook-Signature", "Gigapay-Signature", "request-signature")
SECRET = "s3cret"  # the secret tests choose when they fire at an explicit url

SHAREACTOR_EXAMPLE_SECRET = "ed06e2f4e7bdb5ee6050695aba5ed3f2725fd3394df22f3a8a0c2856123a"
GIGAPAY_EXAMPLE_SECRET = "c1329a085d65f7757838df5920fdcc9a"


# -- verifiers, written from PROVIDERS.md ------------------------------------------------------------

def shareactor_signature(secret: str, raw: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of the raw body, keyed by the webhook's secret as UTF-8."""
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def gigapay_signature(secret: str, t: str, raw: bytes) -> str:
    """`t=<unix>,v1=<hex HMAC-SHA256(secret_key, t + "." + raw body)>`."""
    return f"t={t},v1=" + hmac.new(secret.encode(), t.encode() + b"." + raw, hashlib.sha256).hexdigest()


def gigapay_valid(header: str | None, secret: str, raw: bytes, now: float | None = None,
                  tolerance: int = 300) -> bool:
    """What a careful Gigapay consumer accepts: a well-formed header, a fresh `t`, a matching v1."""
    if header is None:
        return False
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    t, v1 = parts.get("t", ""), parts.get("v1", "")
    if not t.isdigit() or abs((time.time() if now is None else now) - int(t)) > tolerance:
        return False
    return hmac.compare_digest(gigapay_signature(secret, t, raw), f"t={t},v1={v1}")


def jwk_key_bytes(jwk: dict[str, str]) -> bytes:
    """The key bytes of an "oct" JWK: base64url-decode(k), padding restored."""
    k = jwk["k"]
    return base64.urlsafe_b64decode(k + "=" * (-len(k) % 4))


def syncfy_claims(token: str, key: bytes, raw: bytes) -> dict[str, Any]:
    """Decode a request-signature HS256 JWT (PyJWT checks signature and exp) and check that it
    covers exactly these body bytes; raises on anything a consumer would reject."""
    claims = jwt.decode(token, key, algorithms=["HS256"], options={"require": ["iat", "exp", "rid", "sha256"]})
    if claims["sha256"] != hashlib.sha256(raw).hexdigest():
        raise jwt.InvalidTokenError("the sha256 claim does not match the body")
    if claims["rid"] != json.loads(raw)["rid"]:
        raise jwt.InvalidTokenError("the rid claim does not match the body")
    return claims


def signature_valid(provider: str, hit: Hit, secret: Any) -> bool:
    """Whether `hit` passes `provider`'s documented verification with `secret` (text, or a JWK)."""
    if provider == "shareactor":
        sent = hit.headers.get("X-Share-Webhook-Signature")
        return sent is not None and hmac.compare_digest(sent, shareactor_signature(secret, hit.raw))
    if provider == "gigapay":
        return gigapay_valid(hit.headers.get("Gigapay-Signature"), secret, hit.raw)
    if provider == "syncfy":
        token = hit.headers.get("request-signature")
        try:
            return token is not None and bool(syncfy_claims(token, jwk_key_bytes(secret), hit.raw))
        except jwt.PyJWTError:
            return False
    # Paybook and Centry do not sign: a notification carries no signature header at all.
    return not any(name in hit.headers for name in SIGNATURE_HEADERS)


def test_the_verifiers_reproduce_the_docs_worked_examples() -> None:
    shareactor_body = b'{"object":{"_id":{"$oid":"5964a0ead57ba2036750a3b4"},"first_name":"John"}}'
    assert shareactor_signature(SHAREACTOR_EXAMPLE_SECRET, shareactor_body) == \
        "7825b7d30098b886ab6969efdd834ed776cc4d94907468856e7997ffc704bf7a"
    gigapay_body = b'{"id":"1847","name":"Albin Lindskog","verified_at":"2019-05-23T11:57:03.742345Z"}'
    header = "t=1583327301,v1=1574ee6d08d1b6148e756d23dbbc1880ea8dd382afebd3e337e8a56df8d02b7f"
    assert gigapay_signature(GIGAPAY_EXAMPLE_SECRET, "1583327301", gigapay_body) == header
    assert gigapay_valid(header, GIGAPAY_EXAMPLE_SECRET, gigapay_body, now=1583327301)
    assert not gigapay_valid(header, GIGAPAY_EXAMPLE_SECRET, gigapay_body + b" ", now=1583327301)
    assert not gigapay_valid(header, GIGAPAY_EXAMPLE_SECRET, gigapay_body)  # years stale


# -- the receiver: a real HTTP endpoint on the test's loop ------------------------------------------

@dataclass
class Hit:
    """One request the receiver got."""

    path: str
    headers: CIMultiDict[str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


class Receiver:
    """An aiohttp server on 127.0.0.1 that records every request and answers from a script of
    (status, delay seconds); 200 at once when the script is empty."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.script: deque[tuple[int, float]] = deque()
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, *responses: int | tuple[int, float]) -> None:
        """Answer the next requests with these statuses, or (status, delay) pairs."""
        self.script.extend(r if isinstance(r, tuple) else (r, 0.0) for r in responses)

    def paths(self) -> list[str]:
        return sorted(hit.path for hit in self.hits)

    async def _handle(self, request: web.Request) -> web.Response:
        self.hits.append(Hit(request.path_qs, CIMultiDict(request.headers), await request.read()))
        status, delay = self.script.popleft() if self.script else (200, 0.0)
        if delay:
            await asyncio.sleep(delay)
        return web.Response(status=status)

    async def start(self, port: int = 0) -> Receiver:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.2)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = None

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Hit]:
        """Until `count` requests have arrived (fails the test after `timeout` seconds)."""
        async with asyncio.timeout(timeout):
            while len(self.hits) < count:
                await asyncio.sleep(0.005)
        return self.hits


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """Tests name it before `make_api`/`api`, so their emulator stops first (nothing in flight)."""
    started = await Receiver().start()
    yield started
    await started.stop()


def closed_url(path: str = "/down") -> str:
    """A URL where nothing listens: connection refused."""
    return f"http://127.0.0.1:{free_port()}{path}"


# -- helpers -----------------------------------------------------------------------------------------

async def register(api: Api, provider: str, url: str, events: list[str], *, auth: dict[str, str] | None = None,
                   **fields: Any) -> dict[str, Any]:
    """Create a webhook through the provider's own API; returns the webhook as the API shows it."""
    headers = AUTH[provider] if auth is None else auth
    if provider in ("paybook", "syncfy"):
        path = "/v1/webhooks" if provider == "paybook" else "/v1/webhooks/subscriptions"
        answer = await api.post(path, json={"url": url, "events": events, **fields}, headers=headers)
        assert answer.status == 200, answer.json
        return answer.json["response"]
    if provider == "shareactor":
        [event_type] = events
        answer = await api.post("/webhooks", json={"endpoint": url, "event_type": event_type, **fields},
                                headers=headers)
        assert answer.status == 200, answer.json
    elif provider == "gigapay":
        answer = await api.post("/v2/webhooks/", json={"url": url, "events": events, **fields}, headers=headers)
        assert answer.status == 201, answer.json
    else:
        body = {"callback_url": url, **dict.fromkeys(events, True), **fields}
        answer = await api.post("/conexion/v1/webhooks.json", json=body, headers=headers)
        assert answer.status == 200, answer.json
    return answer.json


async def jwk_of(api: Api) -> dict[str, str]:
    answer = await api.get("/_emulator/providers/syncfy/jwk")
    assert answer.status == 200, answer.json
    return answer.json


async def webhook_secret(api: Api, provider: str, webhook: dict[str, Any]) -> Any:
    """What a consumer verifies `provider`'s notifications to this webhook with."""
    return {"shareactor": webhook.get("secret"), "gigapay": webhook.get("secret_key"),
            "syncfy": await jwk_of(api) if provider == "syncfy" else None}.get(provider)


async def chosen_secret(api: Api, provider: str) -> tuple[dict[str, Any], Any]:
    """For a firing at an explicit url: the extra body fields and the secret to verify with."""
    if provider in ("shareactor", "gigapay"):
        return {"secret": SECRET}, SECRET
    if provider == "syncfy":
        return {}, await jwk_of(api)
    return {}, None


async def fire(api: Api, **body: Any) -> Answer:
    return await api.post("/_emulator/events", json=body)


async def fired(api: Api, **body: Any) -> list[dict[str, Any]]:
    """Fire with `wait` and return the deliveries, each with its final outcome."""
    answer = await fire(api, wait=True, **body)
    assert answer.status == 200, answer.json
    assert answer.json["complete"] is True
    return answer.json["deliveries"]


async def fired_at(api: Api, provider: str, event: str | list[str], url: str, **body: Any
                   ) -> tuple[list[dict[str, Any]], Any]:
    """Fire at one explicit url (with a chosen secret where the provider takes one); returns the
    deliveries and the secret to verify with."""
    extra, secret = await chosen_secret(api, provider)
    return await fired(api, provider=provider, event=event, url=url, **extra, **body), secret


async def delivery(api: Api, delivery_id: str) -> dict[str, Any]:
    answer = await api.get(f"/_emulator/deliveries/{delivery_id}")
    assert answer.status == 200, answer.json
    return answer.json


async def settled(api: Api, delivery_id: str, timeout: float = 10.0) -> dict[str, Any]:
    """The delivery once it has a final outcome."""
    async with asyncio.timeout(timeout):
        while (found := await delivery(api, delivery_id))["status"] == "pending":
            await asyncio.sleep(0.01)
    return found


async def listed(api: Api, query: str = "") -> list[str]:
    """Ids of the deliveries GET /_emulator/deliveries lists for `query`."""
    answer = await api.get("/_emulator/deliveries" + query)
    assert answer.status == 200, answer.json
    return [d["id"] for d in answer.json["deliveries"]]


def schema_errors(api: Api, provider: str, schema: str, value: Any) -> list[str]:
    validator = api.app[STATE].providers[provider].validator(schema)
    return [f"{schema}: {e.message} at {list(e.absolute_path)}" for e in validator.iter_errors(value)]


def carried_events(provider: str, body: Any) -> list[tuple[str | None, Any]]:
    """(event name, payload) of each event in a notification body, read the way the docs describe
    it (Gigapay's body names no event)."""
    match provider:
        case "syncfy":
            return [(e["header"]["event"]["name"], e["payload"]) for e in body["events"]]
        case "shareactor":
            return [(body["kind"], body["object"])]
        case "centry":
            return [(body["topic"], body)]
        case "paybook":
            return [(body["event"], body)]
        case _:
            return [(None, body)]


def check_notification(api: Api, provider: str, hit: Hit, events: list[str]) -> Any:
    """The body is JSON, matches the whole-notification schema (where the fixture has one) and
    carries exactly `events`, each payload matching its event's schema. Returns the body."""
    assert hit.headers["Content-Type"].startswith("application/json")
    spec = api.app[STATE].providers[provider]
    body = hit.json
    assert spec.delivery is not None and spec.events is not None
    errors = schema_errors(api, provider, spec.delivery.schema, body) if spec.delivery.schema else []
    carried = carried_events(provider, body)
    for (name, payload), event in zip(carried, events, strict=True):
        assert name in (event, None)
        errors += schema_errors(api, provider, spec.events.catalogue[event].schema, payload)
    assert not errors, errors
    return body


# -- each provider's notification ---------------------------------------------------------------------

@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_registered_webhook_gets_one_signed_schema_valid_notification(
        receiver: Receiver, make_api: MakeApi, provider: str) -> None:
    api = await make_api(**FAST)
    event = EVENTS[provider][0]
    webhook = await register(api, provider, f"{receiver.url}/{provider}/hook", [event])
    [sent] = await fired(api, provider=provider, event=event)
    assert sent["status"] == "delivered" and sent["events"] == [event]
    assert [a["status"] for a in sent["attempts"]] == [200]
    [hit] = receiver.hits
    assert hit.path == f"/{provider}/hook"
    body = check_notification(api, provider, hit, [event])
    assert signature_valid(provider, hit, await webhook_secret(api, provider, webhook))
    if provider == "syncfy":
        [entry] = body["events"]
        assert entry["header"]["event"]["eid"] == sent["event_ids"][0]
        assert entry["header"]["user"]["id_environment"] == webhook["id_environment"]
        assert entry["header"]["user"]["id_user"] == entry["payload"]["id_user"]
    if provider == "gigapay":
        assert "event" not in body and "event_type" not in body  # the object itself [doc]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_every_event_in_the_catalogue_sends_a_schema_valid_notification(
        receiver: Receiver, make_api: MakeApi, provider: str) -> None:
    api = await make_api(**FAST)
    events = list(catalogue(api.app[STATE].providers[provider]))
    deliveries, secret = await fired_at(api, provider, events, receiver.url)
    assert sorted(e for d in deliveries for e in d["events"]) == sorted(events)
    assert all(d["status"] == "delivered" for d in deliveries)
    assert len(receiver.hits) == len(events)
    by_body = {d["body"]: d["events"] for d in deliveries}  # arrival order is free: match hits by body
    for hit in receiver.hits:
        check_notification(api, provider, hit, by_body[hit.raw.decode()])
        assert signature_valid(provider, hit, secret)


@pytest.mark.parametrize("provider", ["paybook", "syncfy"])
async def test_the_webhooks_custom_headers_reach_the_receiver(receiver: Receiver, make_api: MakeApi,
                                                              provider: str) -> None:
    api = await make_api(**FAST)
    event = EVENTS[provider][0]
    await register(api, provider, receiver.url, [event], headers={"X-Consumer-Token": "abc", "X-Env": "sandbox"})
    await fired(api, provider=provider, event=event)
    [hit] = receiver.hits
    assert hit.headers["X-Consumer-Token"] == "abc" and hit.headers["X-Env"] == "sandbox"


async def test_shareactor_worked_example_secret_signs_a_real_delivery(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    data = {"_id": {"$oid": "5964a0ead57ba2036750a3b4"}, "first_name": "John"}
    await fired(api, provider="shareactor", event="user.created", url=receiver.url,
                secret=SHAREACTOR_EXAMPLE_SECRET, data=data)
    [hit] = receiver.hits
    assert hit.json["object"]["_id"] == {"$oid": "5964a0ead57ba2036750a3b4"}
    assert hit.headers["X-Share-Webhook-Signature"] == shareactor_signature(SHAREACTOR_EXAMPLE_SECRET, hit.raw)


async def test_gigapay_worked_example_secret_signs_a_real_delivery(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    data = {"id": "1847", "name": "Albin Lindskog", "verified_at": "2019-05-23T11:57:03.742345Z"}
    await fired(api, provider="gigapay", event="Employee.verified", url=receiver.url,
                secret=GIGAPAY_EXAMPLE_SECRET, data=data)
    [hit] = receiver.hits
    assert hit.json["id"] == "1847" and hit.json["verified_at"] == "2019-05-23T11:57:03.742345Z"
    t = hit.headers["Gigapay-Signature"].split(",")[0].removeprefix("t=")
    assert hit.headers["Gigapay-Signature"] == gigapay_signature(GIGAPAY_EXAMPLE_SECRET, t, hit.raw)
    assert gigapay_valid(hit.headers["Gigapay-Signature"], GIGAPAY_EXAMPLE_SECRET, hit.raw)


async def test_a_jwk_put_through_the_control_api_signs_syncfy_notifications(receiver: Receiver,
                                                                           make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    key = b"my own 32-byte key for the tests"
    jwk = {"kty": "oct", "kid": "mine", "k": base64.urlsafe_b64encode(key).rstrip(b"=").decode()}
    assert (await api.put("/_emulator/providers/syncfy/jwk", json=jwk)).json == jwk
    assert await jwk_of(api) == jwk
    await register(api, "syncfy", receiver.url, ["documents.success"])
    await fired(api, provider="syncfy", event="documents.success")
    [hit] = receiver.hits
    token = hit.headers["request-signature"]
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT", "kid": "mine"}
    claims = syncfy_claims(token, key, hit.raw)
    assert claims["exp"] - claims["iat"] == 300 and abs(claims["iat"] - time.time()) < 300
    with pytest.raises(jwt.InvalidSignatureError):
        syncfy_claims(token, b"another key of the same length..", hit.raw)


@pytest.mark.parametrize("body", [{"kty": "RSA", "k": "abc"}, {"kty": "oct"}, {"kty": "oct", "k": "not base64!"}])
async def test_a_bad_jwk_is_refused_and_the_old_one_kept(api: Api, body: dict[str, Any]) -> None:
    before = await jwk_of(api)
    answer = await api.put("/_emulator/providers/syncfy/jwk", json=body)
    assert answer.status == 400 and answer.json["message"]
    assert await jwk_of(api) == before


async def test_providers_that_do_not_sign_with_a_jwk_have_none(api: Api) -> None:
    answer = await api.get("/_emulator/providers/gigapay/jwk")
    assert answer.status == 404 and "gigapay" in answer.json["message"]


# -- fan-out and filters ------------------------------------------------------------------------------

@pytest.mark.parametrize("provider", PROVIDERS)
async def test_every_webhook_that_wants_the_event_gets_it_and_no_other(receiver: Receiver, make_api: MakeApi,
                                                                       provider: str) -> None:
    api = await make_api(**FAST)
    event, other = EVENTS[provider]
    await register(api, provider, receiver.url + "/a", [event])
    await register(api, provider, receiver.url + "/b", [event])
    await register(api, provider, receiver.url + "/c", [other])
    deliveries = await fired(api, provider=provider, event=event)
    assert sorted(d["url"] for d in deliveries) == [receiver.url + "/a", receiver.url + "/b"]
    assert receiver.paths() == ["/a", "/b"]
    assert len({d["event_ids"][0] for d in deliveries}) == 1  # one event, sent to two webhooks


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_tenant_limits_a_firing_to_one_credential(receiver: Receiver, make_api: MakeApi, provider: str) -> None:
    api = await make_api(**FAST)
    event = EVENTS[provider][0]
    await register(api, provider, receiver.url + "/mine", [event])
    await register(api, provider, receiver.url + "/theirs", [event], auth=OTHER_AUTH[provider])
    [sent] = await fired(api, provider=provider, event=event, tenant=OTHER_TENANT[provider])
    assert sent["tenant"] == OTHER_TENANT[provider]
    assert receiver.paths() == ["/theirs"]


async def test_gigapay_scope_limits_a_firing_to_one_integration(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    await register(api, "gigapay", receiver.url + "/one", ["Payout.created"])
    other = {**AUTH["gigapay"], "Integration-ID": OTHER_INTEGRATION}
    await register(api, "gigapay", receiver.url + "/two", ["Payout.created"], auth=other)
    user_level = {"Authorization": AUTH["gigapay"]["Authorization"]}  # Registration.* belong to the user
    await register(api, "gigapay", receiver.url + "/user", ["Registration.verified"], auth=user_level)

    assert [d["url"] for d in await fired(api, provider="gigapay", event="Payout.created", scope=INTEGRATION)] \
        == [receiver.url + "/one"]
    assert [d["url"] for d in await fired(api, provider="gigapay", event="Registration.verified",
                                          scope=INTEGRATION)] == [receiver.url + "/user"]
    assert len(await fired(api, provider="gigapay", event="Payout.created")) == 2
    assert receiver.paths() == ["/one", "/one", "/two", "/user"]


async def test_a_soft_deleted_shareactor_webhook_gets_nothing(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    gone = await register(api, "shareactor", receiver.url + "/gone", ["order.created"])
    await register(api, "shareactor", receiver.url + "/kept", ["order.created"])
    deleted = await api.delete(f"/webhooks/{gone['_id']['$oid']}", headers=AUTH["shareactor"])
    assert deleted.status == 200 and deleted.json["deleted"] is True
    assert [d["url"] for d in await fired(api, provider="shareactor", event="order.created")] \
        == [receiver.url + "/kept"]
    assert receiver.paths() == ["/kept"]


async def test_centry_sends_each_topic_to_the_webhooks_with_that_flag(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    await register(api, "centry", receiver.url + "/products", ["on_product_save", "on_product_delete"])
    await register(api, "centry", receiver.url + "/orders", ["on_order_save"])
    await register(api, "centry", receiver.url + "/none", [])
    for topic in ("on_product_delete", "on_order_save", "on_integration_config_save"):
        await fired(api, provider="centry", event=topic)
    assert receiver.paths() == ["/orders", "/products"]
    by_path = {hit.path: hit.json for hit in receiver.hits}
    assert by_path["/products"]["topic"] == "on_product_delete" and "product_id" in by_path["/products"]
    assert by_path["/orders"]["topic"] == "on_order_save" and "order_id" in by_path["/orders"]


async def test_syncfy_groups_one_firings_events_only_when_asked(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    events = ["credentials.created", "documents.completed"]
    await register(api, "syncfy", receiver.url + "/grouped", events, group_events=1)
    await register(api, "syncfy", receiver.url + "/single", events, group_events=0)
    deliveries = await fired(api, provider="syncfy", event=events)
    assert len(deliveries) == 3
    grouped = [hit for hit in receiver.hits if hit.path == "/grouped"]
    single = [hit for hit in receiver.hits if hit.path == "/single"]
    assert len(grouped) == 1 and len(single) == 2
    check_notification(api, "syncfy", grouped[0], events)
    for hit in single:
        [(name, _)] = carried_events("syncfy", hit.json)
        check_notification(api, "syncfy", hit, [name])
    assert sorted(carried_events("syncfy", hit.json)[0][0] for hit in single) == events
    jwk = await jwk_of(api)
    assert all(signature_valid("syncfy", hit, jwk) for hit in receiver.hits)
    rids = [hit.json["rid"] for hit in receiver.hits]
    assert len(set(rids)) == 3  # rid is per notification


@pytest.mark.parametrize(("provider", "subscribed", "fired_as", "sent_as"), [
    ("syncfy", "documents.fail", "documents.failed", "documents.fail"),
    ("syncfy", "documents.failed", "documents.fail", "documents.fail"),
    ("gigapay", "Payrun.paid", "Invoice.paid", "Payrun.paid"),
    ("gigapay", "Invoice.paid", "Payrun.paid", "Payrun.paid"),
    ("gigapay", "Invoice.created", "Invoice.created", "Payrun.created"),
])
async def test_an_alias_fires_the_canonical_event(receiver: Receiver, make_api: MakeApi, provider: str,
                                                 subscribed: str, fired_as: str, sent_as: str) -> None:
    api = await make_api(**FAST)
    await register(api, provider, receiver.url, [subscribed])
    [sent] = await fired(api, provider=provider, event=fired_as)
    assert sent["events"] == [sent_as] and sent["status"] == "delivered"
    [hit] = receiver.hits
    check_notification(api, provider, hit, [sent_as])


async def test_an_event_and_its_alias_in_one_firing_send_one_notification(receiver: Receiver,
                                                                          make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    await register(api, "gigapay", receiver.url, ["Payrun.paid", "Invoice.paid"])
    [sent] = await fired(api, provider="gigapay", event=["Invoice.paid", "Payrun.paid"])
    assert sent["events"] == ["Payrun.paid"]
    assert len(receiver.hits) == 1
    assert receiver.hits[0].json["latest_status"] == "paid"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_firing_nobody_wants_sends_nothing(receiver: Receiver, make_api: MakeApi, provider: str) -> None:
    api = await make_api(**FAST)
    event, other = EVENTS[provider]
    await register(api, provider, receiver.url, [other])
    assert await fired(api, provider=provider, event=event) == []
    assert receiver.hits == []


# -- payload overrides and ShareActor's simulate --------------------------------------------------------

async def test_paybook_data_deep_merges_and_sets_every_use_of_a_fresh_id(receiver: Receiver,
                                                                         make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    data = {"id_credential": "5e751d54d0510472295413b3", "endpoints": {"extra": ["/x"]}, "is_executing": 0}
    await fired(api, provider="paybook", event="credential_create", url=receiver.url, data=data)
    [hit] = receiver.hits
    body = check_notification(api, "paybook", hit, ["credential_create"])
    assert body["id_credential"] == "5e751d54d0510472295413b3" and body["is_executing"] == 0
    assert body["endpoints"] == {"credential": ["/v1/credentials/5e751d54d0510472295413b3"], "extra": ["/x"]}
    assert body["id_site"] == "5da784f1f9de2a06483abec1"  # untouched sample values stay


async def test_gigapay_data_overrides_are_signed_with_the_rest(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    webhook = await register(api, "gigapay", receiver.url, ["Payout.created"])
    await fired(api, provider="gigapay", event="Payout.created", data={"amount": "99.00", "metadata": {"n": "42"}})
    [hit] = receiver.hits
    body = check_notification(api, "gigapay", hit, ["Payout.created"])
    assert body["amount"] == "99.00" and body["metadata"] == {"n": "42"} and body["currency"] == "SEK"
    assert signature_valid("gigapay", hit, webhook["secret_key"])


async def test_syncfy_data_goes_into_the_payload_and_its_header(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    await fired(api, provider="syncfy", event="credentials.created", url=receiver.url,
                data={"id_user": "5e751d54d0510472295413b3"})
    [entry] = receiver.hits[0].json["events"]
    assert entry["payload"]["id_user"] == "5e751d54d0510472295413b3"
    assert entry["header"]["user"]["id_user"] == "5e751d54d0510472295413b3"


async def test_shareactor_simulate_sends_that_webhooks_event_type_to_it(receiver: Receiver,
                                                                        make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    webhook = await register(api, "shareactor", receiver.url + "/sim", ["payment.failed"])
    await register(api, "shareactor", receiver.url + "/other", ["payment.failed"])
    answer = await api.post(f"/webhooks/{webhook['_id']['$oid']}/simulate", headers=AUTH["shareactor"])
    assert answer.status == 204 and answer.raw == b""
    [hit] = await receiver.wait_for(1)
    assert hit.path == "/sim"
    body = check_notification(api, "shareactor", hit, ["payment.failed"])
    assert body["kind"] == "payment.failed"
    assert signature_valid("shareactor", hit, webhook["secret"])


async def test_simulating_an_unknown_webhook_is_a_404(api: Api) -> None:
    answer = await api.post("/webhooks/5964a0ead57ba2036750a3b4/simulate", headers=AUTH["shareactor"])
    assert answer.status == 404


# -- retries, timeouts and outcomes ---------------------------------------------------------------------

@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_500_is_retried_and_then_delivered(receiver: Receiver, make_api: MakeApi, provider: str) -> None:
    api = await make_api(**FAST)
    receiver.answer(500)
    [sent], secret = await fired_at(api, provider, EVENTS[provider][0], receiver.url)
    assert sent["status"] == "delivered"
    assert [a["status"] for a in sent["attempts"]] == [500, 200]
    first, second = receiver.hits
    assert first.raw == second.raw  # the same notification again
    assert signature_valid(provider, first, secret) and signature_valid(provider, second, secret)


@pytest.mark.parametrize("provider", ["paybook", "gigapay", "centry"])
async def test_an_attempt_that_times_out_is_retried(receiver: Receiver, make_api: MakeApi, provider: str) -> None:
    api = await make_api(delivery_timeout=0.3, **FAST)
    receiver.answer((200, 0.8))
    [sent], _ = await fired_at(api, provider, EVENTS[provider][0], receiver.url)
    first, second = sent["attempts"]
    assert first["status"] is None and first["error"]
    assert second["status"] == 200 and sent["status"] == "delivered"
    assert len(receiver.hits) == 2


async def test_connection_refused_then_the_receiver_comes_up(make_api: MakeApi) -> None:
    api = await make_api(time_scale=0.05)  # retries after 0.05 s, 0.1 s, 0.2 s, ...
    port = free_port()
    answer = await fire(api, provider="gigapay", event="Payout.created", url=f"http://127.0.0.1:{port}/late",
                        secret=SECRET)
    [pending] = answer.json["deliveries"]
    async with asyncio.timeout(10):
        while not (await delivery(api, pending["id"]))["attempts"]:
            await asyncio.sleep(0.005)
    late = await Receiver().start(port)
    try:
        final = await settled(api, pending["id"])
    finally:
        await late.stop()
    assert final["status"] == "delivered"
    assert final["attempts"][0]["status"] is None and final["attempts"][0]["error"]
    assert final["attempts"][-1]["status"] == 200
    [hit] = late.hits
    assert hit.path == "/late" and signature_valid("gigapay", hit, SECRET)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_connection_refused_gives_up_after_the_schedule(make_api: MakeApi, provider: str) -> None:
    api = await make_api(**FAST)
    [sent], _ = await fired_at(api, provider, EVENTS[provider][0], closed_url())
    assert sent["status"] == "failed" and sent["error"]
    assert sent["attempt_count"] == ATTEMPTS[provider]
    assert all(a["status"] is None and a["error"] for a in sent["attempts"])
    kept = min(ATTEMPTS[provider], 20)  # the log keeps the most recent 20 (--delivery-attempts-kept)
    assert [a["number"] for a in sent["attempts"]] == list(range(ATTEMPTS[provider] - kept + 1, ATTEMPTS[provider] + 1))


@pytest.mark.parametrize("provider", ["paybook", "syncfy", "shareactor", "gigapay"])
async def test_a_receiver_that_keeps_failing_gets_the_schedule_and_no_more(receiver: Receiver, make_api: MakeApi,
                                                                           provider: str) -> None:
    api = await make_api(**FAST)
    receiver.answer(*[500] * ATTEMPTS[provider], 200)
    [sent], _ = await fired_at(api, provider, EVENTS[provider][0], receiver.url)
    assert sent["status"] == "failed"
    assert [a["status"] for a in sent["attempts"]] == [500] * ATTEMPTS[provider]
    assert len(receiver.hits) == ATTEMPTS[provider]


@pytest.mark.parametrize("status", [201, 202, 204])
async def test_centry_counts_only_200_as_delivered(receiver: Receiver, make_api: MakeApi, status: int) -> None:
    api = await make_api(**FAST)
    await register(api, "centry", receiver.url, ["on_order_delete"])
    receiver.answer(status)
    [sent] = await fired(api, provider="centry", event="on_order_delete")
    assert [a["status"] for a in sent["attempts"]] == [status, 200]
    assert sent["attempts"][0]["outcome"] == "failed" and sent["attempts"][0]["error"]
    assert sent["status"] == "delivered" and len(receiver.hits) == 2


@pytest.mark.parametrize("provider", ["paybook", "syncfy", "shareactor", "gigapay"])
async def test_other_providers_count_any_2xx_as_delivered(receiver: Receiver, make_api: MakeApi,
                                                         provider: str) -> None:
    api = await make_api(**FAST)
    receiver.answer(201)
    [sent], _ = await fired_at(api, provider, EVENTS[provider][0], receiver.url)
    assert sent["status"] == "delivered" and [a["status"] for a in sent["attempts"]] == [201]


async def test_gigapay_signs_every_attempt_with_its_own_timestamp(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    webhook = await register(api, "gigapay", receiver.url, ["Payout.accepted"])
    receiver.answer(500, 502)
    [sent] = await fired(api, provider="gigapay", event="Payout.accepted")
    assert [a["status"] for a in sent["attempts"]] == [500, 502, 200]
    assert len(receiver.hits) == 3
    for hit, attempt in zip(receiver.hits, sent["attempts"], strict=True):
        header = hit.headers["Gigapay-Signature"]
        t = header.split(",")[0].removeprefix("t=")
        assert header == gigapay_signature(webhook["secret_key"], t, hit.raw)
        assert gigapay_valid(header, webhook["secret_key"], hit.raw)
        assert attempt["request_headers"]["Gigapay-Signature"] == header  # the log shows what was sent


async def test_paybook_counts_failed_attempts_in_ct_failed(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    webhook = await register(api, "paybook", receiver.url, ["refresh"])
    receiver.answer(500, 503)
    [sent] = await fired(api, provider="paybook", event="refresh")
    assert sent["status"] == "delivered"
    [shown] = (await api.get("/v1/webhooks", headers=AUTH["paybook"])).json["response"]
    assert shown["id_webhook"] == webhook["id_webhook"]
    assert (shown["ct_failed"], shown["is_disabled"]) == (2, 0)


async def test_paybook_disables_a_webhook_past_1000_failures(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    all_events = ["credential_create", "credential_update", "refresh", "documents_completed"]
    broken = await register(api, "paybook", closed_url(), all_events)

    async def shown() -> dict[str, Any]:
        [found] = [w for w in (await api.get("/v1/webhooks", headers=AUTH["paybook"])).json["response"]
                   if w["id_webhook"] == broken["id_webhook"]]
        return found

    # 41 firings of 4 events, 6 failed attempts each, and one of 2 events: 996 failures.
    for _ in range(41):
        await fired(api, provider="paybook", event=all_events)
    assert ((await shown())["ct_failed"], (await shown())["is_disabled"]) == (984, 0)
    await fired(api, provider="paybook", event=all_events[:2])
    assert ((await shown())["ct_failed"], (await shown())["is_disabled"]) == (996, 0)

    await register(api, "paybook", receiver.url + "/healthy", ["credential_create"])
    deliveries = await fired(api, provider="paybook", event="credential_create")
    [to_broken] = [d for d in deliveries if d["webhook_id"] == broken["id_webhook"]]
    assert to_broken["status"] == "failed"
    # The 1001st failure disables it; it receives nothing more, not even the rest of the schedule.
    assert len(to_broken["attempts"]) == 5
    assert ((await shown())["ct_failed"], (await shown())["is_disabled"]) == (1001, 1)

    later = await fired(api, provider="paybook", event="credential_create")
    assert [d["url"] for d in later] == [receiver.url + "/healthy"]
    assert receiver.paths() == ["/healthy", "/healthy"]


async def test_paybook_waits_the_webhooks_delay_before_the_first_attempt(receiver: Receiver,
                                                                        make_api: MakeApi) -> None:
    api = await make_api(time_scale=0.001)
    await register(api, "paybook", receiver.url, ["credential_create"], delay=500)  # 0.5 s at this scale
    [pending] = (await fire(api, provider="paybook", event="credential_create")).json["deliveries"]
    assert pending["status"] == "pending" and pending["attempts"] == []
    waiting = await delivery(api, pending["id"])
    assert waiting["next_attempt_at"] is not None and waiting["attempts"] == [] and receiver.hits == []
    assert (await settled(api, pending["id"]))["status"] == "delivered"
    assert len(receiver.hits) == 1


# -- negative signatures ----------------------------------------------------------------------------------

NEGATIVE = [(p, m) for p in ("shareactor", "gigapay", "syncfy")
            for m in ("wrong_secret", "stale_timestamp", "tampered_body", "missing")
            # ShareActor signs no timestamp, so a stale one cannot show (see the report).
            if (p, m) != ("shareactor", "stale_timestamp")]


@pytest.mark.parametrize(("provider", "mode"), NEGATIVE)
async def test_a_bad_signature_mode_fails_the_consumers_verifier(receiver: Receiver, make_api: MakeApi,
                                                                 provider: str, mode: str) -> None:
    api = await make_api(**FAST)
    [sent], secret = await fired_at(api, provider, EVENTS[provider][0], receiver.url, signature=mode)
    assert sent["signature"] == mode and sent["status"] == "delivered"
    [hit] = receiver.hits
    assert not signature_valid(provider, hit, secret)
    json.loads(hit.raw)  # still a JSON body a consumer can read


@pytest.mark.parametrize("provider", ["shareactor", "gigapay", "syncfy"])
async def test_the_valid_mode_passes_the_consumers_verifier(receiver: Receiver, make_api: MakeApi,
                                                            provider: str) -> None:
    api = await make_api(**FAST)
    _, secret = await fired_at(api, provider, EVENTS[provider][0], receiver.url, signature="valid")
    assert signature_valid(provider, receiver.hits[0], secret)


async def test_stale_timestamp_makes_an_expired_syncfy_token(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    _, jwk = await fired_at(api, "syncfy", "documents.completed", receiver.url, signature="stale_timestamp")
    hit = receiver.hits[0]
    with pytest.raises(jwt.ExpiredSignatureError):
        syncfy_claims(hit.headers["request-signature"], jwk_key_bytes(jwk), hit.raw)


# -- redelivery, wait and the delivery log -------------------------------------------------------------------

@pytest.mark.parametrize("provider", PROVIDERS)
async def test_redelivery_sends_the_same_notification_once_more(receiver: Receiver, make_api: MakeApi,
                                                                provider: str) -> None:
    api = await make_api(**FAST)
    [sent], secret = await fired_at(api, provider, EVENTS[provider][0], receiver.url)
    again = await api.post(f"/_emulator/deliveries/{sent['id']}/redeliver")
    assert again.status == 200
    assert again.json["id"] == sent["id"] and again.json["event_ids"] == sent["event_ids"]
    assert again.json["body"] == sent["body"]
    assert [a["status"] for a in again.json["attempts"]] == [200, 200]
    first, second = receiver.hits
    assert first.raw == second.raw
    assert signature_valid(provider, second, secret)
    assert len((await delivery(api, sent["id"]))["attempts"]) == 2


async def test_redelivering_a_failed_delivery_can_deliver_it(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    receiver.answer(*[500] * 6)
    [sent] = await fired(api, provider="paybook", event="refresh", url=receiver.url)
    assert sent["status"] == "failed"
    again = (await api.post(f"/_emulator/deliveries/{sent['id']}/redeliver")).json
    assert again["status"] == "delivered" and len(again["attempts"]) == 7
    assert (await delivery(api, sent["id"]))["status"] == "delivered"
    assert len({hit.raw for hit in receiver.hits}) == 1 and len(receiver.hits) == 7


async def test_redelivering_an_unknown_delivery_is_a_404(api: Api) -> None:
    answer = await api.post("/_emulator/deliveries/nope/redeliver")
    assert answer.status == 404 and "nope" in answer.json["message"]


async def test_without_wait_the_answer_is_202_with_pending_deliveries(receiver: Receiver,
                                                                      make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    await register(api, "centry", receiver.url + "/a", ["on_order_save"])
    await register(api, "centry", receiver.url + "/b", ["on_order_save"])
    answer = await fire(api, provider="centry", event="on_order_save")
    assert answer.status == 202 and "complete" not in answer.json
    assert [d["status"] for d in answer.json["deliveries"]] == ["pending", "pending"]
    for pending in answer.json["deliveries"]:
        assert (await settled(api, pending["id"]))["status"] == "delivered"
    assert receiver.paths() == ["/a", "/b"]


async def test_with_wait_the_answer_is_200_with_final_outcomes(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    await register(api, "gigapay", receiver.url, ["Payout.created"])
    await register(api, "gigapay", closed_url(), ["Payout.created"])
    answer = await fire(api, provider="gigapay", event="Payout.created", wait=True)
    assert answer.status == 200 and answer.json["complete"] is True
    assert sorted(d["status"] for d in answer.json["deliveries"]) == ["delivered", "failed"]
    assert answer.json["provider"] == "gigapay"


async def test_wait_gives_up_after_its_timeout_with_complete_false(make_api: MakeApi) -> None:
    api = await make_api(time_scale=1.0)  # the first retry is a second away
    answer = await fire(api, provider="gigapay", event="Payout.created", url=closed_url(), secret=SECRET,
                        wait=True, timeout=0.2)
    assert answer.status == 200 and answer.json["complete"] is False
    [pending] = answer.json["deliveries"]
    assert pending["status"] == "pending" and len(pending["attempts"]) == 1


async def test_the_log_filters_by_provider_event_status_and_url(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    [ok] = await fired(api, provider="centry", event="on_order_save", url=receiver.url + "/ok")
    [bad] = await fired(api, provider="paybook", event="refresh", url=closed_url())
    [other] = await fired(api, provider="centry", event="on_product_save", url=receiver.url + "/other")
    assert await listed(api) == [ok["id"], bad["id"], other["id"]]
    assert await listed(api, "?provider=centry") == [ok["id"], other["id"]]
    assert await listed(api, "?event=refresh") == [bad["id"]]
    assert await listed(api, "?status=failed") == [bad["id"]]
    assert await listed(api, "?status=delivered&provider=centry&event=on_product_save") == [other["id"]]
    assert [d["id"] for d in (await api.get("/_emulator/deliveries", params={"url": receiver.url + "/ok"})
                              ).json["deliveries"]] == [ok["id"]]
    assert await listed(api, "?provider=gigapay") == []
    one = await delivery(api, ok["id"])
    assert one["attempts"][0]["request_headers"]["Content-Type"] == "application/json"
    assert json.loads(one["attempts"][0]["request_body"]) == json.loads(one["body"]) == receiver.hits[0].json
    missing = await api.get("/_emulator/deliveries/nope")
    assert missing.status == 404 and missing.json["message"]


async def test_the_log_keeps_the_most_recent_deliveries(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(delivery_log_size=3, **FAST)
    ids = [(await fired(api, provider="centry", event="on_order_save", url=receiver.url))[0]["id"]
           for _ in range(5)]
    log = (await api.get("/_emulator/deliveries")).json
    assert [d["id"] for d in log["deliveries"]] == ids[2:] and log["dropped"] == 2
    assert (await api.get(f"/_emulator/deliveries/{ids[0]}")).status == 404
    assert len(receiver.hits) == 5  # dropping from the log does not stop anything being sent


async def test_reset_forgets_deliveries(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    [centry] = await fired(api, provider="centry", event="on_order_save", url=receiver.url)
    [paybook] = await fired(api, provider="paybook", event="refresh", url=receiver.url)
    assert (await api.post("/_emulator/reset", json={"provider": "centry"})).status == 200
    assert await listed(api) == [paybook["id"]]
    assert (await api.get(f"/_emulator/deliveries/{centry['id']}")).status == 404
    assert (await api.post("/_emulator/reset")).status == 200
    assert await listed(api) == []


@pytest.mark.parametrize(("body", "fragment"), [
    ({"event": "x"}, "provider"),
    ({"provider": "nope", "event": "x"}, "nope"),
    ({"provider": "gigapay", "event": "Payout.exploded"}, "Payout.exploded"),
    ({"provider": "gigapay"}, "event"),
    ({"provider": "gigapay", "event": "Payout.created", "url": "ftp://x"}, "url"),
    ({"provider": "gigapay", "event": "Payout.created", "url": "not a url"}, "url"),
    ({"provider": "gigapay", "event": "Payout.created", "signature": "bad"}, "signature"),
    ({"provider": "gigapay", "event": "Payout.created", "colour": 1}, "colour"),
    ({"provider": "gigapay", "event": "Payout.created", "data": [1]}, "data"),
    ({"provider": "gigapay", "event": "Payout.created", "data": "x"}, "data"),
    ({"provider": "gigapay", "event": "Payout.created", "wait": "yes"}, "wait"),
    ({"provider": "syncfy", "event": "documents.fail", "url": "http://x.io", "secret": "s"}, "JWK"),
])
async def test_a_bad_firing_request_gets_a_clear_4xx(api: Api, body: dict[str, Any], fragment: str) -> None:
    answer = await fire(api, **body)
    assert 400 <= answer.status < 500
    assert answer.headers["Content-Type"].startswith("application/json")
    assert fragment in answer.json["message"]
    assert await listed(api) == []


@pytest.mark.parametrize("raw", [b"{", b"[1, 2]", b'"text"'])
async def test_a_firing_body_that_is_not_a_json_object_is_refused(api: Api, raw: bytes) -> None:
    answer = await api.post("/_emulator/events", data=raw, headers={"Content-Type": "application/json"})
    assert answer.status == 400 and answer.json["message"]


# -- shutdown ------------------------------------------------------------------------------------------------

def dispatcher_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if "Dispatcher" in t.get_coro().__qualname__]  # type: ignore[union-attr]


async def stop_cleanly(emulator: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    """Stop the emulator (bounded) and check it left no task behind and said nothing alarming."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await asyncio.wait_for(emulator.stop_async(), 15)
        await asyncio.sleep(0)
        gc.collect()
    assert [t for t in dispatcher_tasks() if not t.done()] == []
    assert [str(w.message) for w in caught] == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_stopping_finishes_the_attempt_in_flight(receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.answer((200, 0.5))
    emulator = await Emulator(**FAST).start_async()
    async with ClientSession() as session:
        body = {"provider": "centry", "event": "on_order_save", "url": receiver.url}
        async with session.post(emulator.url + "/_emulator/events", json=body) as answer:
            assert answer.status == 202
    await receiver.wait_for(1)  # the attempt is under way: the receiver is still answering
    await stop_cleanly(emulator, caplog)
    [sent] = emulator.state.dispatcher.log.find()  # type: ignore[union-attr]
    assert sent.status == "delivered" and [a.status for a in sent.attempts] == [200]


async def test_stopping_cancels_deliveries_waiting_for_a_retry(receiver: Receiver,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.answer(500)
    emulator = await Emulator(time_scale=1.0).start_async()  # the retry is a second away
    async with ClientSession() as session:
        body = {"provider": "gigapay", "event": "Payout.created", "url": receiver.url, "secret": SECRET}
        async with session.post(emulator.url + "/_emulator/events", json=body) as answer:
            assert answer.status == 202
            [pending] = (await answer.json())["deliveries"]
        async with asyncio.timeout(5):
            while True:
                async with session.get(f"{emulator.url}/_emulator/deliveries/{pending['id']}") as shown:
                    if (await shown.json())["next_attempt_at"]:
                        break
                await asyncio.sleep(0.005)
    await stop_cleanly(emulator, caplog)
    [sent] = emulator.state.dispatcher.log.find()  # type: ignore[union-attr]
    assert [a.status for a in sent.attempts] == [500] and len(receiver.hits) == 1
    # What the log says afterwards: not delivered, no further attempt promised, and why.
    assert sent.status != "delivered" and sent.done.is_set()
    assert sent.next_attempt_at is None and sent.error


async def test_each_firing_finds_the_subscribers_as_they_are_after_every_change(receiver: Receiver,
                                                                             make_api: MakeApi) -> None:
    """Subscribers are looked up in an index the collection keeps until it changes: a webhook that
    changes its events, is added or deleted between two firings is found (or not) accordingly."""
    api = await make_api(**FAST)

    async def receiving() -> list[str]:
        deliveries = await fired(api, provider="gigapay", event="Employee.created")
        return [d["url"].removeprefix(receiver.url) for d in deliveries]

    first = await register(api, "gigapay", receiver.url + "/first", ["Payout.created"])
    assert await receiving() == []
    patched = await api.patch(f"/v2/webhooks/{first['id']}/", json={"events": ["Employee.created"]},
                              headers=AUTH["gigapay"])
    assert patched.status == 200
    assert await receiving() == ["/first"]
    await register(api, "gigapay", receiver.url + "/second", ["Employee.created", "Payout.created"])
    assert await receiving() == ["/first", "/second"]
    assert (await api.delete(f"/v2/webhooks/{first['id']}/", headers=AUTH["gigapay"])).status == 204
    assert await receiving() == ["/second"]
