"""Signature schemes for notifications: templated HMAC-SHA256 (a hex digest of the body, or
Stripe-like `t=...,v1=...` headers) and HS256 JWTs keyed by a JWK. Each signs the exact bytes sent.

A fixture's `delivery.signature` picks the scheme and its templates; `mode` lets a user ask for
a deliberately wrong signature to test their verifier, and `verify` is the receiver's side.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emulator.engine.model import Signature
from emulator.engine.render import fill

STALE_SECONDS = 3600


@dataclass
class Signed:
    """What goes on the wire: the body bytes and the signature headers."""

    body: bytes
    headers: dict[str, str]


def jwk_key(jwk: dict[str, Any]) -> bytes:
    """The key bytes of a symmetric JWK: base64url-decode of `k`."""
    k = jwk["k"]
    return base64.urlsafe_b64decode(k + "=" * (-len(k) % 4))


# Letters and digits only, a multiple of 4 long: the same bytes under standard and URL-safe base64,
# with or without padding checks (a receiver that reads the key with `base64.b64decode` gets them too).
PORTABLE_K_LENGTH = 44


def portable_jwk(k: str, kid: str) -> dict[str, str]:
    """A symmetric JWK whose `k` is `k`: meant for PORTABLE_K_LENGTH letters and digits, text
    whose standard and URL-safe base64 decodings are the same bytes (33 of them)."""
    return {"kty": "oct", "kid": kid, "k": k}


def forgeries(signature: Signature) -> list[tuple[str, str]]:
    """(signing mode, what it is) for each forgery that applies to a signature scheme."""
    jwt = signature.scheme == "jwt"
    found = [("wrong_secret", "signed with the wrong key" if jwt else "signed with the wrong secret"),
             ("tampered_body", "body changed after signing"),
             ("missing", "no signature")]
    templates = signature.message + signature.value
    if jwt:
        found.append(("stale_timestamp", "expired token"))
    elif "{timestamp}" in templates:
        found.append(("stale_timestamp", "timestamp an hour old"))
    return found


def _hmac_hex(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def sign(spec: Signature | None, body: bytes, secret: Any, timestamp: int, rid: str,
         mode: str = "valid") -> Signed:
    """Sign `body` as `spec` says. `secret` is text for HMAC schemes and a JWK for `jwt`."""
    if spec is None or spec.scheme == "none" or mode == "missing":
        return Signed(body, {})
    if mode == "stale_timestamp":
        timestamp -= STALE_SECONDS
    sent = body + b" " if mode == "tampered_body" else body
    values = {"timestamp": str(timestamp), "rid": rid, "body_sha256": hashlib.sha256(body).hexdigest()}
    if spec.scheme == "hmac-sha256":
        key = str(secret).encode()
        if mode == "wrong_secret":
            key = b"not-" + key
        message = fill(spec.message, {**values, "body": "\0BODY\0"}).encode()
        message = message.replace(b"\0BODY\0", body)
        value = fill(spec.value, {**values, "digest": _hmac_hex(key, message)})
        return Signed(sent, {str(spec.header): value})
    if spec.scheme == "jwt":
        key = jwk_key(secret)
        if mode == "wrong_secret":
            key = b"not-" + key
        claims = fill(spec.claims, {**values, "timestamp": timestamp, "expires": timestamp + spec.ttl})
        import jwt

        kid = secret.get("kid")
        token = jwt.encode(claims, key, algorithm="HS256", headers={"kid": kid} if isinstance(kid, str) else None)
        return Signed(sent, {str(spec.header): token})
    raise ValueError(f"unknown signature scheme {spec.scheme!r}")


def _value_pattern(template: str) -> re.Pattern[str]:
    """`t={timestamp},v1={digest}` -> a regex capturing each placeholder."""
    parts = re.split(r"\{(\w+)\}", template)
    return re.compile("".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts)) + "$")


def verify(spec: Signature | None, body: bytes, headers: Mapping[str, str], secret: Any, now: int,
           tolerance: int = 300) -> bool:
    """Whether a received notification carries a valid, fresh signature under `spec` (what a
    careful receiver checks). A provider that does not sign verifies everything."""
    if spec is None or spec.scheme == "none":
        return True
    header = next((v for k, v in headers.items() if k.lower() == str(spec.header).lower()), None)
    if header is None:
        return False
    if spec.scheme == "jwt":
        import jwt

        try:  # times are checked against `now` below, not the machine's clock
            claims = jwt.decode(header, jwk_key(secret), algorithms=["HS256"],
                                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False})
        except jwt.PyJWTError:
            return False
        fresh = claims.get("exp", now) + tolerance >= now >= claims.get("nbf", now) - tolerance
        # The claims the fixture fills with the body's digest must hold this body's.
        digest = hashlib.sha256(body).hexdigest()
        covered = all(claims.get(name) == digest for name, template in spec.claims.items()
                      if template == "{body_sha256}")
        return fresh and covered
    found = _value_pattern(spec.value).match(header)
    if found is None:
        return False
    timestamp = found.groupdict().get("timestamp")
    if timestamp is not None and (not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance):
        return False
    expected = sign(spec, body, secret, int(timestamp or 0), "").headers[str(spec.header)]
    return hmac.compare_digest(expected, header)
