"""The control API under /_emulator/: health, reset, state, the request journal (and, with
delivery, events and deliveries). JSON in and out."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from emulator import __version__
from emulator.errors import DEFAULT_MESSAGE, DEFAULT_STATUS, ErrorReply, ProviderError
from emulator.render import dump_json, fill, render_record
from emulator.state import STATE, EmulatorState


def plain_error(error: ProviderError, status: int | None = None) -> ErrorReply:
    """The emulator's own error shape, for the control API and paths no provider owns."""
    status = status or DEFAULT_STATUS.get(error.kind, 400)
    message = error.detail or fill(DEFAULT_MESSAGE.get(error.kind, "{detail}"), {"detail": ""})
    return ErrorReply(status, {"error": error.kind, "message": message})


def _json(request: web.Request, body: Any, status: int = 200) -> web.Response:
    pretty = request.headers.get("User-Agent", "").lower().startswith("curl/")
    return web.Response(status=status, body=dump_json(body, pretty), content_type="application/json")


def _fail(request: web.Request, kind: str, detail: str) -> web.Response:
    reply = plain_error(ProviderError(kind, detail))
    return _json(request, reply.body, reply.status)


async def read_json_object(request: web.Request) -> dict[str, Any] | web.Response:
    """The control request's JSON object body ({} when empty), or a 400 response."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        return _fail(request, "malformed_body", f"the body is not valid JSON: {exc}")
    if not isinstance(body, dict):
        return _fail(request, "validation", "the body must be a JSON object")
    return body


async def health(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return _json(request, {"status": "ok", "version": __version__, "providers": sorted(state.providers)})


async def reset(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    if isinstance(body, web.Response):
        return body
    state = request.app[STATE]
    provider = body.get("provider") or request.query.get("provider")
    if provider is not None and provider not in state.providers:
        return _fail(request, "not_found", f"no provider named {provider!r}")
    state.store.reset(provider)
    if provider is None:
        state.journal.clear()
    for hook in state.extras.get("reset_hooks", []):
        hook(provider)
    return _json(request, {"reset": provider or "all"})


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
    return result


async def state_dump(request: web.Request) -> web.Response:
    state = request.app[STATE]
    provider = request.query.get("provider")
    if provider is not None and provider not in state.providers:
        return _fail(request, "not_found", f"no provider named {provider!r}")
    return _json(request, dump_state(state, provider))


async def requests_journal(request: web.Request) -> web.Response:
    state = request.app[STATE]
    q = request.query
    entries = state.journal.entries(provider=q.get("provider"), tenant=q.get("tenant"),
                                    method=q.get("method"), status=q.get("status"))
    return _json(request, {"requests": entries, "dropped": state.journal.dropped})


def setup(app: web.Application) -> None:
    """Register the control routes (before the providers' catch-all route)."""
    app.router.add_get("/_emulator/health", health)
    app.router.add_post("/_emulator/reset", reset)
    app.router.add_get("/_emulator/state", state_dump)
    app.router.add_get("/_emulator/requests", requests_journal)
