"""`notification()` without a server: the exact body and headers a provider's delivery would send,
handed to web frameworks' test clients (Flask's, Starlette's) whose webhook views verify the
signature as a careful consumer does: the genuine notification is accepted, every forgery is not.
The CLI's `notification` command prints the same."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
from typing import Any

import flask
import jwt
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from emulator import Received, Receiver, Settings, create_app, notification
from emulator.engine.clock import SEEDED_EPOCH, Clock

GIGAPAY_SECRET = "c1329a085d65f7757838df5920fdcc9a"
SYNCFY_JWK = {"kty": "oct", "kid": "k1", "k": "a2V5LW9mLXRoaXJ0eS10d28tYnl0ZXMtZm9yLXRlc3Rz"}
TOLERANCE = 300


def flask_app() -> flask.Flask:
    """A Gigapay webhook view as its docs describe the check: `Gigapay-Signature: t=..,v1=..`, the
    HMAC-SHA256 of "t.body" with the webhook's secret, and t within five minutes."""
    app = flask.Flask("payouts")

    @app.post("/webhooks/gigapay")
    def gigapay() -> Any:
        header = flask.request.headers.get("Gigapay-Signature", "")
        parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
        body = flask.request.get_data()
        expected = hmac.new(GIGAPAY_SECRET.encode(), f"{parts.get('t', '')}.".encode() + body,
                            hashlib.sha256).hexdigest()
        fresh = parts.get("t", "").isdigit() and abs(time.time() - int(parts["t"])) <= TOLERANCE
        if not (fresh and hmac.compare_digest(expected, parts.get("v1", ""))):
            return {"error": "bad signature"}, 400
        return {"paid": json.loads(body)["amount"]}, 200

    return app


async def syncfy_endpoint(request: Request) -> Response:
    """A Syncfy webhook endpoint: the request-signature JWT, checked with PyJWT against the JWK,
    must be fresh and cover this body's SHA-256."""
    body = await request.body()
    k = SYNCFY_JWK["k"]  # the key is the base64url (unpadded) of `k`: a real app needs no test tool for it
    key = base64.urlsafe_b64decode(k + "=" * (-len(k) % 4))
    try:
        claims = jwt.decode(request.headers.get("request-signature", ""), key, algorithms=["HS256"])
    except jwt.PyJWTError as exc:
        return JSONResponse({"error": str(exc)}, status_code=401)
    if claims.get("sha256") != hashlib.sha256(body).hexdigest():
        return JSONResponse({"error": "the token does not cover this body"}, status_code=401)
    return JSONResponse({"events": [e["header"]["event"]["name"] for e in json.loads(body)["events"]]})


def starlette_client() -> TestClient:
    return TestClient(Starlette(routes=[Route("/webhooks/syncfy", syncfy_endpoint, methods=["POST"])]))


FORGERIES = ["wrong_secret", "tampered_body", "missing", "stale_timestamp"]


def test_flask_accepts_the_genuine_gigapay_notification() -> None:
    signed = notification("gigapay", "Payout.created", {"amount": "99.00"}, secret=GIGAPAY_SECRET)
    answer = flask_app().test_client().post("/webhooks/gigapay", data=signed.body, headers=signed.headers)
    assert (answer.status_code, answer.json) == (200, {"paid": "99.00"})
    assert signed.headers["Content-Type"] == "application/json" and signed.json["amount"] == "99.00"


@pytest.mark.parametrize("mode", FORGERIES)
def test_flask_rejects_every_forged_gigapay_notification(mode: str) -> None:
    forged = notification("gigapay", "Payout.created", secret=GIGAPAY_SECRET, signature=mode)
    answer = flask_app().test_client().post("/webhooks/gigapay", data=forged.body, headers=forged.headers)
    assert answer.status_code == 400, mode


def test_starlette_accepts_the_genuine_syncfy_notification() -> None:
    signed = notification("syncfy", "credentials.created", secret=SYNCFY_JWK)
    answer = starlette_client().post("/webhooks/syncfy", content=signed.body, headers=signed.headers)
    assert (answer.status_code, answer.json()) == (200, {"events": ["credentials.created"]})


@pytest.mark.parametrize("mode", FORGERIES)
def test_starlette_rejects_every_forged_syncfy_notification(mode: str) -> None:
    forged = notification("syncfy", "credentials.created", secret=SYNCFY_JWK, signature=mode)
    answer = starlette_client().post("/webhooks/syncfy", content=forged.body, headers=forged.headers)
    assert answer.status_code == 401, mode


