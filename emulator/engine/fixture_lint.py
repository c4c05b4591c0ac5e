"""What the meta-schema cannot see in a fixture: every template checked against the placeholders
its context offers (a name the engine would leave as literal text is an error), `errors.messages`
keys checked against the keywords the engine words, the event catalogue checked against
`schemas/<name>/events.json`, every key that names a field (FIELD_KEYS) against `resource.fields`,
every regular expression and time zone the engine would compile later, and the routes (under a
prefix, each served once). It works on the parsed YAML whatever its shape, skipping what it cannot
read (the meta-schema reports that), so one run reports everything. `sample_problems` fires each
event of a loaded provider as a firing would and checks the sample against its schema.

`CONTEXTS` is the one list of template contexts and their placeholders, read from how the engine
renders each (errors.render_error, validation.message, resources._list_page, app._reply_response,
events.build, dispatcher._new_delivery, signing.sign); docs/fixtures.md is generated from it.
"""

from __future__ import annotations

import json
import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator

from emulator.engine.formats import FORMAT_CHECKER
from emulator.engine.render import _PLACEHOLDER as PLACEHOLDER
from emulator.engine.schema_files import at, place, python_regex_problem
from emulator.engine.validation import JSON_TYPES
from emulator.vocabulary import did_you_mean

if TYPE_CHECKING:  # (the provider loader runs these checks)
    from emulator.engine.provider import Provider

# Names a notification's templates share: the event, and each `events.fresh` variable beside them.
_EVENT_NAMES = {
    "event": "the event's canonical name",
    "event_id": "the event's id (made as `events.id` says)",
    "rid": "the delivery's id (one per notification; filled when the notification is made)",
    "webhook": "the webhook the notification goes to: its stored fields, its fields as the API shows them, "
               "and `id`; name one as `{webhook.<field>}`",
}
_SIGNING_NAMES = {
    "timestamp": "the signing time, unix seconds (as text; a number in `claims`)",
    "rid": "the delivery's id",
    "body_sha256": "hex SHA-256 of the exact body bytes sent",
}


@dataclass(frozen=True)
class Context:
    """One kind of template: where it is written in a fixture, and the placeholders it offers."""

    title: str
    places: tuple[str, ...]  # where in a fixture, as `$.section.key` (`<kind>`, `<event>`: any)
    names: dict[str, str]  # each placeholder -> what it is replaced with
    members: tuple[str, ...] = ()  # names whose members a dotted placeholder may name: {body.total}
    fresh: bool = False  # each `events.fresh` variable is a placeholder too
    note: str = ""


ERROR_MESSAGE = Context(
    "Error message", ("$.errors.kinds.<kind>.message", "$.errors.languages.<tag>.kinds.<kind>"),
    {"detail": "what went wrong: the parser's explanation, the validation issues in one line "
               "(`url: Enter a valid URL.; events: ...`), a fault rule's detail",
     "method": "the request's HTTP method"},
    note="Becomes `{message}` of the error body.")
ERROR_BODY = Context(
    "Error body and headers", ("$.errors.body", "$.errors.kinds.<kind>.body", "$.errors.kinds.<kind>.headers"),
    {"message": "the kind's message, filled", "status": "the HTTP status (a number)",
     "detail": "as in the message", "method": "the request's HTTP method",
     "fields": "the issues by field, Django REST Framework's shape (`{\"url\": [\"Enter a valid URL.\"]}`); "
               "without issues `{<non_field_key>: [message]}`",
     "rid": "a fresh request id (uuid4)"},
    members=("fields",))
LIST_BODY = Context(
    "List body", ("$.list.body",),
    {"items": "the page's webhooks, each as the route's view shows it", "count": "how many match in all",
     "next": "absolute URL of the next page, or null (with `list.paging: {style: page, links: true}` only)",
     "previous": "absolute URL of the previous page, or null (likewise)"})
