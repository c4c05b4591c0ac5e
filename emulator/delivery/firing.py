"""What a firing (`POST /_emulator/events`, `notification()`) may ask for: its body's schema, the one
contract of its fields (published in the OpenAPI document, checked by the control API's call
wrapper), and the rules between fields that a schema does not say."""

from __future__ import annotations

import re
from typing import Any

from emulator.delivery.signing import forgeries
from emulator.delivery.specs import signature_spec
from emulator.engine.contract import MESSAGE, Contract
from emulator.engine.provider import Provider
from emulator.vocabulary import MODES, ORDERS

DEFAULT_WAIT_TIMEOUT = 30.0
# Bounds of a firing's numbers: what a test could want, and no more (nothing overflows or piles up).
MAX_WAIT = 3600
MAX_DUPLICATES = 100
MAX_DELAY = 30 * 24 * 3600
# A JWK's `k`: base64url that decodes (no length of 1 modulo 4), padding allowed.
BASE64URL_TEXT = r"(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{4}|[A-Za-z0-9_-]{2,3})={0,2}"
BASE64URL = f"^{BASE64URL_TEXT}$(?!\\n)"  # (the lookahead: Python's `$` would also match before a final newline)

# The fields a firing's target takes (the consumer audit takes them too).
TARGET_FIELDS: dict[str, Any] = {
    "tenant": {"type": "string", MESSAGE: "tenant and scope must be strings"},
    "url": {"type": "string", "format": "http-url", MESSAGE: "url must be an absolute http(s) URL"},
    "secret": {"type": ["string", "object", "null"],
               MESSAGE: "secret must be a string, or a JWK object for a provider that signs with JWTs"},
    "headers": {"type": ["object", "null"], "propertyNames": {"format": "header-name"},
                "additionalProperties": {"type": "string", "format": "header-value"},
                MESSAGE: "headers must be an object of header names and values (strings without control "
                         "characters), none of them one that frames or routes the request (Content-Length, "
                         "Transfer-Encoding, Host, Connection...)"},
}
PROVIDER_FIELD = {"type": "string", "minLength": 1, MESSAGE: "provider must name one of {providers}"}
FIRE_BODY: dict[str, Any] = {
    "type": "object", "required": ["provider", "event"], "additionalProperties": False,
    "properties": {
        "provider": PROVIDER_FIELD,
        "event": {"oneOf": [{"type": "string", "minLength": 1},
                            {"type": "array", "minItems": 1, "items": {"type": "string"}}],
                  MESSAGE: "event is required: an event name or a non-empty list of names"},
        "data": {"type": "object", MESSAGE: "data must be an object (merged into the payload)"},
        "objects": {"type": "object", "additionalProperties": {"type": "object"},
                    MESSAGE: "objects must map object kinds to objects, laid over the objects the events are about"},
        "tenant": TARGET_FIELDS["tenant"],
        "scope": {"type": "string", MESSAGE: "tenant and scope must be strings"},
        "url": TARGET_FIELDS["url"], "secret": TARGET_FIELDS["secret"], "headers": TARGET_FIELDS["headers"],
        "signature": {"enum": list(MODES), MESSAGE: "signature must be one of " + ", ".join(MODES)},
        "wait": {"type": "boolean", MESSAGE: "wait must be true or false"},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_WAIT,
                    MESSAGE: f"timeout must be a number of seconds > 0 and <= {MAX_WAIT}"},
        "duplicate": {"type": ["boolean", "integer"], "minimum": 0, "maximum": MAX_DUPLICATES,
                      MESSAGE: f"duplicate must be true, false or a number of extra copies from 0 to {MAX_DUPLICATES}"},
        "delay": {"type": "number", "minimum": 0, "maximum": MAX_DELAY,
                  MESSAGE: f"delay must be a number of seconds from 0 to {MAX_DELAY}"},
        "order": {"enum": list(ORDERS), MESSAGE: "order must be one of " + ", ".join(ORDERS)},
    },
}
FIRE_CONTRACT = Contract(FIRE_BODY)


def fire_problem(body: dict[str, Any], provider: Provider) -> str | None:
    """What is wrong with a firing's fields (`body`, for `provider`), or None: its schema, then
    the rules between its fields."""
    return FIRE_CONTRACT.problem(body, {"providers": provider.name}) or rules_problem(body, provider)


def rules_problem(body: dict[str, Any], provider: Provider) -> str | None:
    """What is wrong with a firing beyond its schema (its secret, its objects' kinds), or None."""
    return secret_problem(body, provider) or signature_problem(body, provider) or objects_problem(body, provider)


def signature_problem(body: dict[str, Any], provider: Provider) -> str | None:
    """A forgery the provider's signing scheme cannot have (a stale timestamp where nothing is
    timed, any forgery where nothing is signed): the notification would go out genuine under a
    forgery's name."""
    mode = body.get("signature", "valid")
    if mode == "valid" or not isinstance(mode, str):
        return None
    spec = signature_spec(provider)
    if spec.scheme == "none":
        return f"signature {mode} does not apply: {provider.name} signs nothing (only valid does)"
    applies = [m for m, _ in forgeries(spec)]
    if mode not in applies:
        return (f"signature {mode} does not apply: {provider.name}'s signature has no timestamp "
                f"(its forgeries: {', '.join(applies)})")
    return None


def objects_problem(body: dict[str, Any], provider: Provider) -> str | None:
    """What is wrong with a firing's `objects` beyond its schema (each names one of the provider's
    object kinds), or None."""
    objects, kinds = body.get("objects", {}), provider.objects.kinds if provider.objects else {}
    if isinstance(objects, dict) and all(k in kinds and isinstance(v, dict) for k, v in objects.items()):
        return None
    return ("objects must map object kinds (" + ", ".join(kinds) +
            ") to objects, laid over the objects the events are about")


def secret_problem(body: dict[str, Any], provider: Provider) -> str | None:
    """What is wrong with a firing's `secret` beyond its schema (it goes with a url, and its kind
    is the provider's signing scheme's), or None."""
    secret = body.get("secret")
    jwt = signature_spec(provider).scheme == "jwt"
    checks = [
        ("secret" in body and "url" not in body, "secret applies only with url"),
        (secret is not None and jwt
         and not (isinstance(secret, dict) and _base64url(secret.get("k")) and isinstance(secret.get("kid", ""), str)),
         "secret must be a JWK object with a base64url 'k' member (and a string 'kid') for this provider"),
        (secret is not None and not jwt and not isinstance(secret, str), "secret must be a string"),
    ]
    return next((message for failed, message in checks if failed), None)


def _base64url(value: Any) -> bool:
    """A non-empty base64url text that decodes (a JWK's `k`)."""
    return isinstance(value, str) and re.fullmatch(BASE64URL_TEXT, value) is not None
