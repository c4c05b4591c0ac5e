"""The consumer audit's control route: `POST /_emulator/audit` (see delivery/audit.py)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator.control.base import ControlError, ControlRoute, body_of, provider_named
from emulator.delivery.audit import audit
from emulator.delivery.dispatcher import Dispatcher
from emulator.delivery.firing import PROVIDER_FIELD, TARGET_FIELDS, secret_problem
from emulator.delivery.records import Target
from emulator.delivery.specs import delivery_spec, signature_spec
from emulator.engine.events import EventError, catalogue
from emulator.engine.provider import Provider
from emulator.engine.responses import json_response
from emulator.state import STATE


def _targets(dispatcher: Dispatcher, provider: Provider, body: dict[str, Any]) -> list[tuple[Target, list[str]]]:
    """The endpoint `url` with every event of the catalogue, or each registered webhook (of one
    tenant, if given) with the events it wants, and its own secret."""
    names = sorted(catalogue(provider))
    if not names:
        raise EventError(f"{provider.name} has no events to audit with")
    if "url" not in body:
        return dispatcher.subscribers(provider, names, body.get("tenant"))
    secret = body.get("secret")
    if secret is None and signature_spec(provider).scheme not in ("none", "jwt"):
        registered = _registered_secret(dispatcher, provider, body["url"])
        if registered is None:
            raise MissingSecret(f"secret is required: {provider.name} signs its notifications, and the audit must "
                                "sign with the secret the consumer verifies with (no registered "
                                f"{provider.name} webhook has the url {body['url']} to take it from)")
        secret = registered
    return [(dispatcher.explicit_target(provider, body["url"], secret, body.get("headers")), names)]


class MissingSecret(EventError):
    """An audit of a URL for a provider that signs, with no secret given and none registered."""


def _registered_secret(dispatcher: Dispatcher, provider: Provider, url: str) -> Any:
    """The secret of the first registered webhook of the provider at `url`, or None."""
    field = delivery_spec(provider).url_field
    for owner, collection in dispatcher.store.provider_collections(provider.name):
        for record in collection.records.values():
            if record.data.get(field) == url:
                return dispatcher.target_for(provider, owner, record).secret
    return None


async def run_audit(request: web.Request) -> web.Response:
    """POST /_emulator/audit: audit `url` (with `secret`, `headers`), or without `url` every
    registered webhook of the provider (of one `tenant`); 200 with the report."""
    body = body_of(request)
    state = request.app[STATE]
    provider = provider_named(request, body.get("provider"))
    problem = ("tenant applies only without url" if "url" in body and "tenant" in body
               else secret_problem(body, provider))
    if problem:
        raise ControlError("validation", problem)
    dispatcher = state.dispatcher
    try:
        targets = _targets(dispatcher, provider, body)
    except EventError as exc:
        raise ControlError("validation", str(exc)) from None
    if not targets:
        raise ControlError("not_found", f"no registered {provider.name} webhook to audit; give a url")
    return json_response(request, 200, await audit(dispatcher, provider, targets))


# The audit's control route (registered and documented with the rest, see control.all_routes).
AUDIT_BODY = {"type": "object", "required": ["provider"], "additionalProperties": False, "properties": {
    "provider": PROVIDER_FIELD, **{name: TARGET_FIELDS[name] for name in ("url", "tenant", "secret", "headers")}}}
ROUTES = [ControlRoute("POST", "/_emulator/audit", run_audit, "Audit a webhook consumer at url, or without url "
                       "every registered webhook of the provider", body=AUDIT_BODY)]
