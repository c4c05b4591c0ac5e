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

from emulator.engine.auth import authenticate
from emulator.engine.coding import MAX_BODY, decode_body
from emulator.engine.contract import MESSAGE, Contract
from emulator.engine.errors import DEFAULT_STATUS, ProviderError, render_error
from emulator.engine.provider import Provider, read_yaml
from emulator.engine.responses import json_response
from emulator.engine.routing import normalise_path
from emulator.engine.validation import parse_json
from emulator.settings import SettingsError
from emulator.state import PROVIDER_NAME, STATE, TENANT
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
TEXT = {"type": "string", "minLength": 1, MESSAGE: "method, path and tenant must be non-empty strings"}
# A rule's fields: the one contract of `POST /_emulator/faults` and of a `--faults` file's rules
# (a null is the field left out); parse_rule adds the rules between fields.
RULE_BODY: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {
    "provider": {"type": "string", MESSAGE: "provider must name one of {providers}"},
    "method": TEXT,
    "path": {"type": "string", "pattern": "^/", MESSAGE: "path is a pattern of the URL path, e.g. /v2/*"},
    "tenant": TEXT,
    "status": {"type": ["integer", "null"], "minimum": 400, "maximum": 599,
               MESSAGE: "status must be an HTTP error status, 400..599"},
    "retry_after": {"type": ["number", "null"], "minimum": 0, "maximum": MAX_RETRY_AFTER,
                    MESSAGE: f"retry_after (seconds from 0 to {MAX_RETRY_AFTER}) goes with a status"},
    "latency": {"type": "number", "minimum": 0, "maximum": MAX_LATENCY,
                MESSAGE: f"latency must be a number of seconds from 0 to {MAX_LATENCY}"},
    "drop": {"type": "boolean", MESSAGE: "drop must be true or false"},
    "times": {"type": ["integer", "null"], "minimum": 1, MESSAGE: "times must be an integer >= 1"},
    "probability": {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 1,
                    MESSAGE: "probability must be a number in (0, 1]"}}}
RULE_CONTRACT = Contract(RULE_BODY)


def parse_rule(body: Any, providers: dict[str, Provider]) -> dict[str, Any]:
    """A rule's fields from a JSON object, checked (its schema, then the rules between its fields);
    FaultError says what is wrong."""
    if not isinstance(body, dict):
        raise FaultError("a fault rule is a JSON object")
    known = ", ".join(providers)
    problem = RULE_CONTRACT.problem(body, {"providers": known})
    if problem:
        raise FaultError(problem)
    status, latency, drop = body.get("status"), body.get("latency", 0), body.get("drop", False)
    checks = [
        ("provider" in body and body["provider"] not in providers,
         f"provider must name one of {known}{did_you_mean(body.get('provider'), providers)}"),
        (status is not None and drop, "a rule either answers a status or drops the connection, not both"),
        (status is None and not drop and not latency, "a rule needs an effect: status, drop or latency"),
        (body.get("retry_after") is not None and status is None, RULE_BODY["properties"]["retry_after"][MESSAGE]),
    ]
    problem = next((message for failed, message in checks if failed), None)
    if problem:
        raise FaultError(problem)
    rule = {k: body[k] for k in RULE_FIELDS if body.get(k) is not None}
    for whole in ("status", "times"):  # (an integral number, 429.0 too, is an integer to JSON Schema)
        if whole in rule:
            rule[whole] = int(rule[whole])
    if "method" in rule:
        rule["method"] = rule["method"].upper()
    if status in RETRY_STATUSES and body.get("retry_after") is None:
        rule["retry_after"] = 1
    return rule


class Faults:
    """One emulator's fault rules, in the order they were added (the first that hits wins)."""

    def __init__(self, seed: int | None) -> None:
        self.rules: list[Rule] = []
        self._seed = seed
        self._rng: random.Random = random.Random(seed) if seed is not None else random.SystemRandom()
        self._count = 0

    def restart(self) -> None:
        """Number rules from f1 again and, under a seed, draw probabilities as after start-up."""
        self._count = 0  # (a full reset removed every rule first)
        if self._seed is not None:
            self._rng = random.Random(self._seed)

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
        return authenticate(provider, request, body, state.settings, state.store, state.clock.wall()).tenant
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
    path = normalise_path(request.raw_path)
    if path.startswith(CONTROL_PREFIX):
        return await handler(request)
    state = request.app[STATE]
    faults = state.faults
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


