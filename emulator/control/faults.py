"""The control API's fault rules: list, add and remove them (see emulator/faults.py)."""

from __future__ import annotations

from aiohttp import web

from emulator.control.base import ControlError, ControlRoute, body_of
from emulator.engine.responses import json_response
from emulator.faults import RULE_BODY, FaultError, Rule, parse_rule
from emulator.state import STATE

# Rules one emulator keeps at most (used-up ones stay listed with their hits until removed).
MAX_RULES = 1000


async def list_faults(request: web.Request) -> web.Response:
    """GET /_emulator/faults: every rule with its hit count."""
    return json_response(request, 200, {"faults": [r.as_json() for r in request.app[STATE].faults.rules]})


async def add_fault(request: web.Request) -> web.Response:
    """POST /_emulator/faults: add a rule; 201 with the rule and its id."""
    body = body_of(request)
    if len(request.app[STATE].faults.rules) >= MAX_RULES:
        raise ControlError("validation", f"there are {MAX_RULES} fault rules already; remove some first")
    try:
        spec = parse_rule(body, request.app[STATE].providers)
    except FaultError as exc:
        raise ControlError("validation", str(exc)) from None
    return json_response(request, 201, request.app[STATE].faults.add(spec).as_json())


def _rule(request: web.Request) -> Rule:
    found = request.app[STATE].faults.get(request.match_info["id"])
    if found is None:
        raise ControlError("not_found", f"no fault rule {request.match_info['id']!r}")
    return found


async def get_fault(request: web.Request) -> web.Response:
    """GET /_emulator/faults/{id}: one rule with its hit count."""
    found = _rule(request)
    return json_response(request, 200, found.as_json())


async def delete_fault(request: web.Request) -> web.Response:
    """DELETE /_emulator/faults/{id}: remove one rule; answers it with its final hit count."""
    found = _rule(request)
    request.app[STATE].faults.remove(found.id)
    return json_response(request, 200, found.as_json())


async def delete_faults(request: web.Request) -> web.Response:
    """DELETE /_emulator/faults: remove every rule (or, with ?provider=, that provider's)."""
    gone = request.app[STATE].faults.remove(provider=request.query.get("provider"))
    return json_response(request, 200, {"deleted": [r.id for r in gone]})


ROUTES = [
    ControlRoute("GET", "/_emulator/faults", list_faults, "The fault rules, with their hit counts"),
    ControlRoute("POST", "/_emulator/faults", add_fault, "Add a fault rule", 201, body=RULE_BODY),
    ControlRoute("DELETE", "/_emulator/faults", delete_faults, "Remove every fault rule (or ?provider='s)",
                 query=("provider",)),
    ControlRoute("GET", "/_emulator/faults/{id}", get_fault, "One fault rule with its hit count"),
    ControlRoute("DELETE", "/_emulator/faults/{id}", delete_fault, "Remove one fault rule"),
]
