"""What the meta-schema cannot see in a fixture: every template checked against the placeholders
its context offers (a name the engine would leave as literal text is an error), `errors.messages`
keys checked against the keywords the engine words, and the event catalogue checked against
`schemas/<name>/events.json`. Works on the parsed YAML once it has passed the meta-schema.

`CONTEXTS` is the one list of template contexts and their placeholders, read from how the engine
renders each (errors.render_error, validation.message, resources._list_page, app._reply_response,
events.build, dispatcher._new_delivery, signing.sign); docs/fixtures.md is generated from it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from emulator.engine.formats import FORMAT_CHECKER
from emulator.engine.render import _PLACEHOLDER as PLACEHOLDER
from emulator.engine.validation import JSON_TYPES

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
    "Error message", ("$.errors.kinds.<kind>.message",),
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
ROUTE_PATH = Context(
    "Route path", ("$.routes[<n>].path",),
    {"id": "the webhook's id (retrieve, update, replace, delete and simulate find the webhook by it)"})
AS_WRITTEN = Context(
    "Values sent as written", ("$.routes[<n>].body", "$.delivery.headers"), {},
    note="Not templates: a `{name}` in them would be sent as literal text, so none is allowed.")
VALIDATION_MESSAGE = Context(
    "Validation message", ("$.errors.messages.<key>",),
    {"field": "the field's path (`events.0`; `body` for the whole body)", "value": "the value given, as JSON",
     "limit": "the schema keyword's value (`maxLength`'s 200, `required`'s list)",
     "expected": "the type the schema wants", "actual": "the JSON type given",
     "python_type": "the Python type name given (`str`, `list`), as Django REST Framework prints it",
     "choices": "the sort keys allowed, comma-separated"},
    note="Which names a message offers depends on its key; see the table below.")

CONTEXTS = (ERROR_MESSAGE, ERROR_BODY, VALIDATION_MESSAGE, LIST_BODY, ENVELOPE, ROUTE_PATH, AS_WRITTEN,
            EVENT_SAMPLE, DELIVERY_ENTRY, DELIVERY_BODY, SIGNATURE_MESSAGE, SIGNATURE_VALUE, SIGNATURE_CLAIMS)

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


_PATH_WORD = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]*$")


def at(where: str, key: str | int) -> str:
    """`where` one step down, written as jsonschema writes its error paths (`$.a[0]['b.c']`)."""
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if _PATH_WORD.match(key) else f"{where}['{key}']"


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
    """What `{webhook.<field>}` may name (dispatcher._webhook_values): the stored fields, the fields
    the API shows, and `id`."""
    fields = _section(raw, "resource", "fields")
    shown = [n for n, spec in fields.items() if not (spec or {}).get("from") or not (spec or {}).get("hidden")]
    return list(dict.fromkeys([*shown, "id"]))


class _Lint:
    """The problems of one fixture, gathered line by line."""

    def __init__(self, path: Path, raw: dict[str, Any]) -> None:
        self.path = path
        self.raw = raw
        self.problems: list[str] = []
        self.fresh = list(_section(raw, "events", "fresh"))
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
        for place, text in _strings(template, where):
            for found in dict.fromkeys(m.group(1) for m in PLACEHOLDER.finditer(text)):
                head, *rest = found.split(".")
                if head not in known or (rest and head not in context.members):
                    shown = ", ".join(f"{{{n}.<field>}}" if n == "webhook" else f"{{{n}}}" for n in known)
                    self.problem(place, f"unknown placeholder {{{found}}}; known: {shown or 'none'}")
                elif head == "webhook" and rest and rest[0] not in self.webhook:
                    self.problem(place, f"unknown placeholder {{{found}}}; the webhook's fields: "
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
        for key, text in _section(errors, "messages").items():
            names = message_names(key)
            if names is None:
                self.problem(at("$.errors.messages", key), f"unknown message key {key!r}; known: "
                             + ", ".join(known_message_keys()))
            else:
                self.template(text, at("$.errors.messages", key), VALIDATION_MESSAGE, list(names))

    def responses(self) -> None:
        self.template(self.raw.get("envelope"), "$.envelope", ENVELOPE)
        self.template(_section(self.raw, "list").get("body"), "$.list.body", LIST_BODY)
        routes = self.raw.get("routes")
        for index, route in enumerate(routes if isinstance(routes, list) else []):
            if isinstance(route, dict):
                self.template(route.get("path"), at(at("$.routes", index), "path"), ROUTE_PATH)
                self.template(route.get("body"), at(at("$.routes", index), "body"), AS_WRITTEN)

    def events(self) -> None:
        for name, spec in _section(self.raw, "events", "catalogue").items():
            if isinstance(spec, dict):
                self.template(spec.get("sample"), at(at("$.events.catalogue", name), "sample"), EVENT_SAMPLE)
        catalogue = _section(self.raw, "events", "catalogue")
        for alias, target in _section(self.raw, "events", "aliases").items():
            if target not in catalogue:
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
    places = {**{n: at("$.events.catalogue", n) for n in _section(events, "catalogue")},
              **{n: at("$.events.aliases", n) for n in _section(events, "aliases")}}
    problems = [f"{path}: at {where}: event {n!r} is not in {file}" for n, where in places.items() if n not in listed]
    problems += [f"{file}: event {n!r} is not in the catalogue (or aliases) of {path}" for n in listed
                 if n not in places]
    return problems


def fixture_problems(path: Path, raw: dict[str, Any], schema_dir: Path) -> list[str]:
    """Every problem the meta-schema cannot see in the fixture `raw` read from `path` (its schemas
    in `schema_dir`, the provider's own folder), one line each naming the file and the place."""
    lint = _Lint(path, raw)
    lint.errors()
    lint.responses()
    lint.events()
    return lint.problems + events_problems(path, raw, schema_dir)