LINK_NAMES = ("next", "previous")
ENVELOPE = Context(
    "Envelope", ("$.envelope",),
    {"body": "the response body it wraps; `{body.<key>}` names a member", "status": "the HTTP status (a number)",
     "rid": "a fresh request id (uuid4)"},
    members=("body",), note="Wraps every successful answer that has a body (errors have their own `errors.body`).")
EVENT_SAMPLE = Context(
    "Event sample", ("$.events.catalogue.<event>.sample",), _EVENT_NAMES, members=("webhook",), fresh=True,
    note="Filled when the event is built (one firing) and again per notification (`{rid}`, `{webhook.<field>}`); "
         "a caller's overrides are merged on top.")
DELIVERY_ENTRY = Context(
    "Delivery entry", ("$.delivery.entry",),
    {**_EVENT_NAMES, "payload": "the event's sample, filled; `{payload.<key>}` names a member"},
    members=("webhook", "payload"), fresh=True,
    note="One per event of a notification; the list of them is the body's `{entries}`.")
DELIVERY_BODY = Context(
    "Delivery body", ("$.delivery.body",),
    {**DELIVERY_ENTRY.names, "entries": "the notification's events, each as `delivery.entry` (with an `entry` only)"},
    members=("webhook", "payload"), fresh=True,
    note="Default `{payload}`. With several events in one notification (`group_field`), the names are the first "
         "event's.")
SIGNATURE_MESSAGE = Context(
    "Signature message (hmac-sha256)", ("$.delivery.signature.message",),
    {**_SIGNING_NAMES, "body": "the exact body bytes sent"}, note="Default `{body}`: what is HMAC'd.")
SIGNATURE_VALUE = Context(
    "Signature header value (hmac-sha256)", ("$.delivery.signature.value",),
    {**_SIGNING_NAMES, "digest": "hex HMAC-SHA256 of the message, keyed by the webhook's secret"},
    note="Default `{digest}`.")
SIGNATURE_CLAIMS = Context(
    "JWT claims (jwt)", ("$.delivery.signature.claims",),
    {**_SIGNING_NAMES, "expires": "`timestamp` + `ttl` (a number)"},
    note="Whole-value `{timestamp}` and `{expires}` are numbers.")
CATALOGUE_ENTRY = Context(
    "Event catalogue entry", ("$.events.catalogue_entry",),
    {"ref": "the event's `ref` (its id in the provider's catalogue)", "event": "the event's canonical name"},
    note="One per event with a `ref`, in the answer of an `event_catalogue` route.")
ROUTE_PATH = Context(
    "Route path", ("$.routes[<n>].path",),
    {"id": "the webhook's id (retrieve, update, replace, delete and simulate find the webhook by it)"})
AS_WRITTEN = Context(
    "Values sent as written", ("$.routes[<n>].body", "$.routes[<n>].headers", "$.delivery.headers"), {},
    note="Not templates: a `{name}` in them would be sent as literal text, so none is allowed.")
VALIDATION_MESSAGE = Context(
    "Validation message", ("$.errors.messages.<key>",),
    {"field": "the field's path (`events.0`; `body` for the whole body)", "value": "the value given, as JSON",
     "limit": "the schema keyword's value (`maxLength`'s 200, `required`'s list)",
     "expected": "the type the schema wants", "actual": "the JSON type given",
     "python_type": "the Python type name given (`str`, `list`), as Django REST Framework prints it",
     "choices": "the sort keys (`sort`) or the times (`choice`) allowed, comma-separated"},
    note="Which names a message offers depends on its key; see the table below.")

_OBJECT_FRESH = "each variable of `events.fresh` and of `objects.fresh`, made once per firing (or put)"
OBJECT_NEW = Context(
    "A new object", ("$.objects.kinds.<kind>.new", "$.objects.kinds.<kind>.at.<path>"),
    {"id": "the new object's id (given, or made as the kind's `generate` says)",
     "ref": "the tenant's ref (the id the webhooks' `tenant_ref` fields show)"},
    fresh=True, note="Laid over the kind's documented sample (its schema's first `examples` entry) for each new "
                     "object; also offers " + _OBJECT_FRESH + ".")