async def test_the_notification_is_what_a_delivery_sends(aiohttp_client: Any) -> None:
    """The same bytes and headers, signature included, as the emulator's own delivery made at the
    same moment under the same seed: one code path builds both."""
    moment = int(time.time())
    app = create_app(Settings(time_scale=0.001, seed=3), clock=Clock(SEEDED_EPOCH, real=lambda: moment))
    control = await aiohttp_client(app)
    with Receiver() as receiver:
        fired = await control.post("/_emulator/events", json={"provider": "shareactor", "event": "order.created",
                                                              "url": receiver.url_for("/s"), "secret": "s"})
        assert fired.status == 202, await fired.text()
        [sent] = await receiver.wait_for_async()
    built = notification("shareactor", "order.created", secret="s", seed=3, timestamp=moment)
    assert built.body == sent.body
    assert built.headers == {k: v for k, v in sent.headers.items() if k in built.headers}
    assert Receiver().verify("shareactor", sent, "s")


def test_a_fresh_secret_is_made_and_returned_when_none_is_given() -> None:
    made = notification("gigapay", "Payout.created")
    assert isinstance(made.secret, str) and len(made.secret) >= 16
    assert Receiver().verify("gigapay", Received(made.method, "/", made.headers, made.body), made.secret)


def test_custom_headers_and_an_unsigned_provider() -> None:
    made = notification("paybook", "refresh", headers={"X-My-Secret": "hush"})
    assert made.headers == {"Content-Type": "application/json", "User-Agent": made.headers["User-Agent"],
                            "X-My-Secret": "hush"}  # Paybook signs nothing
    assert made.secret is None and made.event == "refresh" and made.provider == "paybook"


@pytest.mark.parametrize(("call", "message"), [
    ({"provider": "nope", "event": "x"}, "no provider named 'nope'; the providers are centry, gigapay"),
    ({"provider": "gigapay", "event": "Xyzzy"}, "gigapay has no event 'Xyzzy' (its events: "),
    ({"provider": "gigapay", "event": "Payout.created", "signature": "odd"}, "signature must be one of valid, "),
    ({"provider": "syncfy", "event": "credentials.created", "secret": "text"}, "secret must be a JWK object"),
    ({"provider": "gigapay", "event": "Payout.created", "data": [1]}, "data must be an object"),
    ({"provider": "shareactor", "event": "order.created", "signature": "stale_timestamp"},
     "signature stale_timestamp does not apply: shareactor's signature has no timestamp (its forgeries: "
     "wrong_secret, tampered_body, missing)"),
    ({"provider": "paybook", "event": "refresh", "signature": "wrong_secret"},
     "signature wrong_secret does not apply: paybook signs nothing (only valid does)"),
])
def test_bad_options_say_what_is_wrong(call: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        notification(**call)


def test_the_cli_prints_the_request_or_json() -> None:
    run = [sys.executable, "-m", "emulator", "notification", "gigapay", "Payout.created", "--secret", GIGAPAY_SECRET,
           "--data", '{"amount": "5.00"}']
    printed = subprocess.run(run, capture_output=True, timeout=60)
    assert printed.returncode == 0, printed.stderr
    head, _, body = printed.stdout.partition(b"\n\n")
    headers = dict(line.split(": ", 1) for line in head.decode().splitlines())
    assert list(headers) == ["Content-Type", "User-Agent", "Gigapay-Signature"]
    answer = flask_app().test_client().post("/webhooks/gigapay", data=body.removesuffix(b"\n"), headers=headers)
    assert (answer.status_code, answer.json) == (200, {"paid": "5.00"})
    as_json = subprocess.run([*run, "--json", "--signature", "tampered_body"], capture_output=True, timeout=60)
    document = json.loads(as_json.stdout)
    assert document["signature"] == "tampered_body" and document["secret"] == GIGAPAY_SECRET
    forged = flask_app().test_client().post("/webhooks/gigapay", data=document["body"].encode(),
                                            headers=document["headers"])
    assert forged.status_code == 400


def test_the_cli_shows_a_fresh_secret_and_refuses_bad_input_in_one_line() -> None:
    fresh = subprocess.run([sys.executable, "-m", "emulator", "notification", "syncfy", "credentials.created"],
                           capture_output=True, text=True, timeout=60)
    assert fresh.returncode == 0
    assert json.loads(fresh.stderr.removeprefix("secret: "))["kty"] == "oct"
    bad = subprocess.run([sys.executable, "-m", "emulator", "notification", "gigapay", "Payout.created", "--data",
                          "{bad"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith("webhook-emulator: --data and --secret must be valid JSON")
    assert len(bad.stderr.splitlines()) == 1

