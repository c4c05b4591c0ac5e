"""The control API under /_emulator/: health, reset, state, the request journal, firing events,
the delivery log and signing keys. JSON in and out."""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from emulator import __version__
from emulator.control.guard import GUARD
from emulator.control.openapi import build_openapi
from emulator.delivery.dispatcher import Delivery, Dispatcher, signature_spec
from emulator.delivery.events import EventError, aliases, catalogue
from emulator.delivery.unreached import why_nobody
from emulator.engine import objects
from emulator.engine.auth import Identity
from emulator.engine.coding import MAX_BODY, decode_body
from emulator.engine.errors import DEFAULT_MESSAGE, DEFAULT_STATUS, ErrorReply, ProviderError, issues_text
from emulator.engine.journal import printable
from emulator.engine.provider import Provider, is_header_name, is_header_value, is_http_url
from emulator.engine.render import fill, render_record
from emulator.engine.resources import ACTIONS, Call
from emulator.engine.responses import json_response
from emulator.engine.state import STATE, EmulatorState
from emulator.engine.validation import MAX_VALUES, parse_json
from emulator.storage import statedoc
from emulator.vocabulary import MODES, ORDERS, did_you_mean

log = logging.getLogger("emulator")
T = TypeVar("T")
FIRE_FIELDS = ("provider", "event", "data", "objects", "tenant", "scope", "url", "secret", "headers", "signature",
               "wait", "timeout", "duplicate", "delay", "order")
DEFAULT_WAIT_TIMEOUT = 30.0
# Bounds of a firing's numbers: what a test could want, and no more (nothing overflows or piles up).
MAX_WAIT = 3600
MAX_DUPLICATES = 100
MAX_DELAY = 30 * 24 * 3600
# A state document may be larger than an API request body.
STATE_MAX_BODY = 64 * 1024 * 1024
STATE_MAX_VALUES = 5_000_000  # a state document holds many webhooks: more values than one API body
# Deliveries in one page of GET /_emulator/deliveries: by default, and at most.
DEFAULT_PAGE = 100
MAX_PAGE = 1000
# The error kind of an aiohttp HTTPException a handler raised.
HTTP_ERROR_KINDS = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def plain_error(error: ProviderError, status: int | None = None) -> ErrorReply:
    """The emulator's own error shape, for the control API and paths no provider owns."""
    status = status or DEFAULT_STATUS.get(error.kind, 400)
    default = fill(DEFAULT_MESSAGE.get(error.kind, "{detail}"), {"detail": ""})
    message = error.detail or issues_text(error.issues) or default
    return ErrorReply(status, {"error": error.kind, "message": message})


def plain_response(request: web.Request, error: ProviderError, status: int | None = None) -> web.Response:
    """`error` in the emulator's own shape (see plain_error), as a response."""
    reply = plain_error(error, status)
    return json_response(request, reply.status, reply.body)


def fail(request: web.Request, kind: str, detail: str) -> web.Response:
    """A control-API error response: `{"error": kind, "message": detail}` with the kind's status."""
    return plain_response(request, ProviderError(kind, detail))


def error_of(exc: Exception) -> tuple[int, ProviderError]:
    """The status and error of an exception that reached a handler: one aiohttp raised (a
    too-large body: its own status and reason; a body that does not decode: 400), or a bug (500,
    named by its type)."""
    if isinstance(exc, web.HTTPException):
        kind = HTTP_ERROR_KINDS.get(exc.status, "internal" if exc.status >= 500 else "validation")
        return exc.status, ProviderError(kind, exc.reason)
    if isinstance(exc, web.RequestPayloadError):  # a body that does not decode (its Content-Encoding)
        reason = getattr(exc.__cause__, "message", None) or "the body cannot be read"
        return 400, ProviderError("malformed_body", reason)
    return 500, ProviderError("internal", type(exc).__name__)


