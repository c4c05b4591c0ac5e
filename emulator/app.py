"""The aiohttp application: one generic handler serves every provider route; `/_emulator/` is
the control API. Every response is JSON, in the provider's style where a provider is involved."""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from emulator import faults
from emulator.aiohttp_internals import EveryPathResource, app_handler
from emulator.control import api as control
from emulator.control.guard import GUARD, Guard
from emulator.delivery.dispatcher import Dispatcher
from emulator.engine.auth import authenticate, how_to_send
from emulator.engine.bodies import within_body_timeout
from emulator.engine.clock import SEEDED_EPOCH, Clock
from emulator.engine.coding import MAX_BODY, decode_body
from emulator.engine.errors import ProviderError, issues_text, language, render_error
from emulator.engine.ids import IdSource
from emulator.engine.journal import Journal, printable, recorded
from emulator.engine.object_routes import OBJECT_ACTIONS
from emulator.engine.plain_errors import error_of, plain_error, plain_response
from emulator.engine.provider import Provider, Route, load_providers
from emulator.engine.render import Encoded, encode_template, fill
from emulator.engine.resources import ACTIONS, PUBLIC_ACTIONS, Call, Reply
from emulator.engine.responses import EMPTY, Download, json_response, wants_pretty
from emulator.engine.routing import Match, Redirect, Router, normalise_path
from emulator.engine.store import Replay
from emulator.engine.validation import coerce_form, multipart_form, parse_json
from emulator.settings import Settings
from emulator.state import PROVIDER_NAME, STATE, TENANT, EmulatorState
from emulator.storage import persistence, statedoc
from emulator.vocabulary import CONTROL_PREFIX

log = logging.getLogger("emulator")
# One line per provider API call at info (method, path, status, provider, tenant, duration).
access_log = logging.getLogger("emulator.access")
# The longest request line and header line read (aiohttp's default is 8190): longer ids, paths and
# query values reach the application and get the provider's own error, not the parser's plain text.
MAX_LINE = 64 * 1024
# The journal keeps this much of a path or query string, so that its memory stays bounded.
JOURNAL_TEXT = 2048
# ... and this much of each request and response body (then `... [truncated: N bytes in all]`).
JOURNAL_BODY = 4096
# Why a call was refused (the journal's `reason`, also logged at debug), once known.
REASON = web.RequestKey("emulator_reason", str)
# How a body the provider would not read (its Content-Type) was treated: the journal's `note`.
NOTE = web.RequestKey("emulator_note", str)
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# The form media types (a form is coerced to the route's JSON), each with what a note adds of it.
FORM_TYPES = {"application/x-www-form-urlencoded": " (what curl -d sends)", "multipart/form-data": ""}
NO_FAULT = {"fault": None}
# Every generic action: the webhook API's and the GET routes of the objects notifications point to.
SERVED = {**ACTIONS, **OBJECT_ACTIONS}


def _error_response(request: web.Request, provider: Provider | None, error: ProviderError,
                    method: str) -> web.Response:
    state = request.app[STATE]
    _refused(request, error)
    reply = plain_error(error) if provider is None else render_error(
        provider, error, method, state.ids.uuid4, language(provider, request.headers.get("Accept-Language")))
    return json_response(request, reply.status, reply.body, reply.headers)


def _refused(request: web.Request, error: ProviderError) -> None:
    """Keep why the call was refused, for the journal: the error's kind and detail (or field issues)."""
    if REASON not in request:
        detail = error.detail or issues_text(error.issues)
        request[REASON] = f"{error.kind}: {detail}" if detail else error.kind


