"""Helpers for tests that watch real deliveries, shared by the provider files here and by
tests/test_delivery.py, test_fire_cli.py, test_audit.py and test_signing.py: the consumers'
verifiers written from PROVIDERS.md (of what the suite's `receiver`, the shipped `webhook_receiver`,
got), webhook registration and firing through the control API, the checks of a notification
against its schemas, and the `fire` CLI run as a subprocess."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

import jwt

from emulator.delivery.specs import signature_spec
from emulator.engine.provider import load_providers
from emulator.receiver import Received, Receiver
from emulator.state import STATE
from tests.conftest import Answer, Api, free_port

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


def signature_valid(provider: str, got: Received, secret: Any) -> bool:
    """Whether `got` passes `provider`'s documented verification with `secret` (text, or a JWK)."""
    if provider == "shareactor":
        sent = got.headers.get("X-Share-Webhook-Signature")
        return sent is not None and hmac.compare_digest(sent, shareactor_signature(secret, got.body))
    if provider == "gigapay":
        return gigapay_valid(got.headers.get("Gigapay-Signature"), secret, got.body)
    if provider == "syncfy":
        token = got.headers.get("request-signature")
        try:
            return token is not None and bool(syncfy_claims(token, jwk_key_bytes(secret), got.body))
        except jwt.PyJWTError:
            return False
    # Paybook and Centry do not sign: a notification carries no signature header at all.
    return not any(name in got.headers for name in SIGNATURE_HEADERS)


# -- what a receiver got ----------------------------------------------------------------------------

def paths(receiver: Receiver) -> list[str]:
    """The paths of every request the receiver got, sorted."""
    return sorted(got.path for got in receiver.received)


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


def check_notification(api: Api, provider: str, got: Received, events: list[str]) -> Any:
    """The body is JSON, matches the whole-notification schema (where the fixture has one) and
    carries exactly `events`, each payload matching its event's schema. Returns the body."""
    assert got.headers["Content-Type"].startswith("application/json")
    spec = api.app[STATE].providers[provider]
    body = got.json
    assert spec.delivery is not None and spec.events is not None
    errors = schema_errors(api, provider, spec.delivery.schema, body) if spec.delivery.schema else []
    carried = carried_events(provider, body)
    for (name, payload), event in zip(carried, events, strict=True):
        assert name in (event, None)
        errors += schema_errors(api, provider, spec.events.catalogue[event].schema, payload)
    assert not errors, errors
    return body


# -- the `fire` CLI -------------------------------------------------------------------------------------

@dataclass
class Run:
    """What the user saw: exit status, stdout, stderr."""

    code: int
    out: str
    err: str

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        return json.loads(self.out)["deliveries"]


async def fire_cli(*args: str) -> Run:
    """Run `python -m emulator fire ARGS --json` with this environment (awaited: the test's loop
    stays free)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "emulator", "fire", *args, "--json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=dict(os.environ))
    try:
        out, err = await asyncio.wait_for(process.communicate(), 60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


# -- the project's signer (tests/test_signing.py) -------------------------------------------------------

SPECS = {name: signature_spec(p) for name, p in load_providers([]).items()}
GIGAPAY_BODY = b'{"id":"1847","name":"Albin Lindskog","verified_at":"2019-05-23T11:57:03.742345Z"}'