async def within_body_timeout(request: web.Request, reading: Awaitable[T]) -> T:
    """What `reading` (the request's body) gives, in at most the body timeout (no timer when the
    body has all arrived); a 408 ProviderError past it."""
    if request.content.is_eof():
        return await reading
    seconds = request.app[STATE].settings.body_timeout
    try:
        async with asyncio.timeout(seconds):
            return await reading
    except TimeoutError:
        raise ProviderError("request_timeout", f"the body did not arrive within {seconds:g} s", status=408) from None


async def read_json_object(request: web.Request, max_bytes: int | None = None,
                           max_values: int = MAX_VALUES) -> dict[str, Any] | web.Response:
    """The control request's JSON object body ({} when empty), or the error response: 400 for
    what is not a usable JSON object, 413 past the size limit (the app's 1 MiB, or `max_bytes`
    for a route that takes larger documents, read no further than that), 408 past the body timeout."""
    try:
        raw = await within_body_timeout(request, request.read() if max_bytes is None
                                        else _read_at_most(request, max_bytes))
        if raw is not None:
            raw = decode_body(request.headers.get("Content-Encoding"), raw, max_bytes or MAX_BODY)
    except ProviderError as error:
        return plain_response(request, error, error.status)
    if raw is None:
        return fail(request, "payload_too_large", f"the body is larger than {max_bytes} bytes")
    if not raw.strip():
        return {}
    try:
        body = parse_json(raw, max_values)
    except ProviderError as error:
        if error.kind == "payload_too_large":
            return fail(request, error.kind, error.detail)
        return fail(request, "malformed_body", f"the body is not valid JSON: {error.detail}")
    if not isinstance(body, dict):
        return fail(request, "validation", "the body must be a JSON object")
    return body