async def _read_body(request: web.Request, provider: Provider, route: Route) -> Any:
    """The request body as JSON-like data: {} when empty; JSON whatever the content type says
    (curl -d sends JSON as a form: the journal's note says so); a real form is coerced by the
    route's schema."""
    if not request.can_read_body:
        return {}
    # (A body that has all arrived, as a small one has, is read without a timer.)
    raw = await request.read() if request.content.is_eof() else \
        await within_body_timeout(request, request.read(), request.app[STATE].settings.body_timeout)
    encoding = request.headers.get("Content-Encoding")
    raw = decode_body(encoding, raw, MAX_BODY)
    if not raw.strip():
        return {}
    if request.content_type not in FORM_TYPES:
        return parse_json(raw)
    if not request.app[STATE].settings.strict and raw.lstrip().startswith((b"{", b"[")):
        # (--strict: JSON labelled as a form is a form, as the provider would read it)
        if NOTE not in request:  # (a provider that reads no forms has its note already)
            request[NOTE] = (f"the body is JSON labelled Content-Type {request.content_type}"
                             f"{FORM_TYPES[request.content_type]}: read as JSON (--strict reads it as a form, "
                             f"as {provider.name} would)")
        return parse_json(raw)
    form: Any
    if request.content_type == "multipart/form-data":
        form = multipart_form(raw, request.headers.get("Content-Type", ""))
    elif encoding:  # (aiohttp reads a form from the body as sent)
        raise ProviderError("malformed_body", "a form body cannot be compressed (Content-Encoding)")
    else:
        try:
            form = await request.post()  # (from the body read above)
        except ValueError as exc:  # undecodable bytes in a form body
            raise ProviderError("malformed_body", f"the form body cannot be read: {exc}") from None
    return coerce_form(form, provider.schema(route.request_schema) if route.request_schema else None)


async def provider_handler(request: web.Request) -> web.StreamResponse:
    """The handler of every path no control route takes: a provider call, with the fault rules
    applied, recorded in the journal, made durable, and answered in the provider's style whatever
    goes wrong (JSON always, never a traceback)."""
    app = request.app
    state = app[STATE]
    started = state.clock.wall()  # (the journal records when calls came, as the delivery log does)
    began = time.perf_counter()
    request[PROVIDER_NAME] = request[TENANT] = None
    with_faults = bool(state.faults.rules)
    try:
        if with_faults:
            response = await faults.with_faults(request, _provider_call)
        else:
            response = await _provider_call(request)
    except (web.HTTPException, web.RequestPayloadError) as exc:  # aiohttp's, reading the body (413, undecodable)
        response = _http_error(request, exc)
    except Exception as exc:  # a bug outside a provider's action still answers JSON
        log.exception("error serving %s %s", request.method, printable(request.path))
        response = _http_error(request, exc)
    try:
        state.store.commit()
    except Exception as exc:  # what changed cannot be made durable: the call has failed
        log.exception("error saving %s %s", request.method, printable(request.path))
        response = _http_error(request, exc)
    if not request.path.startswith(CONTROL_PREFIX):  # (a call cancelled at shutdown is sent nothing: no entry)
        fault = faults.journal_fields(request) if with_faults else NO_FAULT
        if fault["fault"] is not None and REASON not in request and (response.status >= 400 or "status" in fault):
            request[REASON] = f"fault rule {fault['fault']}" + (": connection dropped" if "status" in fault else "")
        body = await _body_read(request)
        _journal(request, state, started, response, time.perf_counter() - began, fault, body)
    return response


async def _body_read(request: web.Request) -> bytes | None:
    """The request body as the handler read it (aiohttp keeps it), or None when it read none."""
    if not request.body_exists or not request.content.is_eof():
        return None
    try:
        return await request.read()
    except (web.HTTPException, web.RequestPayloadError):  # (what was read, too large or undecodable)
        return None


