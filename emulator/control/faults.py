"""Provider faults on demand: rules that make matching API calls answer an error in the provider's
own style (429 with Retry-After, 500, 503...), answer late, or drop the connection.

A rule matches by provider, method, path glob and tenant (each optional) and hits the next `times`
matching calls, or each with a `probability` drawn from the emulator's seeded RNG. A call a
status or drop rule hits never reaches the provider (the state is untouched) and the request
journal names the rule. Rules come from `POST /_emulator/faults`, or from `--faults FILE` at start-up.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from fnmatch import fnmatchcase
from http import HTTPStatus
from pathlib import Path
from typing import Any

from aiohttp import web

from emulator.control.api import ControlRoute, fail, read_json_object
from emulator.engine.auth import authenticate
from emulator.engine.coding import MAX_BODY, decode_body
from emulator.engine.errors import DEFAULT_STATUS, ProviderError, render_error
from emulator.engine.provider import Provider, read_yaml
from emulator.engine.responses import json_response
from emulator.engine.routing import normalise_path
from emulator.engine.state import PROVIDER_NAME, STATE, TENANT
from emulator.engine.validation import parse_json
from emulator.settings import SettingsError
from emulator.vocabulary import CONTROL_PREFIX, did_you_mean

# Statuses that tell a client when to come back (Retry-After, in seconds; 1 unless a rule says).
RETRY_STATUSES = (429, 503)


class FaultError(ValueError):
    """A fault rule that cannot be used; the message says why."""


@dataclass
class Rule:
    """One fault rule: what it matches, what it does, how often, and how often it has hit."""

    id: str
    provider: str | None = None
    method: str | None = None
    path: str | None = None
    tenant: str | None = None
    status: int | None = None
    retry_after: float | None = None
    latency: float = 0.0
    drop: bool = False
    times: int | None = None
    probability: float | None = None
    hits: int = 0

    def as_json(self) -> dict[str, Any]:
        """The rule as the control API lists it, with its hits and remaining hits (null: no limit)."""
        remaining = None if self.times is None else max(self.times - self.hits, 0)
        return {**{f.name: getattr(self, f.name) for f in fields(self)}, "remaining": remaining}

    def matches(self, provider: str, method: str, path: str) -> bool:
        """Whether a call (before its tenant is known) is one this rule is about and it has hits left."""
        return ((self.times is None or self.hits < self.times)
                and self.provider in (None, provider)
                and self.method in (None, method)
                and (self.path is None or fnmatchcase(path, self.path)))


RULE_FIELDS = tuple(f.name for f in fields(Rule) if f.name not in ("id", "hits"))


# The longest a rule may hold a call back, and the longest Retry-After it may send (seconds).
MAX_LATENCY = 300
MAX_RETRY_AFTER = 86400


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_rule(body: Any, providers: dict[str, Provider]) -> dict[str, Any]:
    """A rule's fields from a JSON object, checked; FaultError says what is wrong."""
    if not isinstance(body, dict):
        raise FaultError("a fault rule is a JSON object")
    unknown = sorted({str(k) for k in body if k not in RULE_FIELDS})  # (a YAML key may be a number)
    status, latency, drop = body.get("status"), body.get("latency", 0), body.get("drop", False)
    times, probability = body.get("times"), body.get("probability")
    retry_after = body.get("retry_after")
    checks = [
        (unknown, f"unknown field(s) {', '.join(unknown)}; the fields are {', '.join(RULE_FIELDS)}"),
        ("provider" in body and not (isinstance(body["provider"], str) and body["provider"] in providers),
         "provider must name one of " + ", ".join(providers) + did_you_mean(body.get("provider"), providers)),
        (any(k in body and not (isinstance(body[k], str) and body[k]) for k in ("method", "path", "tenant")),
         "method, path and tenant must be non-empty strings"),
        ("path" in body and not str(body["path"]).startswith("/"), "path is a pattern of the URL path, e.g. /v2/*"),
        (status is not None and not (isinstance(status, int) and not isinstance(status, bool)
                                     and 400 <= status <= 599), "status must be an HTTP error status, 400..599"),
        (not _number(latency) or not 0 <= latency <= MAX_LATENCY,
         f"latency must be a number of seconds from 0 to {MAX_LATENCY}"),
        (not isinstance(drop, bool), "drop must be true or false"),
        (status is not None and drop, "a rule either answers a status or drops the connection, not both"),
        (status is None and not drop and not latency, "a rule needs an effect: status, drop or latency"),
        (retry_after is not None and (status is None or not _number(retry_after)
                                      or not 0 <= retry_after <= MAX_RETRY_AFTER),
         f"retry_after (seconds from 0 to {MAX_RETRY_AFTER}) goes with a status"),
        (times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1),
         "times must be an integer >= 1"),
        (probability is not None and (not _number(probability) or not 0 < probability <= 1),
         "probability must be a number in (0, 1]"),
    ]
    problem = next((message for failed, message in checks if failed), None)
    if problem:
        raise FaultError(problem)
    rule = {k: body[k] for k in RULE_FIELDS if body.get(k) is not None}
    if "method" in rule:
        rule["method"] = rule["method"].upper()
    if status in RETRY_STATUSES and retry_after is None:
        rule["retry_after"] = 1
    return rule


