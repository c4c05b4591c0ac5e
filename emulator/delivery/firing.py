"""What a firing (`POST /_emulator/events`, `notification()`) may ask for: its body's schema and checks."""

from __future__ import annotations

import re
from typing import Any

from emulator.delivery.specs import signature_spec
from emulator.engine.formats import is_header_name, is_header_value, is_http_url
from emulator.engine.provider import Provider
from emulator.vocabulary import MODES, ORDERS

FIRE_FIELDS = ("provider", "event", "data", "tenant", "scope", "url", "secret", "headers", "signature",
               "wait", "timeout", "duplicate", "delay", "order")


DEFAULT_WAIT_TIMEOUT = 30.0

# Bounds of a firing's numbers: what a test could want, and no more (nothing overflows or piles up).
MAX_WAIT = 3600


MAX_DUPLICATES = 100


MAX_DELAY = 30 * 24 * 3600


def fire_problem(body: dict[str, Any], provider: Provider) -> str | None:
    """What is wrong with a POST /_emulator/events body beyond its provider, or None."""
    unknown = sorted(set(body) - set(FIRE_FIELDS))
    event = body.get("event")
    signature = signature_spec(provider)
    secret = body.get("secret")
    headers = body.get("headers")
    timeout = body.get("timeout", DEFAULT_WAIT_TIMEOUT)
    checks = [
        (unknown, f"unknown field(s) {', '.join(unknown)}; the fields are {', '.join(FIRE_FIELDS)}"),
        (not (isinstance(event, str) and event) and not (isinstance(event, list) and event
                                                         and all(isinstance(e, str) for e in event)),
         "event is required: an event name or a non-empty list of names"),
        (not isinstance(body.get("data", {}), dict), "data must be an object (merged into the payload)"),
        (any(not isinstance(body.get(k, ""), str) for k in ("tenant", "scope")), "tenant and scope must be strings"),
        ("url" in body and not (isinstance(body["url"], str) and is_http_url(body["url"])),
         "url must be an absolute http(s) URL"),
        ("secret" in body and "url" not in body, "secret applies only with url"),
        (secret is not None and signature.scheme == "jwt"
         and not (isinstance(secret, dict) and _base64url(secret.get("k")) and isinstance(secret.get("kid", ""), str)),
         "secret must be a JWK object with a base64url 'k' member (and a string 'kid') for this provider"),
        (secret is not None and signature.scheme != "jwt" and not isinstance(secret, str),
         "secret must be a string"),
        (headers is not None and not (isinstance(headers, dict) and all(
            is_header_name(k) and isinstance(v, str) and is_header_value(v) for k, v in headers.items())),
         "headers must be an object of header names and values (strings without control characters), none of "
         "them one that frames or routes the request (Content-Length, Transfer-Encoding, Host, Connection...)"),
        (body.get("signature", "valid") not in MODES, "signature must be one of " + ", ".join(MODES)),
        (not isinstance(body.get("wait", False), bool), "wait must be true or false"),
        (isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= MAX_WAIT,
         f"timeout must be a number of seconds > 0 and <= {MAX_WAIT}"),
        *_misbehaviour_problems(body),
    ]
    return next((message for failed, message in checks if failed), None)


def _misbehaviour_problems(body: dict[str, Any]) -> list[tuple[bool, str]]:
    """Checks of the fields that make a firing misbehave on purpose: duplicate, delay, order."""
    duplicate, delay = body.get("duplicate", False), body.get("delay", 0)
    return [
        (not isinstance(duplicate, bool) and not (isinstance(duplicate, int) and 0 <= duplicate <= MAX_DUPLICATES),
         f"duplicate must be true, false or a number of extra copies from 0 to {MAX_DUPLICATES}"),
        (isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= MAX_DELAY,
         f"delay must be a number of seconds from 0 to {MAX_DELAY}"),
        (body.get("order", ORDERS[0]) not in ORDERS, "order must be one of " + ", ".join(ORDERS)),
    ]


def _base64url(value: Any) -> bool:
    """A non-empty base64url text that decodes (a JWK's `k`)."""
    return isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_-]+={0,2}", value) is not None \
        and len(value.rstrip("=")) % 4 != 1


# Request bodies of the control API, as the OpenAPI document describes them.
STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}


FIRE_BODY = {
    "type": "object", "required": ["provider", "event"], "additionalProperties": False,
    "properties": {
        "provider": {"type": "string"},
        "event": {"oneOf": [{"type": "string", "minLength": 1},
                            {"type": "array", "minItems": 1, "items": {"type": "string"}}]},
        "data": {"type": "object"}, "tenant": {"type": "string"}, "scope": {"type": "string"},
        "url": {"type": "string", "format": "uri"}, "secret": {"type": ["string", "object"]}, "headers": STRINGS,
        "signature": {"enum": list(MODES)}, "wait": {"type": "boolean"},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_WAIT},
        "duplicate": {"type": ["boolean", "integer"], "minimum": 0, "maximum": MAX_DUPLICATES},
        "delay": {"type": "number", "minimum": 0, "maximum": MAX_DELAY}, "order": {"enum": list(ORDERS)},
    },
}