async def _read_at_most(request: web.Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to be longer than `limit` bytes."""
    if (request.content_length or 0) > limit:
        return None
    chunks, size = [], 0
    while chunk := await request.content.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def health(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return json_response(request, 200, {"status": "ok", "version": __version__, "providers": sorted(state.providers),
                                        "seed": state.settings.seed, "time_scale": state.settings.time_scale})


async def reset(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    if isinstance(body, web.Response):
        return body
    state = request.app[STATE]
    provider = body.get("provider") or request.query.get("provider")
    if provider is not None:
        found = provider_named(request, provider)
        if isinstance(found, web.Response):
            return found
    # Written before anything else forgets: a reset the file cannot take leaves memory (the
    # delivery log too) as it was, and the call answers 500.
    state.reset_store(provider)
    state.store.commit()
    state.forget(provider)
    return json_response(request, 200, {"reset": provider or "all"})


def dump_state(state: EmulatorState, provider_filter: str | None = None) -> dict[str, Any]:
    """Every provider's tenants and their records, rendered as the provider renders them."""
    result: dict[str, Any] = {}
    for name, provider in state.providers.items():
        if provider_filter and name != provider_filter:
            continue
        tenants = {}
        for tenant, collection in state.store.provider_collections(name):
            view = provider.views["default"]
            tenants[tenant] = {
                "ref": collection.ref,
                "records": [render_record(view, r, collection.ref) for r in collection.records.values()],
                "deleted": [render_record(view, r, collection.ref) for r in collection.removed.values()],
            }
        result[name] = {"tenants": tenants}
        pointed_to = objects.dump(provider, state) if provider.objects is not None else {}
        if pointed_to:  # what its notifications point to, by tenant and kind
            result[name]["objects"] = pointed_to
    return result


async def state_dump(request: web.Request) -> web.Response:
    provider = request.query.get("provider")
    if provider is not None:
        found = provider_named(request, provider)
        if isinstance(found, web.Response):
            return found
    return json_response(request, 200, dump_state(request.app[STATE], provider))


async def requests_journal(request: web.Request) -> web.Response:
    state = request.app[STATE]
    q = request.query
    entries = state.journal.entries(provider=q.get("provider"), tenant=q.get("tenant"),
                                    method=q.get("method"), status=q.get("status"))
    return json_response(request, 200, {"requests": entries, "dropped": state.journal.dropped})


def _dispatcher(request: web.Request) -> Dispatcher:
    dispatcher = request.app[STATE].dispatcher
    assert dispatcher is not None, "the dispatcher starts with the app"
    return dispatcher


def provider_named(request: web.Request, name: Any) -> Provider | web.Response:
    """The provider `name` names, or the error response that says why there is none."""
    if not isinstance(name, str) or not name:
        return fail(request, "validation", "provider must name one of " + ", ".join(request.app[STATE].providers))
    provider = request.app[STATE].providers.get(name)
    if provider is None:
        known = ", ".join(sorted(request.app[STATE].providers))
        hint = did_you_mean(name, request.app[STATE].providers)
        return fail(request, "not_found", f"no provider named {name!r}{hint}; the providers are {known}")
    return provider


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
        (not _objects_ok(body.get("objects", {}), provider),
         "objects must map object kinds (" + ", ".join(provider.objects.kinds if provider.objects else ()) +
         ") to objects, laid over the objects the events are about"),
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


def _objects_ok(objects: Any, provider: Provider) -> bool:
    kinds = provider.objects.kinds if provider.objects else {}
    return isinstance(objects, dict) and all(k in kinds and isinstance(v, dict) for k, v in objects.items())


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


async def fire_events(request: web.Request) -> web.Response:
    """POST /_emulator/events: fire one event (or several) of a provider at its subscribers, or
    at one `url`; with `"wait": true` answer once every delivery has a final outcome."""
    body = await read_json_object(request)
    if isinstance(body, web.Response):
        return body
    provider = provider_named(request, body.get("provider"))
    if isinstance(provider, web.Response):
        return provider
    problem = fire_problem(body, provider)
    if problem:
        return fail(request, "validation", problem)
    dispatcher = _dispatcher(request)
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
        return fail(request, "validation", str(exc))
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
    dispatcher = _dispatcher(request)
    q = request.query
    try:
        limit, offset = int(q.get("limit", DEFAULT_PAGE)), int(q.get("offset", 0))
    except ValueError:
        limit = offset = -1
    if not (1 <= limit <= MAX_PAGE and offset >= 0):
        return fail(request, "validation", f"limit must be a whole number from 1 to {MAX_PAGE}, offset one >= 0")
    order = q.get("order", "oldest")
    if order not in ("oldest", "newest"):
        return fail(request, "validation", "order must be oldest (the default) or newest")
    found = dispatcher.log.find(provider=q.get("provider"), event=q.get("event"), status=q.get("status"),
                                url=q.get("url"), tenant=q.get("tenant"), webhook=q.get("webhook"))
    if order == "newest":
        found.reverse()
    page = [d.as_json() for d in found[offset:offset + limit]]
    return json_response(request, 200, {"deliveries": page, "total": len(found), "offset": offset, "limit": limit,
                                        "order": order, "dropped": dispatcher.log.dropped})


def _delivery(request: web.Request) -> Delivery | web.Response:
    found = _dispatcher(request).log.get(request.match_info["id"])
    if found is None:
        return fail(request, "not_found", f"no delivery {request.match_info['id']!r} in the delivery log")
    return found


async def get_delivery(request: web.Request) -> web.Response:
    found = _delivery(request)
    return found if isinstance(found, web.Response) else json_response(request, 200, found.as_json())


async def redeliver(request: web.Request) -> web.Response:
    """POST /_emulator/deliveries/{id}/redeliver: one more attempt now (same event ids and body)."""
    found = _delivery(request)
    if isinstance(found, web.Response):
        return found
    delivery = await _dispatcher(request).redeliver(found)
    return json_response(request, 200, delivery.as_json())


def _jwt_provider(request: web.Request) -> Provider | web.Response:
    provider = provider_named(request, request.match_info["name"])
    if isinstance(provider, web.Response):
        return provider
    if signature_spec(provider).scheme != "jwt":
        return fail(request, "not_found", f"{provider.name} does not sign notifications with a JWK")
    return provider


async def get_jwk(request: web.Request) -> web.Response:
    """GET /_emulator/providers/{name}/jwk: the JWK that signs the provider's notifications."""
    provider = _jwt_provider(request)
    if isinstance(provider, web.Response):
        return provider
    return json_response(request, 200, _dispatcher(request).jwk(provider.name))


async def put_jwk(request: web.Request) -> web.Response:
    """PUT /_emulator/providers/{name}/jwk: sign with this JWK (`{"kty": "oct", "kid", "k"}`) from now on."""
    provider = _jwt_provider(request)
    if isinstance(provider, web.Response):
        return provider
    body = await read_json_object(request)
    if isinstance(body, web.Response):
        return body
    k, kid = body.get("k"), body.get("kid", "")
    if body.get("kty") != "oct" or not isinstance(k, str) or not _base64url(k) or not isinstance(kid, str):
        return fail(request, "validation", 'a JWK is {"kty": "oct", "kid": "...", "k": "<base64url key>"}')
    _dispatcher(request).keys[provider.name] = {"kty": "oct", "kid": kid, "k": k}
    return json_response(request, 200, _dispatcher(request).keys[provider.name])


async def list_providers(request: web.Request) -> web.Response:
    """GET /_emulator/providers: every provider with its routes and events."""
    providers = request.app[STATE].providers.values()
    return json_response(request, 200, {"providers": [describe_provider(p) for p in providers],
                                        "signature_modes": list(MODES), "orders": list(ORDERS)})


def describe_provider(provider: Provider) -> dict[str, Any]:
    """A provider's name, title, routes and events, as the control API and the CLI list them."""
    return {
        "name": provider.name,
        "title": provider.title,
        "prefixes": provider.prefixes,
        "base_path": provider.base_path,
        "routes": [{"method": r.method, "path": r.path, "action": r.action} for r in provider.routes],
        "events": sorted(catalogue(provider)),
        "aliases": aliases(provider),
        "delivers": provider.delivery is not None,
        "id_field": statedoc.id_field(provider),
        "signature_header": signature_spec(provider).header,
        "signature_scheme": signature_spec(provider).scheme,
        "dashboard": provider.dashboard,
    }


async def openapi_document(request: web.Request) -> web.Response:
    """GET /_emulator/openapi.json: every emulated route and the control API, as OpenAPI 3.1."""
    return json_response(request, 200, build_openapi(request.app[STATE].providers, all_routes()))


async def state_snapshot(request: web.Request) -> web.Response:
    """GET /_emulator/state/snapshot: everything needed to reproduce the state, as a state document."""
    return json_response(request, 200, statedoc.snapshot(request.app[STATE]))


async def state_replace(request: web.Request) -> web.Response:
    """PUT /_emulator/state: replace the whole state with a state document (validated first)."""
    doc = await read_json_object(request, STATE_MAX_BODY, STATE_MAX_VALUES)
    if isinstance(doc, web.Response):
        return doc
    state = request.app[STATE]
    try:
        loaded = statedoc.parse(state, doc)
    except statedoc.StateError as exc:
        return fail(request, "validation", str(exc))
    statedoc.replace_state(state, loaded)
    webhooks = sum(len(c.records) for c in loaded.collections.values())
    return json_response(request, 200, {"replaced": "all", "webhooks": webhooks})


async def _dashboard_request(request: web.Request, shape: str | None
                             ) -> tuple[Provider, str, str | None, Any] | web.Response:
    """The provider, tenant, scope and webhook of a dashboard call (`{"tenant", "scope"?,
    "webhook"?}`; the webhook, in the provider's `shape`, is required unless `shape` is None),
    or the error response that says what is wrong with it."""
    provider = provider_named(request, request.match_info["name"])
    if isinstance(provider, web.Response):
        return provider
    body = await read_json_object(request)
    if isinstance(body, web.Response):
        return body
    fields = ("tenant", "scope", "webhook") if shape else ("tenant", "scope")
    tenant, scope, webhook = body.get("tenant") or request.query.get("tenant"), body.get("scope"), body.get("webhook")
    unknown = sorted(set(body) - set(fields))
    problem = next((message for failed, message in [
        (unknown, f"unknown field(s) {', '.join(unknown)}; the fields are {', '.join(fields)}"),
        (not (isinstance(tenant, str) and tenant), "tenant is required: the credential that owns the webhook"),
        (scope is not None and not (isinstance(scope, str) and scope), "scope must be a non-empty string"),
        (shape is not None and not isinstance(webhook, dict),
         f"webhook is required: an object in {provider.name}'s {shape} shape"),
    ] if failed), None)
    if problem:
        return fail(request, "validation", problem)
    return provider, str(tenant), scope, webhook


async def create_webhook(request: web.Request) -> web.Response:
    """POST /_emulator/providers/{name}/webhooks: one webhook for a tenant, without the provider's
    auth (as its dashboard would): `{"tenant", "scope"?, "webhook": {...its create shape...}}`."""
    found = await _dashboard_request(request, "create")
    if isinstance(found, web.Response):
        return found
    provider, tenant, scope, webhook = found
    state = request.app[STATE]
    try:
        entry = {**webhook, "$scope": scope} if scope is not None else webhook
        record = statedoc.add_webhook(state, provider, tenant, entry)
    except statedoc.StateError as exc:
        return fail(request, "validation", str(exc))
    collection = state.store.collection(provider.name, tenant)
    return json_response(request, 201, {"provider": provider.name, "tenant": tenant, "scope": record.scope,
                                        "webhook": render_record(provider.views["default"], record, collection.ref)})


async def _dashboard_action(request: web.Request, action: str) -> web.Response:
    """Run the provider's own `action` (update or delete) on a tenant's webhook, without the
    provider's auth, as its dashboard would; the body is `{"tenant", "scope"?, "webhook"}`."""
    found = await _dashboard_request(request, "update" if action == "update" else None)
    if isinstance(found, web.Response):
        return found
    provider, tenant, scope, webhook = found
    route = next((r for r in provider.routes if r.action == action), None)
    if route is None:
        return fail(request, "method_not_allowed", f"{provider.name}'s API has no {action} route")
    state, webhook_id = request.app[STATE], request.match_info["id"]
    collection = state.store.collections.get((provider.name, tenant))
    record = collection.get(webhook_id) if collection else None
    if record is None:
        return fail(request, "not_found", f"{tenant!r} has no {provider.name} webhook {webhook_id!r}")
    call = Call(state, provider, route, request, Identity(tenant, scope or record.scope), {"id": webhook_id}, webhook)
    try:
        await ACTIONS[action](call)
    except ProviderError as error:
        return plain_response(request, error)
    if action == "delete":
        return json_response(request, 200, {"provider": provider.name, "tenant": tenant, "deleted": record.id})
    webhook = render_record(provider.views["default"], record, call.collection.ref)
    return json_response(request, 200, {"provider": provider.name, "tenant": tenant, "scope": record.scope,
                                        "webhook": webhook})


async def update_webhook(request: web.Request) -> web.Response:
    """PATCH /_emulator/providers/{name}/webhooks/{id}: change a tenant's webhook as the provider's
    update route does (same validation), without its auth: `{"tenant", "scope"?, "webhook": {...}}`."""
    return await _dashboard_action(request, "update")


async def delete_webhook(request: web.Request) -> web.Response:
    """DELETE /_emulator/providers/{name}/webhooks/{id}: delete a tenant's webhook as the provider's
    delete route does (soft where it soft-deletes), without its auth: `{"tenant"}`."""
    return await _dashboard_action(request, "delete")


async def put_object(request: web.Request) -> web.Response:
    """PUT /_emulator/providers/{name}/objects/{kind}: store an object its notifications may point
    to, for a tenant, before a firing: `{"tenant", "scope"?, "object"}`; the object is laid over the
    stored one with its id (or the documented sample) and validated against the kind's schema."""
    provider = provider_named(request, request.match_info["name"])
    if isinstance(provider, web.Response):
        return provider
    body = await read_json_object(request)
    if isinstance(body, web.Response):
        return body
    fields = ("tenant", "scope", "object")
    unknown = sorted(set(body) - set(fields))
    tenant, scope = body.get("tenant"), body.get("scope")
    problem = next((message for failed, message in [
        (unknown, f"unknown field(s) {', '.join(unknown)}; the fields are {', '.join(fields)}"),
        (not (isinstance(tenant, str) and tenant), "tenant is required: the credential whose object it is"),
        (scope is not None and not (isinstance(scope, str) and scope), "scope must be a non-empty string"),
    ] if failed), None)
    if problem:
        return fail(request, "validation", problem)
    kind = request.match_info["kind"]
    try:
        object_id, stored = objects.put(request.app[STATE], provider, str(tenant), kind, body.get("object"), scope)
    except objects.ObjectError as exc:
        known = provider.objects is not None and kind in provider.objects.kinds
        return fail(request, "validation" if known else "not_found", str(exc))
    return json_response(request, 200, {"provider": provider.name, "tenant": tenant, "kind": kind, "id": object_id,
                                        "object": objects.entry(stored)})


@dataclass(frozen=True)
class ControlRoute:
    """One endpoint of the control API: registered from this table, and documented from it in the
    OpenAPI document, so the two cannot drift."""

    method: str
    path: str
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    summary: str
    status: int = 200
    query: tuple[str, ...] = ()  # the query parameters it reads (filters)
    body: dict[str, Any] | None = None  # a JSON Schema of its request body, for the document
    content_type: str = "application/json"


# Request bodies of the control API, as the OpenAPI document describes them.
STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
FIRE_BODY = {
    "type": "object", "required": ["provider", "event"], "additionalProperties": False,
    "properties": {
        "provider": {"type": "string"},
        "event": {"oneOf": [{"type": "string", "minLength": 1},
                            {"type": "array", "minItems": 1, "items": {"type": "string"}}]},
        "data": {"type": "object"}, "objects": {"type": "object", "additionalProperties": {"type": "object"}},
        "tenant": {"type": "string"}, "scope": {"type": "string"},
        "url": {"type": "string", "format": "uri"}, "secret": {"type": ["string", "object"]}, "headers": STRINGS,
        "signature": {"enum": list(MODES)}, "wait": {"type": "boolean"},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_WAIT},
        "duplicate": {"type": ["boolean", "integer"], "minimum": 0, "maximum": MAX_DUPLICATES},
        "delay": {"type": "number", "minimum": 0, "maximum": MAX_DELAY}, "order": {"enum": list(ORDERS)},
    },
}
JWK_BODY = {"type": "object", "required": ["kty", "k"],
            "properties": {"kty": {"const": "oct"}, "kid": {"type": "string"},
                           "k": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}}}