async def _provider_call(request: web.Request) -> web.StreamResponse:
    """Resolve, then serve the route or answer the provider's (or a plain) 404, 405 or redirect."""
    state = request.app[STATE]
    resolved = state.router.find(request.method, request.raw_path, request.headers)
    if isinstance(resolved, Match):
        return await _serve(request, state, resolved)
    path = normalise_path(request.raw_path)
    if path.startswith(CONTROL_PREFIX) or path == CONTROL_PREFIX.rstrip("/"):
        return plain_response(request, ProviderError("not_found", f"no control endpoint {request.method} {path}"))
    if isinstance(resolved, Redirect):
        location = str(request.url.with_path(resolved.location).with_query(request.query))
        request[PROVIDER_NAME] = resolved.provider.name
        return json_response(request, 307, {"detail": "Moved to the canonical path."},
                             {"Location": location})
    if resolved.provider:
        request[PROVIDER_NAME] = resolved.provider.name
        method = state.router.effective_method(request.method, request.headers, resolved.provider)
        return _error_response(request, resolved.provider, resolved.error, method)
    request[REASON] = f"not_found: no provider serves {path}"
    return plain_response(request, ProviderError("not_found", f"no provider serves {path}; GET /_emulator/providers "
                                                 "lists their routes, and /_emulator/ui is the inspector page"))


async def _serve(request: web.Request, state: EmulatorState, match: Match) -> web.Response:
    """One call of a provider's route, its errors (and any bug) in the provider's style."""
    provider, route, method = match.provider, match.route, match.method
    request[PROVIDER_NAME] = provider.name
    try:
        if not request.app[GUARD].host_allowed(request.headers.get("Host")):
            raise ProviderError("forbidden", "this Host is not the emulator's")
        reading = method in BODY_METHODS or request.method in BODY_METHODS
        unread = _unread_body(request, provider, state.settings) if reading else None
        body = await _read_body(request, provider, route) if reading and not unread else {}
        if unread:  # (read, for the journal, not parsed)
            await within_body_timeout(request, request.read(), state.settings.body_timeout)
        identity = None
        if route.action not in PUBLIC_ACTIONS:
            identity = _authenticate(request, provider, state, body, unread)
            request[TENANT] = identity.tenant
            strip = provider.body_credentials
            if strip and isinstance(body, dict):
                body = {k: v for k, v in body.items() if k not in strip}
        if unread == "unsupported_media_type":
            request[REASON] = f"{unread}: {request.pop(NOTE)}"
            raise ProviderError(unread, request.headers.get("Content-Type", ""))
        replay_key = _idempotency_key(provider, request, method, identity)
        if replay_key is not None:
            replay = state.store.replays.get(replay_key)
            if replay is not None and replay.expires > state.clock.wall():
                return web.Response(status=replay.status, body=replay.body, headers=replay.headers)
        reply = await SERVED[route.action](Call(state, provider, route, request, identity, match.params, body))
        response = _reply_response(request, provider, reply)
        if replay_key is not None and reply.status < 500:
            ttl = timedelta(seconds=provider.idempotency.ttl)  # type: ignore[union-attr]
            headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
            now = state.clock.wall()
            state.store.remember(replay_key, Replay(reply.status, response.body or b"",  # type: ignore[arg-type]
                                                    headers, now + ttl), now)
        return response
    except ProviderError as error:
        return _error_response(request, provider, error, method)
    except (web.HTTPException, web.RequestPayloadError):  # aiohttp's, reading the body: provider_handler's
        raise
    except Exception as exc:  # a bug must still answer in the provider's style
        log.exception("error serving %s %s", method, route.path)
        return _error_response(request, provider, ProviderError("internal", type(exc).__name__), method)


def _authenticate(request: web.Request, provider: Provider, state: EmulatorState, body: Any,
                  unread: str | None) -> Any:
    """The caller's identity; when none was sent but the provider takes one in the body and --strict
    left the body unread (its Content-Type), the answer is the body's refusal, saying so."""
    try:
        return authenticate(provider, request, body, state.settings, state.store, state.clock.wall())
    except ProviderError as error:
        if error.kind != "unauthorized" or not unread or not provider.body_credentials or NOTE not in request:
            raise
        fields = ", ".join(how_to_send(c) for c in provider.auth.credentials if c.body is not None)
        unseen = f"{request[NOTE]} (the body was not read, so a credential in it, {fields}, was not seen)"
        if unread != "unsupported_media_type":
            request[REASON] = f"{error.kind}: {error.detail}; {unseen}"
            raise
        request.pop(NOTE)
        request[REASON] = f"{unread}: {unseen}"
        raise ProviderError(unread, request.headers.get("Content-Type", "")) from None


