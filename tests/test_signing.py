"""The project's signer and verifier against the docs' worked examples (PROVIDERS.md)."""

from __future__ import annotations

import pytest

from emulator.delivery.signing import portable_jwk, sign, verify
from emulator.delivery.specs import signature_spec
from emulator.engine.provider import load_providers

SPECS = {name: signature_spec(p) for name, p in load_providers([]).items()}
SHAREACTOR_BODY = b'{"object":{"_id":{"$oid":"5964a0ead57ba2036750a3b4"},"first_name":"John"}}'
GIGAPAY_BODY = b'{"id":"1847","name":"Albin Lindskog","verified_at":"2019-05-23T11:57:03.742345Z"}'


def test_shareactor_worked_example() -> None:
    signed = sign(SPECS["shareactor"], SHAREACTOR_BODY,
                  "ed06e2f4e7bdb5ee6050695aba5ed3f2725fd3394df22f3a8a0c2856123a", 0, "rid")
    assert signed.headers == {
        "X-Share-Webhook-Signature": "7825b7d30098b886ab6969efdd834ed776cc4d94907468856e7997ffc704bf7a"}
    assert signed.body == SHAREACTOR_BODY


def test_gigapay_worked_example() -> None:
    signed = sign(SPECS["gigapay"], GIGAPAY_BODY, "c1329a085d65f7757838df5920fdcc9a", 1583327301, "rid")
    assert signed.headers == {"Gigapay-Signature": "t=1583327301,v1=1574ee6d08d1b6148e756d23dbbc1880ea8dd382afebd3e337"
                                                   "e8a56df8d02b7f"}


@pytest.mark.parametrize("provider", ["paybook", "centry"])
def test_unsigned_providers_add_no_header(provider: str) -> None:
    assert sign(SPECS[provider], b"{}", None, 0, "rid").headers == {}


@pytest.mark.parametrize(("provider", "secret"), [
    ("gigapay", "c1329a085d65f7757838df5920fdcc9a"),
    ("shareactor", "s"),
    ("syncfy", portable_jwk("k" * 44, "kid")),
])
def test_verify_accepts_valid_and_rejects_every_negative_mode(provider: str, secret: object) -> None:
    assert verifies(provider, secret, "valid")
    for mode in ("wrong_secret", "tampered_body", "missing"):
        assert not verifies(provider, secret, mode), mode
    if provider != "shareactor":  # ShareActor's signature carries no time
        assert not verifies(provider, secret, "stale_timestamp")


def verifies(provider: str, secret: object, mode: str, now: int = 1_700_000_000) -> bool:
    """Sign a body in `mode`, then verify what would be sent, as a receiver at `now` would."""
    signed = sign(SPECS[provider], GIGAPAY_BODY, secret, now, "rid", mode)
    return verify(SPECS[provider], signed.body, signed.headers, secret, now)

