"""The control API's events and deliveries: firing, the delivery log, redelivery and the JWKs
that sign notifications."""

from __future__ import annotations

from aiohttp import web

from emulator.control.base import ControlError, ControlRoute, body_of, provider_named
from emulator.delivery.firing import BASE64URL, DEFAULT_WAIT_TIMEOUT, FIRE_BODY, rules_problem
from emulator.delivery.records import STATUSES, Delivery
from emulator.delivery.specs import signature_spec
from emulator.delivery.unreached import why_nobody
from emulator.engine.contract import MESSAGE
from emulator.engine.events import EventError
from emulator.engine.provider import Provider
from emulator.engine.responses import json_response
from emulator.state import STATE

# Deliveries in one page of GET /_emulator/deliveries: by default, and at most.
DEFAULT_PAGE = 100


MAX_PAGE = 1000


async def fire_events(request: web.Request) -> web.Response:
    """POST /_emulator/events: fire one event (or several) of a provider at its subscribers, or
    at one `url`; with `"wait": true` answer once every delivery has a final outcome."""
    body = body_of(request)
    provider = provider_named(request, body.get("provider"))
    problem = rules_problem(body, provider)
    if problem:
        raise ControlError("validation", problem)
    dispatcher = request.app[STATE].dispatcher
    names = [body["event"]] if isinstance(body["event"], str) else body["event"]
    try:
        target = None
        if "url" in body:
            target = dispatcher.explicit_target(provider, body["url"], body.get("secret"), body.get("headers"),
                                                body.get("tenant"))
        deliveries = dispatcher.fire(provider, names, body.get("data"), tenant=body.get("tenant"),
                                     scope=body.get("scope"), target=target, mode=body.get("signature", "valid"),
                                     duplicate=int(body.get("duplicate", 0)), delay=float(body.get("delay", 0)),
                                     order=body.get("order"), objects=body.get("objects"))
    except EventError as exc:
        raise ControlError("validation", str(exc)) from None
    complete = None
    if body.get("wait"):
        complete = await dispatcher.wait(deliveries, float(body.get("timeout", DEFAULT_WAIT_TIMEOUT)))
    answer = {"provider": provider.name, "events": names, "deliveries": [d.as_json() for d in deliveries]}
    if not deliveries and "url" not in body:
        answer.update(why_nobody(request.app[STATE], provider, names, body.get("tenant"), body.get("scope")))
    if complete is not None:
        answer["complete"] = complete
    return json_response(request, 200 if body.get("wait") else 202, answer)


async def list_deliveries(request: web.Request) -> web.Response:
    """GET /_emulator/deliveries: the delivery log, filtered by provider, event, status, url,
    tenant or webhook, one page at a time (`limit`, at most MAX_PAGE; `offset`), oldest first
    (`order=newest`: newest first, the offset counted from the newest)."""
    dispatcher = request.app[STATE].dispatcher
    q = request.query
    try:
        limit, offset = int(q.get("limit", DEFAULT_PAGE)), int(q.get("offset", 0))
    except ValueError:
        limit = offset = -1
    if not (1 <= limit <= MAX_PAGE and offset >= 0):
        raise ControlError("validation", f"limit must be a whole number from 1 to {MAX_PAGE}, offset one >= 0")
    order = q.get("order", "oldest")
    if order not in ("oldest", "newest"):
        raise ControlError("validation", "order must be oldest (the default) or newest")
    status = q.get("status")
    if status is not None and status not in STATUSES:
        raise ControlError("validation", f"status must be {', '.join(STATUSES[:-1])} or {STATUSES[-1]}")
    found = dispatcher.log.find(provider=q.get("provider"), event=q.get("event"), status=status,
                                url=q.get("url"), tenant=q.get("tenant"), webhook=q.get("webhook"))
    if order == "newest":
        found.reverse()
    page = [d.as_json() for d in found[offset:offset + limit]]
    return json_response(request, 200, {"deliveries": page, "total": len(found), "offset": offset, "limit": limit,
                                        "order": order, "dropped": dispatcher.log.dropped})


def _delivery(request: web.Request) -> Delivery:
    found = request.app[STATE].dispatcher.log.get(request.match_info["id"])
    if found is None:
        raise ControlError("not_found", f"no delivery {request.match_info['id']!r} in the delivery log")
    return found


async def get_delivery(request: web.Request) -> web.Response:
    found = _delivery(request)
    return json_response(request, 200, found.as_json())


async def redeliver(request: web.Request) -> web.Response:
    """POST /_emulator/deliveries/{id}/redeliver: one more attempt now (same event ids and body)."""
    found = _delivery(request)
    delivery = await request.app[STATE].dispatcher.redeliver(found)
    return json_response(request, 200, delivery.as_json())


def _jwt_provider(request: web.Request) -> Provider:
    provider = provider_named(request, request.match_info["name"])
    if signature_spec(provider).scheme != "jwt":
        raise ControlError("not_found", f"{provider.name} does not sign notifications with a JWK")
    return provider


async def get_jwk(request: web.Request) -> web.Response:
    """GET /_emulator/providers/{name}/jwk: the JWK that signs the provider's notifications."""
    provider = _jwt_provider(request)
    return json_response(request, 200, request.app[STATE].dispatcher.jwk(provider.name))


async def put_jwk(request: web.Request) -> web.Response:
    """PUT /_emulator/providers/{name}/jwk: sign with this JWK (`{"kty": "oct", "kid", "k"}`) from now on."""
    provider = _jwt_provider(request)
    body = body_of(request)
    keys = request.app[STATE].store.jwks
    keys[provider.name] = {"kty": "oct", "kid": body.get("kid", ""), "k": body["k"]}
    return json_response(request, 200, keys[provider.name])


JWK_MESSAGE = 'a JWK is {"kty": "oct", "kid": "...", "k": "<base64url key>"}'
JWK_BODY = {"type": "object", "required": ["kty", "k"], "properties": {
    "kty": {"const": "oct", MESSAGE: JWK_MESSAGE}, "kid": {"type": "string", MESSAGE: JWK_MESSAGE},
    "k": {"type": "string", "pattern": BASE64URL, MESSAGE: JWK_MESSAGE}}}


ROUTES = [
    ControlRoute("POST", "/_emulator/events", fire_events,
                 "Fire an event (or several) at its subscribers, or at one url (200 with wait)", 202, body=FIRE_BODY),
    ControlRoute("GET", "/_emulator/deliveries", list_deliveries, "The delivery log, a page at a time (`limit` 100, "
                 "at most 1000, and `offset`; oldest first, newest first with `order=newest`; the answer says the "
                 "`total`): each delivery with its most recent attempts and the exact `attempt_count`",
                 query=("provider", "event", "status", "url", "tenant", "webhook", "limit", "offset", "order")),
    ControlRoute("GET", "/_emulator/deliveries/{id}", get_delivery, "One delivery with every attempt"),
    ControlRoute("POST", "/_emulator/deliveries/{id}/redeliver", redeliver, "One more attempt of a delivery, now"),
    ControlRoute("GET", "/_emulator/providers/{name}/jwk", get_jwk, "The JWK that signs a provider's notifications "
                 "(the emulator's own `k` is 44 letters and digits: the same 33 bytes under standard and URL-safe "
                 "base64, so a receiver reading it with `base64.b64decode` verifies too)"),
    ControlRoute("PUT", "/_emulator/providers/{name}/jwk", put_jwk, "Replace that JWK", body=JWK_BODY),
]
