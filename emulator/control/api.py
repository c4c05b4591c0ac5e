"""The control API under /_emulator/: the registry of every control route, from the topic modules
(state, providers, events and deliveries, dashboard, faults, audit, inspector), registered on the
app and documented in the OpenAPI document from this one table. JSON in and out."""

from __future__ import annotations

from aiohttp import web

from emulator.control import audit, dashboard, events, faults, inspector, providers
from emulator.control import state as state_routes
from emulator.control.base import ControlRoute, admin_only, control_call, same_origin, with_body
from emulator.control.openapi import build_openapi
from emulator.engine.responses import json_response
from emulator.state import STATE


async def openapi_document(request: web.Request) -> web.Response:
    """GET /_emulator/openapi.json: every emulated route and the control API, as OpenAPI 3.1."""
    return json_response(request, 200, build_openapi(request.app[STATE].providers, all_routes()))


ROUTES = [ControlRoute("GET", "/_emulator/openapi.json", openapi_document, "This document")]

# What answers without the admin token: whether the emulator is up, for health checks; and the
# inspector page with its assets (a browser navigating to it sends no token; it holds no data).
OPEN_ROUTES = {("GET", "/_emulator/health"), ("GET", "/_emulator/ui"), ("GET", "/_emulator/ui/"),
               ("GET", "/_emulator/ui/{asset}")}


def all_routes() -> list[ControlRoute]:
    """Every control route, from each topic module."""
    return [*state_routes.ROUTES, *providers.ROUTES, *events.ROUTES, *ROUTES, *dashboard.ROUTES, *faults.ROUTES,
            *audit.ROUTES, *inspector.ROUTES]


def setup(app: web.Application) -> None:
    """Register the control routes (before the providers' catch-all route)."""
    for route in all_routes():
        handler = with_body(route)
        handler = control_call(same_origin(handler if (route.method, route.path) in OPEN_ROUTES
                                           else admin_only(handler)))
        if route.method == "GET":
            app.router.add_get(route.path, handler)  # HEAD too, as aiohttp does by default
        else:
            app.router.add_route(route.method, route.path, handler)