OBJECT_EFFECT = Context(
    "What an event does to an object", ("$.objects.events.<event>[<n>].id", "$.objects.events.<event>[<n>].object",
                                         "$.objects.events.<event>[<n>].set"),
    {key: _EVENT_NAMES[key] for key in ("event", "event_id", "webhook")}
    | {"payload": "the event's payload, filled for the tenant (as its notification carries it); "
                  "`{payload.<key>}` names a member",
       "ids": "`{ids.<kind>}`: the id of the object of that kind an earlier effect of this firing stored (or "
              "found, with `ensure`), so the objects of one firing name each other"},
    members=("webhook", "payload", "ids"), fresh=True,
    note="Filled once per tenant (and scope) the event is fired for, before its notifications are sent; also "
         "offers " + _OBJECT_FRESH + ". `{webhook.<field>}` is a webhook of the tenant that gets the event.")
OBJECT_PATH = Context(
    "Object route path", ("$.objects.kinds.<kind>.routes[<n>].path",),
    {"id": "the object's id (an `answer: one` route)",
     "<name>": "any other name: a path parameter, which `filters` must name"})
OBJECT_ONE = Context(
    "One object's answer", ("$.objects.kinds.<kind>.routes[<n>].body",),
    {"object": "the object, as stored (without its `hidden` fields; `decode`d)"},
    note="In a route with `answer: one`; a route with `answer: list` offers the placeholders of the list body.")

CONTEXTS = (ERROR_MESSAGE, ERROR_BODY, VALIDATION_MESSAGE, LIST_BODY, ENVELOPE, ROUTE_PATH, AS_WRITTEN,
            EVENT_SAMPLE, CATALOGUE_ENTRY, DELIVERY_ENTRY, DELIVERY_BODY, SIGNATURE_MESSAGE, SIGNATURE_VALUE,
            SIGNATURE_CLAIMS, OBJECT_NEW, OBJECT_EFFECT, OBJECT_PATH, OBJECT_ONE)

# `errors.messages` keys. A JSON Schema keyword words the errors jsonschema reports under it; those
# that only pass their subschemas' errors on never report one of their own, so they have no message.
_PASS_ON = {"$ref", "$dynamicRef", "allOf", "if", "properties", "patternProperties", "prefixItems",
            "propertyNames", "dependentSchemas"}
SCHEMA_KEYWORDS = tuple(sorted(set(Draft202012Validator.VALIDATORS) - _PASS_ON))
SCHEMA_VALUES = ("field", "value", "limit")
TYPE_VALUES = (*SCHEMA_VALUES, "expected", "actual", "python_type")
# The engine's own messages (validation.message's other callers) and the names each is given.
ENGINE_MESSAGES: dict[str, tuple[str, ...]] = {
    "not_object": ("actual", "python_type"),
    "unique": ("field", "value"),
    "integer": ("field", "limit"),
    "timestamp": ("field",),
    "sort": ("field", "choices"),
    "choice": ("field", "choices"),  # (a date range's field parameter: the times there are)
    "scope_required": (),  # used as written
}
TYPE_NAMES = tuple(sorted(set(JSON_TYPES.values())))


def format_names() -> tuple[str, ...]:
    """The `format`s a request schema may name (each may have a `format:<name>` message)."""
    return tuple(sorted(FORMAT_CHECKER.checkers))


def message_names(key: str) -> tuple[str, ...] | None:
    """The placeholders the `errors.messages` entry `key` offers; None if the engine never uses `key`."""
    if key in ENGINE_MESSAGES:
        return ENGINE_MESSAGES[key]
    keyword, colon, qualifier = key.partition(":")
    if keyword == "type" and (not colon or qualifier in TYPE_NAMES):
        return TYPE_VALUES
    if keyword == "format" and (not colon or qualifier in format_names()):
        return SCHEMA_VALUES
    return SCHEMA_VALUES if not colon and keyword in SCHEMA_KEYWORDS else None


