"""The control API's dashboard: create, change and delete a tenant's webhook without the
provider's auth, as the provider's own dashboard would."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator.control.base import ControlError, ControlRoute, body_of, provider_named
from emulator.engine.auth import Identity
from emulator.engine.contract import MESSAGE
from emulator.engine.errors import ProviderError
from emulator.engine.plain_errors import plain_response
from emulator.engine.provider import Provider
from emulator.engine.render import render_record
from emulator.engine.resources import ACTIONS, Call
from emulator.engine.responses import json_response
from emulator.state import STATE
from emulator.storage import statedoc


async def _dashboard_request(request: web.Request) -> tuple[Provider, str, str | None, Any]:
    """The provider, tenant, scope and webhook of a dashboard call (`{"tenant", "scope"?,
    "webhook"?}`, as its route's schema allows; the tenant may come from the query instead); a
    ControlError says what is wrong with it."""
    provider = provider_named(request, request.match_info["name"])
    body = body_of(request)
    tenant = body.get("tenant") or request.query.get("tenant")
    if not tenant:
        raise ControlError("validation", TENANT_MESSAGE)
    return provider, str(tenant), body.get("scope"), body.get("webhook")


async def create_webhook(request: web.Request) -> web.Response:
    """POST /_emulator/providers/{name}/webhooks: one webhook for a tenant, without the provider's
    auth (as its dashboard would): `{"tenant", "scope"?, "webhook": {...its create shape...}}`."""
    found = await _dashboard_request(request)
    provider, tenant, scope, webhook = found
    state = request.app[STATE]
    try:
        entry = {**webhook, "$scope": scope} if scope is not None else webhook
        record = statedoc.add_webhook(state, provider, tenant, entry)
    except statedoc.StateError as exc:
        raise ControlError("validation", str(exc)) from None
    collection = state.store.collection(provider.name, tenant)
    return json_response(request, 201, {"provider": provider.name, "tenant": tenant, "scope": record.scope,
                                        "webhook": render_record(provider.views["default"], record, collection.ref)})


async def _dashboard_action(request: web.Request, action: str) -> web.Response:
    """Run the provider's own `action` (update or delete) on a tenant's webhook, without the
    provider's auth, as its dashboard would; the body is `{"tenant", "scope"?, "webhook"}`."""
    found = await _dashboard_request(request)
    provider, tenant, scope, webhook = found
    route = next((r for r in provider.routes if r.action == action), None)
    if route is None:
        raise ControlError("method_not_allowed", f"{provider.name}'s API has no {action} route")
    state, webhook_id = request.app[STATE], request.match_info["id"]
    collection = state.store.collections.get((provider.name, tenant))
    record = collection.get(webhook_id) if collection else None
    if record is None:
        raise ControlError("not_found", f"{tenant!r} has no {provider.name} webhook {webhook_id!r}")
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


TENANT_MESSAGE = "tenant is required: the credential that owns the webhook"
DASHBOARD_FIELDS: dict[str, Any] = {
    "tenant": {"type": "string", "minLength": 1, MESSAGE: TENANT_MESSAGE},
    "scope": {"type": ["string", "null"], "minLength": 1, MESSAGE: "scope must be a non-empty string"},
}


def webhook_body(shape: str) -> dict[str, Any]:
    """The body of a dashboard call that takes a webhook in the provider's `shape` (create, update)."""
    webhook = {"type": "object", MESSAGE: f"webhook is required: an object in {{provider}}'s {shape} shape"}
    return {"type": "object", "required": ["webhook"], "additionalProperties": False,
            "properties": {**DASHBOARD_FIELDS, "webhook": webhook}}


ROUTES = [
    ControlRoute("POST", "/_emulator/providers/{name}/webhooks", create_webhook,
                 "Create one webhook for a tenant without the provider's auth: {tenant, scope?, webhook}", 201,
                 body=webhook_body("create")),
    ControlRoute("PATCH", "/_emulator/providers/{name}/webhooks/{id}", update_webhook,
                 "Change a tenant's webhook as the provider's update route does: {tenant, scope?, webhook}",
                 body=webhook_body("update")),
    ControlRoute("DELETE", "/_emulator/providers/{name}/webhooks/{id}", delete_webhook,
                 "Delete a tenant's webhook as the provider's delete route does: {tenant}",
                 body={"type": "object", "additionalProperties": False, "properties": DASHBOARD_FIELDS}),
]