# Rules one emulator keeps at most (used-up ones stay listed with their hits until removed).
MAX_RULES = 1000


class Faults:
    """One emulator's fault rules, in the order they were added (the first that hits wins)."""

    def __init__(self, seed: int | None) -> None:
        self.rules: list[Rule] = []
        self._rng: random.Random = random.Random(seed) if seed is not None else random.SystemRandom()
        self._count = 0

    def add(self, spec: dict[str, Any]) -> Rule:
        """Add a checked rule (see `parse_rule`); it gets the next id, f1, f2..."""
        self._count += 1
        rule = Rule(id=f"f{self._count}", **spec)
        self.rules.append(rule)
        return rule

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def remove(self, rule_id: str | None = None, provider: str | None = None) -> list[Rule]:
        """Remove one rule, a provider's rules (with those for any provider), or every rule."""
        gone = [r for r in self.rules if (rule_id is None or r.id == rule_id)
                and (provider is None or r.provider in (None, provider))]
        self.rules = [r for r in self.rules if r not in gone]
        return gone

    def candidates(self, provider: str, method: str, path: str) -> list[Rule]:
        return [r for r in self.rules if r.matches(provider, method, path)]

    def hit(self, rules: list[Rule], tenant: str | None) -> Rule | None:
        """The first of `rules` that hits this call (tenant matching, then its probability); counted."""
        for rule in rules:
            if rule.tenant is not None and rule.tenant != tenant:
                continue
            if rule.probability is not None and self._rng.random() >= rule.probability:
                continue
            rule.hits += 1
            return rule
        return None


FAULTS = web.AppKey("emulator_faults", Faults)
# The rule that hit a request, and whether it dropped the connection, for the journal.
FAULT_HIT = web.RequestKey("emulator_fault", Rule)


def load_file(path: Path, providers: dict[str, Provider]) -> list[dict[str, Any]]:
    """The rules of a YAML or JSON file (a list of rules, or `{"faults": [...]}`), checked;
    SettingsError with a one-line reason otherwise."""
    try:
        data = read_yaml(path, FaultError)
        if isinstance(data, dict) and set(data) == {"faults"}:
            data = data["faults"]
        if not isinstance(data, list):
            raise FaultError("the file must hold a list of rules (or {faults: [...]})")
        rules = []
        for number, item in enumerate(data, 1):
            try:
                rules.append(parse_rule(item, providers))
            except FaultError as exc:
                raise FaultError(f"rule {number}: {exc}") from None
    except FaultError as exc:
        reason = str(exc).removeprefix(f"{path}:").strip()  # read_yaml's errors name the file already
        raise SettingsError(f"--faults {path}: {' '.join(reason.split())}") from None
    return rules


async def _tenant(provider: Provider, request: web.Request) -> str | None:
    """The caller's tenant as the provider would authenticate it, or None (no usable credentials)."""
    state = request.app[STATE]
    body: Any = {}
    if provider.body_credentials and request.can_read_body:
        try:
            body = parse_json(decode_body(request.headers.get("Content-Encoding"), await request.read(), MAX_BODY))
        except ProviderError:
            body = {}
    try:
        return authenticate(provider, request, body, state.settings, state.store, state.clock.now()).tenant
    except ProviderError:
        return None


def _kind_for(provider: Provider, status: int) -> str:
    """The provider's error kind answered with `status` (its own, else a default one), else `fault`."""
    kinds = provider.errors.kinds
    own = [kind for kind, spec in kinds.items() if spec.status == status]
    defaults = [kind for kind, code in DEFAULT_STATUS.items() if code == status and kind not in kinds]
    return (own + defaults + ["fault"])[0]


def fault_response(request: web.Request, provider: Provider, rule: Rule, method: str) -> web.Response:
    """The provider's own error body for the rule's status (with Retry-After where it has one)."""
    assert rule.status is not None
    kind = _kind_for(provider, rule.status)
    wait = str(math.ceil(rule.retry_after)) if rule.retry_after is not None else ""  # whole seconds (RFC 9110)
    detail = wait if kind == "rate_limited" else HTTPStatus(rule.status).phrase
    headers = {"Retry-After": wait} if wait else {}
    error = ProviderError(kind, detail, headers=headers, status=rule.status)
    reply = render_error(provider, error, method, request.app[STATE].ids.uuid4)
    return json_response(request, reply.status, reply.body, reply.headers)


