"""The control API's list of providers, with their routes and events."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator.control.base import ControlRoute
from emulator.delivery.signing import forgeries
from emulator.delivery.specs import signature_spec
from emulator.engine.events import aliases, catalogue
from emulator.engine.provider import Provider
from emulator.engine.responses import json_response
from emulator.state import STATE
from emulator.storage import statedoc
from emulator.vocabulary import MODES, ORDERS


async def list_providers(request: web.Request) -> web.Response:
    """GET /_emulator/providers: every provider with its routes and events."""
    providers = request.app[STATE].providers.values()
    return json_response(request, 200, {"providers": [describe_provider(p) for p in providers],
                                        "signature_modes": list(MODES), "orders": list(ORDERS)})


def signature_modes(provider: Provider) -> list[str]:
    """The signature modes a firing of the provider may ask for: valid, and the forgeries its
    scheme has (none for a provider that signs nothing)."""
    spec = signature_spec(provider)
    return ["valid", *(mode for mode, _ in forgeries(spec))] if spec.scheme != "none" else ["valid"]


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
        "signature_modes": signature_modes(provider),
        "dashboard": provider.dashboard,
    }


ROUTES = [ControlRoute("GET", "/_emulator/providers", list_providers, "Providers with their routes and events")]