PROVIDER_BODY = {"type": "object", "properties": {"provider": {"type": "string"}}}
OBJECT_BODY = {"type": "object", "required": ["tenant", "object"], "additionalProperties": False,
               "properties": {"tenant": {"type": "string"}, "scope": {"type": "string"}, "object": {"type": "object"}}}
WEBHOOK_BODY = {"type": "object", "required": ["tenant", "webhook"],
                "properties": {"tenant": {"type": "string"}, "scope": {"type": "string"},
                               "webhook": {"type": "object"}}}


ROUTES = [
    ControlRoute("GET", "/_emulator/health", health, "Health and the loaded providers"),
    ControlRoute("POST", "/_emulator/reset", reset, 'Forget all state, or one provider\'s ({"provider": name})',
                 query=("provider",), body=PROVIDER_BODY),
    ControlRoute("GET", "/_emulator/state", state_dump,
                 "Every provider's tenants and their webhooks, and the objects its notifications point to",
                 query=("provider",)),
    ControlRoute("GET", "/_emulator/requests", requests_journal, "The request journal",
                 query=("provider", "tenant", "method", "status")),
    ControlRoute("GET", "/_emulator/providers", list_providers, "Providers with their routes and events"),
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
    ControlRoute("GET", "/_emulator/openapi.json", openapi_document, "This document"),
    ControlRoute("GET", "/_emulator/state/snapshot", state_snapshot,
                 "Everything needed to reproduce the state, as a state document"),
    ControlRoute("PUT", "/_emulator/state", state_replace,
                 "Replace the state with a state document (as --state reads)", body={"type": "object"}),
    ControlRoute("POST", "/_emulator/providers/{name}/webhooks", create_webhook,
                 "Create one webhook for a tenant without the provider's auth: {tenant, scope?, webhook}", 201,
                 body=WEBHOOK_BODY),
    ControlRoute("PATCH", "/_emulator/providers/{name}/webhooks/{id}", update_webhook,
                 "Change a tenant's webhook as the provider's update route does: {tenant, scope?, webhook}",
                 body=WEBHOOK_BODY),
    ControlRoute("PUT", "/_emulator/providers/{name}/objects/{kind}", put_object,
                 "Store an object a notification may point to, for a tenant: {tenant, scope?, object}",
                 body=OBJECT_BODY),
    ControlRoute("DELETE", "/_emulator/providers/{name}/webhooks/{id}", delete_webhook,
                 "Delete a tenant's webhook as the provider's delete route does: {tenant}",
                 body={"type": "object", "required": ["tenant"], "properties": {"tenant": {"type": "string"}}}),
]