def _unread_body(request: web.Request, provider: Provider, settings: Settings) -> str | None:
    """What --strict does with a body whose Content-Type the provider does not read (the fixture's
    `content_types.strict_error`): None when it reads it, there is no body, or it is read anyway
    (without --strict, or `lenient`); the journal's note says what happened to such a body."""
    spec = provider.content_types
    header = request.headers.get("Content-Type")
    if not request.body_exists or spec.reads(header):
        return None
    sent = f"Content-Type {header}" if header else "no Content-Type"
    unread = f"{provider.name} reads only {', '.join(spec.accepted)} bodies; this one has {sent}"
    if not settings.strict or spec.strict_error == "lenient":
        request[NOTE] = f"{unread}: read anyway" + ("" if spec.strict_error == "lenient" else
                                                     f" (--strict answers as {provider.name} would)")
        return None
    request[NOTE] = f"--strict: {unread}" + (": not read, its fields are missing"
                                             if spec.strict_error == "ignore_body" else "")
    return spec.strict_error


def _reply_response(request: web.Request, provider: Provider, reply: Reply) -> web.Response:
    body = reply.body
    if provider.envelope is not None and body is not EMPTY and not isinstance(body, Download):
        values = {"status": reply.status, "body": body, "rid": request.app[STATE].ids.uuid4()}
        if provider.envelope_parts is not None and not wants_pretty(request):
            body = Encoded(encode_template(provider.envelope_parts, values))
        else:  # (a kept list page is data again for `fill`)
            values["body"] = json.loads(body) if isinstance(body, Encoded) else body
            body = fill(provider.envelope, values)
    return json_response(request, reply.status, body, reply.headers)


def _idempotency_key(provider: Provider, request: web.Request, method: str, identity: Any
                     ) -> tuple[str, str, str] | None:
    spec = provider.idempotency
    if spec is None or identity is None or method not in spec.methods:
        return None
    key = request.headers.get(spec.header, "").strip()
    if not key:
        return None
    return (provider.name, identity.tenant, f"{method} {request.path} {key}")


def _journal(request: web.Request, state: EmulatorState, started: datetime, response: web.StreamResponse,
             seconds: float, fault: dict[str, Any], body: bytes | None) -> None:
    """One API call in the request journal (with its bodies, cut at JOURNAL_BODY), at info one line
    in the log, and at debug why it was refused."""
    provider, tenant, status = request[PROVIDER_NAME], request[TENANT], response.status
    reason = request.get(REASON)
    if access_log.isEnabledFor(logging.INFO):
        access_log.info("%s %s -> %d  %s tenant=%s %.1f ms", request.method, printable(request.path_qs), status,
                        provider or "-", printable(tenant or "-"), seconds * 1000)
    if reason and access_log.isEnabledFor(logging.DEBUG):
        access_log.debug("%s %s -> %d refused: %s", request.method, printable(request.path), status,
                         printable(reason))
    answered = getattr(response, "body", None)
    state.journal.add((started, request.method, request.path[:JOURNAL_TEXT], request.query_string[:JOURNAL_TEXT],
                       provider, tenant, status, fault, reason, request.get(NOTE), _clipped(body),
                       _clipped(answered if isinstance(answered, bytes) else None)))


def _clipped(body: bytes | None) -> tuple[bytes, int] | None:
    """What the journal keeps of a body: its first JOURNAL_BODY bytes and its size."""
    return None if body is None else (body[:JOURNAL_BODY], len(body))


def _body_text(kept: tuple[bytes, int] | None) -> str | None:
    return None if kept is None else recorded(kept[0], JOURNAL_BODY, kept[1])


def journal_entry(entry: tuple[Any, ...]) -> dict[str, Any]:
    """A request journal entry as the control API shows it (made when read, not per request)."""
    started, method, path, query, provider, tenant, status, fault, reason, note, body, answer = entry
    return {"time": started.isoformat(timespec="milliseconds"), "method": method, "path": path, "query": query,
            "provider": provider, "tenant": tenant, "status": status, **fault, "reason": reason, "note": note,
            "request_body": _body_text(body), "response_body": _body_text(answer)}