def known_message_keys() -> list[str]:
    """Every key `errors.messages` may have, for the one-line complaint about another."""
    return [*SCHEMA_KEYWORDS, *(f"type:{t}" for t in TYPE_NAMES), *(f"format:{f}" for f in format_names()),
            *ENGINE_MESSAGES]


def _strings(template: Any, where: str) -> Iterator[tuple[str, str]]:
    """Each string value of a template with its place (keys are not filled, so not read)."""
    if isinstance(template, str):
        yield where, template
    elif isinstance(template, dict):
        for key, value in template.items():
            yield from _strings(value, at(where, str(key)))
    elif isinstance(template, list):
        for index, value in enumerate(template):
            yield from _strings(value, at(where, index))


def _section(raw: dict[str, Any], *keys: str) -> dict[str, Any]:
    """A nested mapping of the fixture, {} where it is absent (or not a mapping)."""
    node: Any = raw
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


def webhook_fields(raw: dict[str, Any]) -> list[str]:
    """What `{webhook.<field>}` may name (events.webhook_values): the stored fields, the fields
    the API shows, and `id`."""
    fields = _section(raw, "resource", "fields")
    shown = [str(n) for n, spec in fields.items() if not isinstance(spec, dict) or not spec.get("from")
             or not spec.get("hidden")]
    return list(dict.fromkeys([*shown, "id"]))


# Every key whose value names a field of `resource.fields` (`<key>`: each key of a map names one;
# `*`: each value of a map; `[]`: each item of a list). tests/test_fixture_check.py holds this
# to the model: each model field named `field` or `*_field` is here.
FIELD_KEYS = ("resource.soft_delete", "resource.scope.field", "views.*.omit.[]", "views.*.fields.<key>",
              "list.sort.keys.*", "delivery.subscribers.field", "delivery.subscribers.skip_when.<key>",
              "delivery.url_field", "delivery.headers_field", "delivery.delay_field", "delivery.group_field",
              "delivery.signature.secret_field", "delivery.failure_counter.field",
              "delivery.failure_counter.then.<key>")
SORT_TIMES = ("created", "updated")  # what a sort key may name besides a field
# Regular expressions the engine compiles when a request comes (auth.pattern, resources.scope_for).
REGEX_KEYS = (("auth.credentials.[].pattern", re.IGNORECASE), ("auth.required_when_strict.[].pattern", re.IGNORECASE),
              ("resource.scope.unscoped", 0))
# Time zones the engine looks up when it renders a time (render.format_time).
TZ_KEYS = ("resource.fields.*.tz", "views.*.fields.*.tz", "events.fresh.*.tz")


def walk(raw: Any, key: str) -> Iterator[tuple[str, Any]]:
    """The values at a key path of FIELD_KEYS' form in a fixture, with their places; a part that is
    absent or of another shape is skipped."""
    nodes: list[tuple[str, Any]] = [("$", raw)]
    for step in key.split("."):
        found: list[tuple[str, Any]] = []
        for where, node in nodes:
            if step == "[]" and isinstance(node, list):
                found += [(at(where, i), item) for i, item in enumerate(node)]
            elif step in ("*", "<key>") and isinstance(node, dict):
                found += [(at(where, str(k)), k if step == "<key>" else v) for k, v in node.items()]
            elif isinstance(node, dict) and step in node:
                found.append((at(where, step), node[step]))
        nodes = found
    return iter(nodes)


