"""The base of the control API: the error it answers (`ControlError`, raised by handlers), reading
a JSON body, `ControlRoute` (one endpoint, whose body schema is its contract), the admin guard and
the call wrapper every control handler runs in (which reads and checks the body first)."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from aiohttp import web

from emulator.control.guard import GUARD
from emulator.engine.bodies import within_body_timeout
from emulator.engine.coding import MAX_BODY, decode_body
from emulator.engine.contract import Contract
from emulator.engine.errors import ProviderError
from emulator.engine.journal import printable
from emulator.engine.plain_errors import error_of, plain_error, plain_response
from emulator.engine.provider import Provider
from emulator.engine.responses import json_response
from emulator.engine.validation import MAX_VALUES, parse_json
from emulator.state import STATE
from emulator.vocabulary import did_you_mean

log = logging.getLogger("emulator")


class ControlError(ProviderError):
    """What a control handler raises to answer an error: `{"error": kind, "message": detail}` with
    the kind's status (or `status`); the call wrapper renders it."""


# The call's JSON object body, read and checked against its route's schema by the call wrapper.
BODY: web.RequestKey[dict[str, Any]] = web.RequestKey("emulator_control_body")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def body_of(request: web.Request) -> dict[str, Any]:
    """The call's JSON object body ({} when empty), as its route's schema allows it."""
    return request.get(BODY) or {}


async def read_json_object(request: web.Request, max_bytes: int | None = None,
                           max_values: int = MAX_VALUES) -> dict[str, Any]:
    """The control request's JSON object body ({} when empty), or a ControlError: 400 for
    what is not a usable JSON object, 413 past the size limit (the app's 1 MiB, or `max_bytes`
    for a route that takes larger documents, read no further than that), 408 past the body timeout."""
    try:
        raw = await within_body_timeout(request, request.read() if max_bytes is None
                                        else _read_at_most(request, max_bytes),
                                        request.app[STATE].settings.body_timeout)
        if raw is not None:
            raw = decode_body(request.headers.get("Content-Encoding"), raw, max_bytes or MAX_BODY)
    except ProviderError as error:
        raise ControlError(error.kind, error.detail, status=error.status) from None
    if raw is None:
        raise ControlError("payload_too_large", f"the body is larger than {max_bytes} bytes")
    if not raw.strip():
        return {}
    try:
        body = parse_json(raw, max_values)
    except ProviderError as error:
        if error.kind == "payload_too_large":
            raise ControlError(error.kind, error.detail) from None
        raise ControlError("malformed_body", f"the body is not valid JSON: {error.detail}") from None
    if not isinstance(body, dict):
        raise ControlError("validation", "the body must be a JSON object")
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


def provider_named(request: web.Request, name: Any) -> Provider:
    """The provider `name` names; a ControlError says why there is none."""
    if not isinstance(name, str) or not name:
        raise ControlError("validation", "provider must name one of " + ", ".join(request.app[STATE].providers))
    provider = request.app[STATE].providers.get(name)
    if provider is None:
        known = ", ".join(sorted(request.app[STATE].providers))
        hint = did_you_mean(name, request.app[STATE].providers)
        raise ControlError("not_found", f"no provider named {name!r}{hint}; the providers are {known}")
    return provider


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
    body: dict[str, Any] | None = None  # the JSON Schema of its request body: checked, and documented
    content_type: str = "application/json"
    max_body: int | None = None  # bytes of body it reads at most (None: the app's limit)
    max_values: int = MAX_VALUES  # JSON values in its body at most

    @cached_property
    def contract(self) -> Contract:
        """Its body schema, compiled once."""
        return Contract(self.body or {})


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


def with_body(route: ControlRoute) -> Handler:
    """The route's handler, given its body (see body_of) once read and checked against the route's
    schema: a ControlError says what is wrong with it, as the schema words it."""
    if route.body is None:
        return route.handler

    async def checked(request: web.Request) -> web.StreamResponse:
        if request.method in BODY_METHODS:
            body = await read_json_object(request, route.max_body, route.max_values)
            values = {"providers": ", ".join(request.app[STATE].providers),
                      "provider": request.match_info.get("name", "")}
            problem = route.contract.problem(body, values)
            if problem:
                raise ControlError("validation", problem)
            request[BODY] = body
        return await route.handler(request)

    return checked


def control_call(handler: Handler) -> Handler:
    """`handler` answering JSON whatever happens: the ControlError it raises, aiohttp's own errors
    (a too-large body) and any bug as the emulator's error shape, never HTML or a traceback; what
    it changed made durable before the answer is sent. (Redirects pass through as they are.)"""

    async def answered(request: web.Request) -> web.StreamResponse:
        redirect: web.HTTPException | None = None
        response: web.StreamResponse | None = None
        try:
            response = await handler(request)
        except ProviderError as failure:
            response = plain_response(request, failure, failure.status)
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