def _http_error(request: web.Request, exc: Exception) -> web.Response:
    """An error aiohttp raised (a too-large body) or a bug, as the provider's (or a plain) JSON error."""
    status, error = error_of(exc)
    provider = request.app[STATE].router.owner(normalise_path(request.raw_path))
    if provider is None:
        _refused(request, error)
        return plain_response(request, error, status)
    return _error_response(request, provider, error, request.method)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None,
               ids: IdSource | None = None) -> web.Application:
    """A ready emulator application; state lives on the app, so many can run in one process."""
    settings = settings or Settings()
    providers = load_providers(settings.fixtures)
    clock = clock or Clock(SEEDED_EPOCH if settings.seed is not None else None)
    ids = ids or IdSource(clock, settings.seed)
    store = persistence.open_store(ids.objectid, settings.data_dir, settings.skip_corrupt_rows)
    app = web.Application(client_max_size=MAX_BODY,
                          handler_args={"max_line_size": MAX_LINE, "max_field_size": MAX_LINE,
                                        "auto_decompress": False})  # (bodies are decoded as they are read)
    state = app[STATE] = EmulatorState(
        settings=settings,
        providers=providers,
        router=Router(providers),
        store=store,
        journal=Journal(settings.journal_size, journal_entry),
        clock=clock,
        ids=ids,
        dispatcher=Dispatcher(settings, providers, store, clock, ids),
        faults=faults.Faults(settings.seed),
    )
    app[GUARD] = Guard(settings)
    # Read now, so that a bad file stops start-up with a one-line error before anything runs.
    rules = faults.load_file(settings.faults, providers) if settings.faults is not None else []
    state_file = statedoc.read_path(Path(settings.state), state) if settings.state is not None else None
    app.cleanup_ctx.append(functools.partial(_lifetime, state, rules, state_file))
    control.setup(app)
    target = AnyTarget()
    app.router.register_resource(target)
    target.add_route("*", provider_handler)
    return app


async def _lifetime(state: EmulatorState, rules: list[dict[str, Any]], state_file: statedoc.Loaded | None,
                    app: web.Application) -> AsyncIterator[None]:
    """The emulator's start-up and shut-down, in order (an aiohttp cleanup context). Start-up: the
    dispatcher's HTTP session; a data dir read back (its pending deliveries resume); the --state
    file, if the state is still empty; then the --faults rules (after the state file, whose reset
    would remove them). Shut-down: deliveries stop first (in-flight attempts get a grace period
    and are saved), then the store is closed."""
    dispatcher = state.dispatcher
    await dispatcher.start()
    try:
        persistence.restore(state.store, dispatcher)
        if state_file is not None:
            statedoc.load_state_file(state, state_file)
        for spec in rules:
            state.faults.add(spec)
        yield
    finally:
        await dispatcher.close(grace=min(state.settings.delivery_timeout or 10.0, 5.0))
        state.store.close()


def answer_any_target(app: web.Application) -> Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]:
    """The app's handler for aiohttp's server (see server.start_site), answering also the one kind
    of request target aiohttp's router cannot even look up, a target with no path at all
    (`CONNECT host:443`), as every other unknown target: a JSON 404, in the journal."""
    handle = app_handler(app)  # what aiohttp's AppRunner serves

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        try:
            return await handle(request)  # type: ignore[arg-type]
        except web.HTTPNotFound:  # (AnyTarget takes every path: only a target without one gets here)
            return await provider_handler(request)  # type: ignore[arg-type]

    return handler


class AnyTarget(EveryPathResource):
    """The resource of every request no control route takes, whatever its target: any path (one
    holding a newline too) and targets that are no path at all (`OPTIONS *`, `CONNECT host:443`).
    aiohttp looks at it last, as at a resource of "/"; it matches without a regular expression."""

    def __init__(self) -> None:
        super().__init__("/")
