"""The test receiver's own checks, directly: `verify` accepts exactly the notifications a careful
consumer of each provider accepts, and the receiver answers as scripted."""

from __future__ import annotations

import base64
import http.client
from typing import Any

import jwt
import pytest
import requests

from emulator import Emulator, notification
from emulator.receiver import Received, Receiver

SIGNED = ["shareactor", "gigapay", "syncfy"]
EVENT = {"shareactor": "order.created", "gigapay": "Payout.created", "syncfy": "credentials.created",
         "paybook": "refresh", "centry": "on_product_save"}


def received(emulator: Emulator, receiver: Receiver, provider: str, signature: str = "valid") -> tuple[Received, Any]:
    """Fire one event of `provider` at the receiver; what arrived, and the secret it was signed for."""
    [delivery] = emulator.client.fire(provider, EVENT[provider], url=receiver.url_for("/hook"), signature=signature,
                                      wait=True)
    assert delivery["status"] == "delivered"
    [got] = receiver.received
    return got, delivery["secret"]


@pytest.mark.parametrize("provider", SIGNED)
def test_verify_accepts_a_valid_signature(emulator: Emulator, receiver: Receiver, provider: str) -> None:
    got, secret = received(emulator, receiver, provider)
    assert receiver.verify(provider, got, secret)


@pytest.mark.parametrize(("provider", "mode"), [
    (provider, mode) for provider in SIGNED for mode in ("wrong_secret", "tampered_body", "missing", "stale_timestamp")
    if (provider, mode) != ("shareactor", "stale_timestamp")])  # (its signature has no time: that firing is refused)
def test_verify_rejects_every_forgery(emulator: Emulator, receiver: Receiver, provider: str, mode: str) -> None:
    got, secret = received(emulator, receiver, provider, mode)
    assert not receiver.verify(provider, got, secret)


@pytest.mark.parametrize("provider", SIGNED)
def test_verify_rejects_another_secret_and_an_edited_body(emulator: Emulator, receiver: Receiver,
                                                          provider: str) -> None:
    got, secret = received(emulator, receiver, provider)
    other = {**secret, "k": "YW5vdGhlci1rZXktb2YtdGhpcnR5LXR3by1ieXRlcyE"} if isinstance(secret, dict) else secret + "x"
    assert not receiver.verify(provider, got, other)
    edited = Received(got.method, got.path, got.headers, got.body.replace(b"{", b"{ ", 1))
    assert not receiver.verify(provider, edited, secret)


@pytest.mark.parametrize("provider", ["paybook", "centry"])
def test_unsigned_providers_verify_everything(emulator: Emulator, receiver: Receiver, provider: str) -> None:
    got, _ = received(emulator, receiver, provider)
    assert receiver.verify(provider, got, None)


def test_scripted_answers_then_the_default_status() -> None:
    with Receiver(status=204) as receiver:
        receiver.respond_with(500, (503, 0.01))
        statuses = [requests.post(receiver.url_for("/x"), data=b"{}", timeout=10).status_code for _ in range(3)]
    assert statuses == [500, 503, 204]


def test_decide_answers_each_unscripted_request_by_what_it_carries() -> None:
    """A consumer that verifies: 200 for a notification signed with its secret, 401 for a forgery
    (decide may answer (status, delay) too); a scripted answer still comes first."""
    signed = notification("shareactor", "order.created", secret="s")
    forged = notification("shareactor", "order.created", secret="s", signature="wrong_secret")
    with Receiver() as receiver:
        receiver.decide = lambda got: 200 if receiver.verify("shareactor", got, "s") else (401, 0.01)
        receiver.respond_with(503)
        statuses = [requests.post(receiver.url_for("/hook"), data=sent.body, headers=sent.headers, timeout=10)
                    .status_code for sent in (signed, signed, forged)]
    assert statuses == [503, 200, 401]


def test_a_jwt_without_the_body_digest_claim_is_rejected(emulator: Emulator, receiver: Receiver) -> None:
    """Syncfy's fixture puts the body's SHA-256 in a claim: a token that leaves it out covers no body."""
    got, jwk = received(emulator, receiver, "syncfy")
    claims = jwt.decode(got.headers["request-signature"], options={"verify_signature": False})
    del claims["sha256"]
    key = base64.urlsafe_b64decode(jwk["k"] + "=" * (-len(jwk["k"]) % 4))
    forged = jwt.encode(claims, key, algorithm="HS256", headers={"kid": jwk["kid"]})
    assert not receiver.verify("syncfy", Received(got.method, got.path, {**got.headers, "request-signature": forged},
                                                  got.body), jwk)
    assert receiver.verify("syncfy", got, jwk)


def test_headers_are_looked_up_whatever_their_case(emulator: Emulator, receiver: Receiver) -> None:
    got, secret = received(emulator, receiver, "gigapay")
    assert got.headers["gigapay-signature"] == got.headers["GIGAPAY-SIGNATURE"] == got.headers["Gigapay-Signature"]
    assert got.headers["content-type"] == "application/json"
    made = Received("POST", "/h", {"X-Custom": "1"}, b"{}")  # built by hand from a plain dict
    assert made.headers["x-custom"] == "1" and "X-CUSTOM" in made.headers
    assert receiver.verify("gigapay", Received(got.method, got.path, {k.lower(): v for k, v in got.headers.items()},
                                               got.body), secret)


def test_a_repeated_header_keeps_every_value(receiver: Receiver) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=10)
    connection.putrequest("POST", "/r")
    for value in ("a", "b"):
        connection.putheader("X-Tag", value)
    connection.putheader("Content-Length", "2")
    connection.endheaders(b"{}")
    assert connection.getresponse().status == 200
    connection.close()
    [got] = receiver.wait_for(1)
    assert got.headers.getall("X-TAG") == ["a", "b"]  # type: ignore[attr-defined]


def test_an_advertised_host_goes_in_the_urls_and_local_url_stays_reachable() -> None:
    with Receiver("0.0.0.0", advertised_host="host.docker.internal") as receiver:
        assert receiver.url == f"http://host.docker.internal:{receiver.port}"
        assert receiver.url_for("/h") == f"http://host.docker.internal:{receiver.port}/h"
        assert receiver.local_url == f"http://127.0.0.1:{receiver.port}"
        assert requests.post(receiver.local_url + "/h", data=b"{}", timeout=10).status_code == 200
        assert [r.path for r in receiver.received] == ["/h"]


def test_an_exception_of_decide_answers_500_and_is_raised_by_wait_for() -> None:
    with Receiver(decide=lambda received: 1 // 0) as broken:
        answer = requests.post(broken.url_for("/hook"), data=b"{}", timeout=10)
        assert answer.status_code == 500 and "ZeroDivisionError" in answer.text
        with pytest.raises(ZeroDivisionError):
            broken.wait_for()
        broken.clear()
        assert broken.errors == []


def test_a_pytest_failure_in_on_receive_is_kept_and_raised_by_wait_for() -> None:
    with Receiver(on_receive=lambda received: pytest.fail("the consumer's check failed")) as failing:
        assert requests.post(failing.url_for("/hook"), data=b"{}", timeout=10).status_code == 500
        with pytest.raises(pytest.fail.Exception, match="the consumer's check failed"):
            failing.wait_for()
