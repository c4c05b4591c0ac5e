"""The control API's state endpoints: health, reset, the state (dump, snapshot, replace) and the
request journal."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator import __version__
from emulator.control.base import ControlError, ControlRoute, body_of, provider_named
from emulator.engine import objects
from emulator.engine.contract import MESSAGE
from emulator.engine.render import render_record
from emulator.engine.responses import json_response
from emulator.state import STATE, EmulatorState
from emulator.storage import statedoc

# A state document may be larger than an API request body.
STATE_MAX_BODY = 64 * 1024 * 1024


STATE_MAX_VALUES = 5_000_000  # a state document holds many webhooks: more values than one API body


async def health(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return json_response(request, 200, {"status": "ok", "version": __version__, "providers": sorted(state.providers),
                                        "seed": state.settings.seed, "time_scale": state.settings.time_scale})


async def reset(request: web.Request) -> web.Response:
    body = body_of(request)
    state = request.app[STATE]
    provider = body.get("provider") or request.query.get("provider")
    if provider is not None:
        provider_named(request, provider)
    state.reset(provider)
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
        provider_named(request, provider)
    return json_response(request, 200, dump_state(request.app[STATE], provider))


async def requests_journal(request: web.Request) -> web.Response:
    state = request.app[STATE]
    q = request.query
    entries = state.journal.entries(provider=q.get("provider"), tenant=q.get("tenant"),
                                    method=q.get("method"), status=q.get("status"))
    return json_response(request, 200, {"requests": entries, "dropped": state.journal.dropped})


async def state_snapshot(request: web.Request) -> web.Response:
    """GET /_emulator/state/snapshot: everything needed to reproduce the state, as a state document."""
    return json_response(request, 200, statedoc.snapshot(request.app[STATE]))


async def state_replace(request: web.Request) -> web.Response:
    """PUT /_emulator/state: replace the whole state with a state document (validated first)."""
    doc = body_of(request)
    state = request.app[STATE]
    try:
        loaded = statedoc.parse(state, doc)  # (checked first: a refused document changes nothing)
    except statedoc.StateError as exc:
        raise ControlError("validation", str(exc)) from None
    state.restart()  # (as a reset does)
    if state.settings.seed is not None:  # (read again from the restarted sources: the same document loads alike)
        loaded = statedoc.parse(state, doc)
    statedoc.replace_state(state, loaded)
    webhooks = sum(len(c.records) for c in loaded.collections.values())
    return json_response(request, 200, {"replaced": "all", "webhooks": webhooks})


async def put_object(request: web.Request) -> web.Response:
    """PUT /_emulator/providers/{name}/objects/{kind}: store an object its notifications may point
    to, for a tenant, before a firing: `{"tenant", "scope"?, "object"}`; the object is laid over the
    stored one with its id (or the documented sample) and validated against the kind's schema."""
    provider = provider_named(request, request.match_info["name"])
    body, kind = body_of(request), request.match_info["kind"]
    try:
        object_id, stored = objects.put(request.app[STATE], provider, body["tenant"], kind, body["object"],
                                        body.get("scope"))
    except objects.ObjectError as exc:
        known = provider.objects is not None and kind in provider.objects.kinds
        raise ControlError("validation" if known else "not_found", str(exc)) from None
    return json_response(request, 200, {"provider": provider.name, "tenant": body["tenant"], "kind": kind,
                                        "id": object_id, "object": objects.entry(stored)})


OBJECT_BODY = {"type": "object", "required": ["tenant", "object"], "additionalProperties": False, "properties": {
    "tenant": {"type": "string", "minLength": 1, MESSAGE: "tenant is required: the credential whose object it is"},
    "scope": {"type": ["string", "null"], "minLength": 1, MESSAGE: "scope must be a non-empty string"},
    "object": {"type": "object", MESSAGE: "object is required: a JSON object in the kind's shape"}}}
PROVIDER_BODY = {"type": "object", "properties": {
    "provider": {"type": ["string", "null"], MESSAGE: "provider must name one of {providers}"}}}


ROUTES = [
    ControlRoute("GET", "/_emulator/health", health, "Health and the loaded providers"),
    ControlRoute("POST", "/_emulator/reset", reset,
                 'Forget all state, or one provider\'s ({"provider": name}): webhooks, tokens, objects, '
                 "deliveries, fault rules (and the journal), keeping the signing keys; a full reset also starts "
                 "the ids, the clock and the fault draws again, so a seeded emulator answers the same requests "
                 "alike (a --state or --faults file is not loaded again)",
                 query=("provider",), body=PROVIDER_BODY),
    ControlRoute("GET", "/_emulator/state", state_dump,
                 "Every provider's tenants and their webhooks, and the objects its notifications point to",
                 query=("provider",)),
    ControlRoute("GET", "/_emulator/requests", requests_journal, "The request journal",
                 query=("provider", "tenant", "method", "status")),
    ControlRoute("GET", "/_emulator/state/snapshot", state_snapshot,
                 "Everything needed to reproduce the state, as a state document"),
    ControlRoute("PUT", "/_emulator/state", state_replace,
                 "Replace the state with a state document (as --state reads)", body={"type": "object"},
                 max_body=STATE_MAX_BODY, max_values=STATE_MAX_VALUES),
    ControlRoute("PUT", "/_emulator/providers/{name}/objects/{kind}", put_object,
                 "Store an object a notification may point to, for a tenant: {tenant, scope?, object}",
                 body=OBJECT_BODY),
]
