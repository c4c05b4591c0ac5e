"""The control API's dashboard: create, change and delete a tenant's webhook without the
provider's auth, as the provider's own dashboard would."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator.control.base import ControlRoute, fail, provider_named, read_json_object
from emulator.engine.auth import Identity
from emulator.engine.errors import ProviderError
from emulator.engine.plain_errors import plain_response
from emulator.engine.provider import Provider
from emulator.engine.render import render_record
from emulator.engine.resources import ACTIONS, Call
from emulator.engine.responses import json_response
from emulator.state import STATE
from emulator.storage import statedoc


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


WEBHOOK_BODY = {"type": "object", "required": ["tenant", "webhook"],
                "properties": {"tenant": {"type": "string"}, "scope": {"type": "string"},
                               "webhook": {"type": "object"}}}


ROUTES = [
    ControlRoute("POST", "/_emulator/providers/{name}/webhooks", create_webhook,
                 "Create one webhook for a tenant without the provider's auth: {tenant, scope?, webhook}", 201,
                 body=WEBHOOK_BODY),
    ControlRoute("PATCH", "/_emulator/providers/{name}/webhooks/{id}", update_webhook,
                 "Change a tenant's webhook as the provider's update route does: {tenant, scope?, webhook}",
                 body=WEBHOOK_BODY),
    ControlRoute("DELETE", "/_emulator/providers/{name}/webhooks/{id}", delete_webhook,
                 "Delete a tenant's webhook as the provider's delete route does: {tenant}",
                 body={"type": "object", "required": ["tenant"], "properties": {"tenant": {"type": "string"}}}),
]
