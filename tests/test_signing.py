"""The project's signer and verifier against the docs' worked examples (PROVIDERS.md)."""

from __future__ import annotations

import pytest

from emulator.delivery.signing import portable_jwk, sign, verify
from tests.providers.conftest import (
    GIGAPAY_BODY,
    SPECS,
)


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