def time_zone_exists(name: str) -> bool:
    """Whether `name` is an IANA time zone this machine knows (or UTC)."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


class _Lint:
    """The problems of one fixture, gathered line by line."""

    def __init__(self, path: Path, raw: dict[str, Any]) -> None:
        self.path = path
        self.raw = raw
        self.problems: list[str] = []
        # The fresh variables, and the constants events give themselves (`values`), are placeholders too.
        own = [k for spec in _section(raw, "events", "catalogue").values() if isinstance(spec, dict)
               for k in _section(spec, "values")]
        self.fresh = list(dict.fromkeys([*_section(raw, "events", "fresh"), *own]))
        self.object_fresh = [*self.fresh, *_section(raw, "objects", "fresh")]
        self.webhook = webhook_fields(raw)

    def problem(self, where: str, text: str) -> None:
        self.problems.append(f"{self.path}: at {where}: {text}")

    def names(self, context: Context) -> list[str]:
        names = list(context.names)
        if context is LIST_BODY:
            paging = _section(self.raw, "list", "paging")
            if not (paging.get("style") == "page" and paging.get("links")):
                names = [n for n in names if n not in LINK_NAMES]
        return names + (self.fresh if context.fresh else [])

    def template(self, template: Any, where: str, context: Context, names: list[str] | None = None) -> None:
        """One problem per placeholder in `template` that `context` (or `names`) does not fill."""
        known = self.names(context) if names is None else names
        for spot, text in _strings(template, where):
            for found in dict.fromkeys(m.group(1) for m in PLACEHOLDER.finditer(text)):
                head, *rest = found.split(".")
                if head not in known or (rest and head not in context.members):
                    shown = ", ".join(f"{{{n}.<field>}}" if n == "webhook" else f"{{{n}}}" for n in known)
                    self.problem(spot, f"unknown placeholder {{{found}}}; known: {shown or 'none'}")
                elif head == "webhook" and rest and rest[0] not in self.webhook:
                    self.problem(spot, f"unknown placeholder {{{found}}}; the webhook's fields: "
                                 + ", ".join(self.webhook))

    def errors(self) -> None:
        errors = _section(self.raw, "errors")
        self.template(errors.get("body"), "$.errors.body", ERROR_BODY)
        for kind, spec in _section(errors, "kinds").items():
            where = at("$.errors.kinds", kind)
            if isinstance(spec, dict):
                self.template(spec.get("message"), at(where, "message"), ERROR_MESSAGE)
                self.template(spec.get("body"), at(where, "body"), ERROR_BODY)
                self.template(spec.get("headers"), at(where, "headers"), ERROR_BODY)
        self.messages(_section(errors, "messages"), "$.errors.messages")
        for tag, spec in _section(errors, "languages").items():
            where = at("$.errors.languages", tag)
            for kind, text in _section(spec, "kinds").items():
                self.template(text, at(at(where, "kinds"), kind), ERROR_MESSAGE)
            self.messages(_section(spec, "messages"), at(where, "messages"))

    def messages(self, messages: dict[str, Any], where: str) -> None:
        for key, text in messages.items():
            names = message_names(key) if isinstance(key, str) else None
            if names is None:
                known = known_message_keys()
                self.problem(at(where, str(key)), f"unknown message key {key!r}"
                             f"{did_you_mean(key, known)}; known: " + ", ".join(known))
            else:
                self.template(text, at(where, key), VALIDATION_MESSAGE, list(names))

    def responses(self) -> None:
        self.template(self.raw.get("envelope"), "$.envelope", ENVELOPE)
        self.template(_section(self.raw, "list").get("body"), "$.list.body", LIST_BODY)
        routes = self.raw.get("routes")
        for index, route in enumerate(routes if isinstance(routes, list) else []):
            if isinstance(route, dict):
                self.template(route.get("path"), at(at("$.routes", index), "path"), ROUTE_PATH)
                self.template(route.get("body"), at(at("$.routes", index), "body"), AS_WRITTEN)
                self.template(route.get("headers"), at(at("$.routes", index), "headers"), AS_WRITTEN)

    def events(self) -> None:
        for name, spec in _section(self.raw, "events", "catalogue").items():
            if isinstance(spec, dict):
                self.template(spec.get("sample"), at(at("$.events.catalogue", name), "sample"), EVENT_SAMPLE)
        shared = _section(self.raw, "events").get("shared")
        for index, name in enumerate(shared if isinstance(shared, list) else []):
            if name not in self.fresh:
                self.problem(at("$.events.shared", index), f"{name!r} is not a variable of $.events.fresh")
        self.template(_section(self.raw, "events").get("catalogue_entry"), "$.events.catalogue_entry", CATALOGUE_ENTRY)
        catalogue = _section(self.raw, "events", "catalogue")
        for alias, target in _section(self.raw, "events", "aliases").items():
            if isinstance(target, str) and target not in catalogue:
                self.problem(at("$.events.aliases", alias), f"an alias of {target!r}, which is not in the catalogue")
        delivery = _section(self.raw, "delivery")
        self.template(delivery.get("headers"), "$.delivery.headers", AS_WRITTEN)
        self.template(delivery.get("entry"), "$.delivery.entry", DELIVERY_ENTRY)
        body_names = self.names(DELIVERY_BODY)
        if delivery.get("entry") is None:
            body_names.remove("entries")
        self.template(delivery.get("body"), "$.delivery.body", DELIVERY_BODY, body_names)
        signature = _section(delivery, "signature")
        for key, context in (("message", SIGNATURE_MESSAGE), ("value", SIGNATURE_VALUE),
                             ("claims", SIGNATURE_CLAIMS)):
            self.template(signature.get(key), at("$.delivery.signature", key), context)
        value = signature.get("value")
        names = [m.group(1) for m in PLACEHOLDER.finditer(value)] if isinstance(value, str) else []
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:  # (a verifier reads each placeholder back out of the header: signing._value_pattern)
            self.problem("$.delivery.signature.value", "{" + "}, {".join(twice) + "} more than once: a receiver "
                         "could not read the header back")


    def field_names(self) -> None:
        """Every key that names a field names one of `resource.fields`."""
        fields = [str(n) for n in _section(self.raw, "resource", "fields")]
        if not fields:
            return  # (no fields to name: the meta-schema says what is wrong)
        subscribers = _section(self.raw, "delivery", "subscribers")
        keys = FIELD_KEYS + (("events.catalogue.<key>",) if subscribers.get("match") == "flag" else ())
        for key in keys:
            extra = SORT_TIMES if key == "list.sort.keys.*" else ()
            for where, name in walk(self.raw, key):
                if isinstance(name, str) and name not in fields and name not in extra:
                    self.problem(where, f"no field named {name!r} in $.resource.fields{did_you_mean(name, fields)}; "
                                 "its fields: " + ", ".join([*fields, *extra]))
        sort = _section(self.raw, "list", "sort")
        default, keys_ = sort.get("default"), sort.get("keys")
        if isinstance(default, str) and isinstance(keys_, dict) and default.lstrip("-+ ") not in keys_:
            self.problem("$.list.sort.default", f"{default!r} is not a sort key; the keys: "
                         + ", ".join(map(str, keys_)))

    def compiled(self) -> None:
        """Every regular expression compiles (with a `key` group where one is read) and every time zone exists."""
        for key, flags in REGEX_KEYS:
            for where, text in walk(self.raw, key):
                if not isinstance(text, str):
                    continue
                problem = python_regex_problem(text, flags)
                if problem is None and key.endswith("pattern") and "key" not in re.compile(text, flags).groupindex:
                    problem = "no (?P<key>...) group: the credential is what that group matches"
                if problem is not None:
                    self.problem(where, problem)
        for key in TZ_KEYS:
            for where, zone in walk(self.raw, key):
                if isinstance(zone, str) and not time_zone_exists(zone):
                    self.problem(where, f"no time zone named {zone!r} (an IANA name such as Europe/Madrid, or UTC)")

    def routes(self) -> None:
        """Every route is under one of the prefixes, and no method and path is served twice."""
        prefixes = [p for p in self.raw.get("prefixes") or [] if isinstance(p, str)]
        seen: dict[tuple[str, str], str] = {}
        for where, route in walk(self.raw, "routes.[]"):
            path, method = (route.get("path"), route.get("method")) if isinstance(route, dict) else (None, None)
            if not isinstance(path, str) or not isinstance(method, str):
                continue
            if prefixes and not any(path.startswith(p) for p in prefixes):
                self.problem(at(where, "path"), f"{path} is under none of the prefixes ({', '.join(prefixes)}): "
                             "requests to it would never reach this provider")
            if path.count("{id}") > 1:
                self.problem(at(where, "path"), "{id} more than once: a path names the webhook's id once")
            first = seen.setdefault((method.upper(), path), where)
            if first != where:
                self.problem(where, f"{method.upper()} {path} is served already by {first}")


    def objects(self) -> None:
        """Templates, routes and effects of the `objects` section, and the kinds and events they name."""
        objects = _section(self.raw, "objects")
        kinds = _section(objects, "kinds")
        for kind_name, kind in kinds.items():
            where = at("$.objects.kinds", kind_name)
            self.template(kind.get("new"), at(where, "new"), OBJECT_NEW, [*OBJECT_NEW.names, *self.object_fresh])
            for path, value in (kind.get("at") or {}).items():
                self.template(value, at(at(where, "at"), path), OBJECT_NEW, [*OBJECT_NEW.names, *self.object_fresh])
            for index, route in enumerate(kind.get("routes") or []):
                self.object_route(route, at(at(where, "routes"), index))
            self.object_times(kind, where)
        catalogue = _section(self.raw, "events", "catalogue")
        names = [*_EVENT_NAMES, "payload", "ids", *self.object_fresh]
        names.remove("rid")
        for event, effects in _section(objects, "events").items():
            where = at("$.objects.events", event)
            if event not in catalogue:
                self.problem(where, f"no event {event!r} in the catalogue (name it by its canonical name)")
            for index, effect in enumerate(effects or []):
                place = at(where, index)
                if effect.get("kind") not in kinds:
                    self.problem(at(place, "kind"), f"no object kind {effect.get('kind')!r}; the kinds: "
                                 + ", ".join(kinds))
                for key in ("id", "object", "set"):
                    self.template(effect.get(key), at(place, key), OBJECT_EFFECT, names)

    def object_times(self, kind: dict[str, Any], where: str) -> None:
        """A kind with a list route names where each time the provider's list filters use is."""
        listing = _section(self.raw, "list")
        used = set((listing.get("filters") or {}).values())
        if listing.get("date_range"):
            used |= {"created", "updated"}
        if not any((route or {}).get("answer") == "list" for route in kind.get("routes") or []):
            return
        for name in sorted(used - set(kind.get("times") or {})):
            self.problem(at(where, "times"), f"the kind's lists take the provider's time filters: name the field "
                         f"that holds its {name!r} time")

    def object_route(self, route: dict[str, Any], where: str) -> None:
        params = [m.group(1) for m in PLACEHOLDER.finditer(route.get("path", ""))]
        one = route.get("answer") == "one"
        if one and "id" not in params:
            self.problem(at(where, "path"), "a route with `answer: one` names the object's {id} in its path")
        for param in params:
            if param != "id" and param not in (route.get("filters") or {}):
                self.problem(at(where, "path"), f"the path parameter {{{param}}} is not one of the route's filters")
        if one and route.get("zip") is not None:
            self.problem(at(where, "zip"), "only a route with `answer: list` answers a ZIP archive")
        body_names = ["object"] if one else self.names(LIST_BODY)
        self.template(route.get("body"), at(where, "body"), OBJECT_ONE if one else LIST_BODY, body_names)