async def with_faults(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                      ) -> web.StreamResponse:
    """Apply the first fault rule that hits a provider call: wait, then answer an error or drop
    the connection (or, with latency alone, go on to `handler` late). The caller looks first
    whether there are rules at all: with none, this is not called."""
    faults = request.app[FAULTS]
    path = normalise_path(request.raw_path)
    if path.startswith(CONTROL_PREFIX):
        return await handler(request)
    state = request.app[STATE]
    provider = state.router.owner(path)
    if provider is None:
        return await handler(request)
    method = state.router.effective_method(request.method, request.headers, provider)  # type: ignore[arg-type]
    rules = faults.candidates(provider.name, method, path)
    if not rules:
        return await handler(request)
    by_tenant = any(r.tenant is not None for r in rules)
    tenant = await _tenant(provider, request) if by_tenant else None
    rule = faults.hit(rules, tenant)
    if rule is None:
        return await handler(request)
    request[FAULT_HIT] = rule
    request[PROVIDER_NAME] = provider.name
    if not by_tenant:  # (read once: the rules did not need it, the journal does)
        tenant = await _tenant(provider, request)
    if tenant is not None:  # for the journal, as if the provider had served the call
        request[TENANT] = tenant
    if rule.latency:
        await asyncio.sleep(rule.latency)
    if rule.drop:
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=499)  # never sent: the journal records no status
    if rule.status is None:
        return await handler(request)
    return fault_response(request, provider, rule, method)


def journal_fields(request: web.Request) -> dict[str, Any]:
    """What the request journal adds about faults: the rule that hit (or null); no status when the
    connection was dropped."""
    rule = request.get(FAULT_HIT)
    if rule is None:
        return {"fault": None}
    return {"fault": rule.id, **({"status": None} if rule.drop else {})}


# -- the control API ---------------------------------------------------------------------------------

async def list_faults(request: web.Request) -> web.Response:
    """GET /_emulator/faults: every rule with its hit count."""
    return json_response(request, 200, {"faults": [r.as_json() for r in request.app[FAULTS].rules]})


async def add_fault(request: web.Request) -> web.Response:
    """POST /_emulator/faults: add a rule; 201 with the rule and its id."""
    body = await read_json_object(request)
    if isinstance(body, web.Response):
        return body
    if len(request.app[FAULTS].rules) >= MAX_RULES:
        return fail(request, "validation", f"there are {MAX_RULES} fault rules already; remove some first")
    try:
        spec = parse_rule(body, request.app[STATE].providers)
    except FaultError as exc:
        return fail(request, "validation", str(exc))
    return json_response(request, 201, request.app[FAULTS].add(spec).as_json())


def _rule(request: web.Request) -> Rule | web.Response:
    found = request.app[FAULTS].get(request.match_info["id"])
    return found or fail(request, "not_found", f"no fault rule {request.match_info['id']!r}")


async def get_fault(request: web.Request) -> web.Response:
    """GET /_emulator/faults/{id}: one rule with its hit count."""
    found = _rule(request)
    return found if isinstance(found, web.Response) else json_response(request, 200, found.as_json())


async def delete_fault(request: web.Request) -> web.Response:
    """DELETE /_emulator/faults/{id}: remove one rule; answers it with its final hit count."""
    found = _rule(request)
    if isinstance(found, web.Response):
        return found
    request.app[FAULTS].remove(found.id)
    return json_response(request, 200, found.as_json())


async def delete_faults(request: web.Request) -> web.Response:
    """DELETE /_emulator/faults: remove every rule (or, with ?provider=, that provider's)."""
    gone = request.app[FAULTS].remove(provider=request.query.get("provider"))
    return json_response(request, 200, {"deleted": [r.id for r in gone]})


def setup(app: web.Application) -> None:
    """Give the app its fault rules (from `--faults FILE`, read now and added at start-up, after
    a `--state` file's load, whose reset would remove them); a reset removes them."""
    state = app[STATE]
    faults = Faults(state.settings.seed)
    specs = load_file(state.settings.faults, state.providers) if state.settings.faults is not None else []
    app[FAULTS] = faults

    async def add_rules(app: web.Application) -> None:
        for spec in specs:
            faults.add(spec)

    app.on_startup.append(add_rules)

    def forget(provider: str | None) -> None:
        faults.remove(provider=provider)

    state.extras.setdefault("reset_hooks", []).append(forget)


# The fault rules' control routes (registered and documented with the rest, see control.all_routes).
TEXT = {"type": "string"}
RULE_BODY = {"type": "object", "properties": {
    "provider": TEXT, "method": TEXT, "path": TEXT, "tenant": TEXT,
    "status": {"type": "integer", "minimum": 400, "maximum": 599},
    "retry_after": {"type": "number", "minimum": 0, "maximum": MAX_RETRY_AFTER},
    "latency": {"type": "number", "minimum": 0, "maximum": MAX_LATENCY},
    "drop": {"type": "boolean"}, "times": {"type": "integer", "minimum": 1},
    "probability": {"type": "number", "minimum": 0, "maximum": 1}}}
ROUTES = [
    ControlRoute("GET", "/_emulator/faults", list_faults, "The fault rules, with their hit counts"),
    ControlRoute("POST", "/_emulator/faults", add_fault, "Add a fault rule", 201, body=RULE_BODY),
    ControlRoute("DELETE", "/_emulator/faults", delete_faults, "Remove every fault rule (or ?provider='s)",
                 query=("provider",)),
    ControlRoute("GET", "/_emulator/faults/{id}", get_fault, "One fault rule with its hit count"),
    ControlRoute("DELETE", "/_emulator/faults/{id}", delete_fault, "Remove one fault rule"),
]