# What answers without the admin token: whether the emulator is up, for health checks; and the
# inspector page with its assets (a browser navigating to it sends no token; it holds no data).
OPEN_ROUTES = {("GET", "/_emulator/health"), ("GET", "/_emulator/ui"), ("GET", "/_emulator/ui/"),
               ("GET", "/_emulator/ui/{asset}")}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def admin_only(handler: Handler) -> Handler:
    """`handler`, answering a JSON 401 unless the request carries `Authorization: Bearer <admin
    token>` (when the emulator has one)."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        token = request.app[STATE].settings.admin_token
        if token is not None:
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
                reply = plain_error(ProviderError("unauthorized", "this emulator has an admin token: send "
                                                                  "'Authorization: Bearer <token>'"), 401)
                return json_response(request, reply.status, reply.body,
                                     {"WWW-Authenticate": 'Bearer realm="webhook-emulator"'})
        return await handler(request)

    return guarded


def same_origin(handler: Handler) -> Handler:
    """`handler`, refusing a call a web page on another origin could make (see control/guard.py)."""

    async def checked(request: web.Request) -> web.StreamResponse:
        refused = request.app[GUARD].refusal(request)
        if refused is not None:
            status, kind, message = refused
            return plain_response(request, ProviderError(kind, message), status)
        return await handler(request)

    return checked


def control_call(handler: Handler) -> Handler:
    """`handler` answering JSON whatever happens: aiohttp's own errors (a too-large body) and any
    bug as the emulator's error shape, never HTML or a traceback; what it changed made durable
    before the answer is sent. (Redirects pass through as they are.)"""

    async def answered(request: web.Request) -> web.StreamResponse:
        redirect: web.HTTPException | None = None
        response: web.StreamResponse | None = None
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                redirect = exc
            else:
                status, error = error_of(exc)
                response = plain_response(request, error, status)
        except web.RequestPayloadError as exc:
            status, error = error_of(exc)
            response = plain_response(request, error, status)
        except Exception as exc:
            response = _bug(request, exc, "serving")
        try:
            request.app[STATE].store.commit()
        except Exception as exc:  # what changed cannot be made durable: the call has failed
            return _bug(request, exc, "saving")
        if redirect is not None:
            raise redirect
        assert response is not None
        return response

    return answered


def _bug(request: web.Request, exc: Exception, doing: str) -> web.Response:
    """A 500 for a bug (logged with its traceback), as JSON."""
    log.exception("error %s %s %s", doing, request.method, printable(request.path))
    status, error = error_of(exc)
    return plain_response(request, error, status)


def all_routes() -> list[ControlRoute]:
    """Every control route: this module's and those of the modules that add endpoints to it."""
    from emulator.control import faults, inspector  # they build on this module
    from emulator.delivery import audit

    return [*ROUTES, *faults.ROUTES, *audit.ROUTES, *inspector.ROUTES]


def setup(app: web.Application) -> None:
    """Register the control routes (before the providers' catch-all route)."""
    for route in all_routes():
        handler = control_call(same_origin(route.handler if (route.method, route.path) in OPEN_ROUTES
                                           else admin_only(route.handler)))
        if route.method == "GET":
            app.router.add_get(route.path, handler)  # HEAD too, as aiohttp does by default
        else:
            app.router.add_route(route.method, route.path, handler)