def listed_events(schema: Any) -> list[str] | None:
    """The event names an events.json lists: its `enum`, `const`s under `oneOf`/`anyOf`, an
    array's `items`, or a plain JSON list of names; None when it lists none that way."""
    if isinstance(schema, list):
        return [str(n) for n in schema]
    if not isinstance(schema, dict):
        return None
    if isinstance(schema.get("enum"), list):
        return [str(n) for n in schema["enum"]]
    if "const" in schema:
        return [str(schema["const"])]
    for key in ("oneOf", "anyOf"):
        if isinstance(schema.get(key), list):
            parts = [listed_events(s) for s in schema[key]]
            return None if None in parts else [n for part in parts for n in part or []]
    return listed_events(schema["items"]) if "items" in schema else None


def events_problems(path: Path, raw: dict[str, Any], schema_dir: Path) -> list[str]:
    """Where the catalogue (with its aliases) and `schema_dir/events.json`, if there is one, disagree."""
    file = schema_dir / "events.json"
    if not file.is_file():
        return []
    try:
        listed = listed_events(json.loads(file.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return []  # the schema registry reports an unreadable schema
    if listed is None:
        return [f"{file}: lists no event names (give it an \"enum\" of the catalogue's events and aliases)"]
    events = _section(raw, "events")
    refs = {e["ref"]: at(at("$.events.catalogue", n), "ref") for n, e in _section(events, "catalogue").items()
            if isinstance(e, dict) and isinstance(e.get("ref"), str)}
    places = {**{n: at("$.events.catalogue", n) for n in _section(events, "catalogue")}, **refs,
              **{n: at("$.events.aliases", n) for n in _section(events, "aliases")}}
    problems = [f"{path}: at {where}: event {n!r} is not in {file}" for n, where in places.items() if n not in listed]
    problems += [f"{file}: event {n!r} is not in the catalogue (or aliases) of {path}" for n in listed
                 if n not in places]
    return problems


def sample_problems(provider: Provider) -> list[str]:
    """Each event sample that breaks its own `schema`, filled as a firing fills it (fresh values from
    a seeded source, a webhook of the fields' defaults), one line per problem."""
    from emulator.engine.clock import Clock
    from emulator.engine.events import build, webhook_values
    from emulator.engine.ids import IdSource
    from emulator.engine.render import fill
    from emulator.engine.store import Record

    if provider.events is None:
        return []
    clock = Clock()
    ids = IdSource(clock, seed=0)
    now = clock.now()
    defaults = {f.name: f.default for f in provider.fields.values() if f.source is None}
    record = Record(ids.generate(provider.resource.id), defaults, now, now)
    webhook = webhook_values(provider, record, ids.objectid())  # (as `fire --url` makes it)
    problems = []
    for name, spec in provider.events.catalogue.items():
        if spec.schema is None:
            continue
        event = build(provider, name, None, ids, clock)
        payload = fill(event.payload, event.values.extend({"rid": ids.uuid4(), "webhook": webhook}))
        where = at(at("$.events.catalogue", name), "sample")
        # The exact tier alone: the fast one would be compiled for this one payload.
        errors = Draft202012Validator({"$ref": provider.schema_uri(spec.schema)}, registry=provider.registry,
                                      format_checker=FORMAT_CHECKER).iter_errors(payload)
        problems += [f"{provider.source}: at {where}: filled as a firing fills it, it breaks {spec.schema} at "
                     f"{place(e.absolute_path)}: {e.message}" for e in errors]
    return problems


def fixture_problems(path: Path, raw: dict[str, Any], schema_dir: Path | None) -> list[str]:
    """Every problem the meta-schema cannot see in the fixture `raw` read from `path` (its schemas
    in `schema_dir`, the provider's own folder, None when unknown), one line each naming the file and
    the place. A part of another shape than the meta-schema's is skipped (the meta-schema reports it)."""
    lint = _Lint(path, raw)
    lint.errors()
    lint.responses()
    lint.events()
    lint.field_names()
    lint.compiled()
    lint.routes()
    lint.objects()
    return lint.problems + (events_problems(path, raw, schema_dir) if schema_dir is not None else [])
