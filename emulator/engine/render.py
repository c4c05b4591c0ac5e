"""Rendering in each provider's style: field formats, timestamp formats, wrappers and templates."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from emulator.engine.model import FieldSpec
    from emulator.engine.store import Record

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PLACEHOLDER = re.compile(r"\{(\w+(?:\.\w+)*)\}")
# A UTF-16 surrogate on its own: what undecodable bytes and bad \u escapes become in Python text.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@cache
def _zone(name: str | None) -> Any:
    return UTC if name in (None, "UTC") else ZoneInfo(name)


def format_time(value: datetime, fmt: str | None, tz: str | None = None) -> Any:
    """Render an instant: `iso_seconds`, `iso_millis`, `iso_micros`, `unix`, `unix_ms`, or a
    strftime pattern; `tz` is an IANA zone whose offset at that instant is used (default UTC)."""
    local = value.astimezone(_zone(tz))
    match fmt:
        case None | "iso_seconds":
            return local.isoformat(timespec="seconds")
        case "iso_millis":
            return local.isoformat(timespec="milliseconds")
        case "iso_micros":
            return local.isoformat(timespec="microseconds")
        case "unix":
            return (value - EPOCH) // timedelta(seconds=1)
        case "unix_ms":
            return (value - EPOCH) // timedelta(milliseconds=1)
        case _:
            return local.strftime(fmt)


def render_field(spec: FieldSpec, value: Any) -> Any:
    """One field's value in the provider's representation (format, then wrapper)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        value = format_time(value, spec.format, spec.tz)
    if spec.wrap:
        return {spec.wrap: value}
    return value


class Values(dict[str, Any]):
    """Template values; `factories` fill a placeholder lazily (e.g. a fresh request id)."""

    def __init__(self, values: Mapping[str, Any], factories: Mapping[str, Callable[[], Any]] | None = None):
        super().__init__(values)
        self._factories = factories or {}

    def extend(self, extra: Mapping[str, Any]) -> Values:
        """These values plus `extra`; lazy ones not yet made are still made here, once."""
        return Values({**self, **extra}, {k: partial(self.__getitem__, k) for k in self._factories if k not in extra})

    def with_factories(self, factories: Mapping[str, Callable[[], Any]]) -> Values:
        """These values plus lazy ones for the names they lack."""
        mine = {k: partial(self.__getitem__, k) for k in self._factories}
        return Values(self, {**{k: f for k, f in factories.items() if k not in self}, **mine})

    def __missing__(self, key: str) -> Any:
        if key in self._factories:
            self[key] = self._factories[key]()
            return self[key]
        raise KeyError(key)


def lookup(values: Mapping[str, Any], name: str) -> Any:
    """`values[name]`, where a dotted name (`webhook.url`) walks into nested objects."""
    head, *rest = name.split(".")
    value = values[head]
    try:
        for part in rest:
            value = value[part]
    except (KeyError, TypeError, IndexError):
        raise KeyError(name) from None
    return value


def fill(template: Any, values: Mapping[str, Any]) -> Any:
    """Instantiate a fixture template: a string that is exactly `{name}` becomes the value itself
    (any type); `{name}` inside a longer string is replaced by its text; containers recurse.
    Names may be dotted (`{payload.id_user}`); an unknown name is left as it is."""
    if isinstance(template, str):
        whole = _PLACEHOLDER.fullmatch(template)
        if whole:
            try:
                return lookup(values, whole.group(1))
            except KeyError:
                return template
        return _PLACEHOLDER.sub(lambda m: _text(values, m), template)
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


def _text(values: Mapping[str, Any], match: re.Match[str]) -> str:
    try:
        value = lookup(values, match.group(1))
    except KeyError:
        return match.group(0)
    return value if isinstance(value, str) else json.dumps(value)


# The two encoders of response bodies, made once (json.dumps makes one per call when given options).
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_PRETTY = json.JSONEncoder(indent=2, ensure_ascii=False)


def dump_json(payload: Any, pretty: bool = False) -> bytes:
    """Serialise a response body: compact, or indented for people (curl). Text that is not
    Unicode (header or path bytes that are not UTF-8 arrive as lone surrogates) is written as
    U+FFFD, so the result is always valid JSON in UTF-8."""
    text = _PRETTY.encode(payload) + "\n" if pretty else _COMPACT.encode(payload)
    try:
        return text.encode()
    except UnicodeEncodeError:
        return LONE_SURROGATE.sub("\ufffd", text).encode()


class Encoded(bytes):
    """A body already serialised as compact JSON (a cached list page): sent as it is."""


# A template value's stand-in while a template is serialised (see compile_template): NUL is written
# as \u0000 in JSON, and no fixture value holds it.
_MARK = "\x00"
_MARKED = re.compile(r'"\\u0000(\w+)\\u0000"')


def compile_template(template: Any, names: tuple[str, ...]) -> list[str | bytes] | None:
    """A fixture template (an envelope) as compact JSON bytes split around the whole-value
    placeholders of `names`, made once: the literal parts (bytes) and the names between them
    (str). None when one of them sits inside a longer string or is dotted, which only `fill` can
    render."""
    if template is None:
        return None
    text = dump_json(fill(template, {n: f"{_MARK}{n}{_MARK}" for n in names})).decode()
    pieces = _MARKED.split(text)
    literal = pieces[0::2]
    if any("\\u0000" in piece or any(m.group(1).split(".")[0] in names for m in _PLACEHOLDER.finditer(piece))
           for piece in literal):  # inside a longer string, or a dotted name (`{body.total}`)
        return None
    return [piece.encode() if i % 2 == 0 else piece for i, piece in enumerate(pieces)]


def encode_template(parts: list[str | bytes], values: Mapping[str, Any]) -> bytes:
    """A compiled template (see compile_template) filled with `values`, as compact JSON bytes; an
    Encoded value goes in as it is."""
    return b"".join(part if isinstance(part, bytes) else _encoded(values[part]) for part in parts)


def _encoded(value: Any) -> bytes:
    if isinstance(value, Encoded):
        return value
    if type(value) is int:  # a status code
        return str(value).encode()
    if type(value) is str and value.isascii():  # a request id
        return encode_basestring(value).encode()
    return dump_json(value)


def field_value(spec: FieldSpec, record: Record, ref: str) -> Any:
    """The stored value behind one field: record metadata for `from:` fields, else its data."""
    match spec.source:
        case None:
            return record.data.get(spec.name)
        case "id":
            return record.id
        case "created":
            return record.created
        case "updated":
            return record.updated
        case "modified":
            return record.modified
        case "tenant_ref":
            return ref
        case "deleted":
            return record.deleted
    raise ValueError(f"unknown field source {spec.source!r}")


def render_record(specs: Sequence[FieldSpec], record: Record, ref: str, keep: bool = True) -> dict[str, Any]:
    """A stored record as the provider renders it, in one of its views. Rendered once until the
    record changes (the store forgets its renderings then), so callers must not modify it; with
    `keep` False (a record just created, which may never be read again) the rendering is not kept."""
    key = (id(specs), ref)
    cache = record.rendered if record.rendered is not None else {}
    rendered = cache.get(key)
    if rendered is None:
        rendered = {spec.name: render_field(spec, field_value(spec, record, ref)) for spec in specs}
        if keep:
            record.rendered = cache
            cache[key] = rendered
    return rendered


def deep_merge(base: Any, overrides: Any) -> Any:
    """`overrides` laid over `base`: objects merge key by key, anything else replaces."""
    if not isinstance(base, dict) or not isinstance(overrides, dict):
        return copy.deepcopy(overrides)
    merged = dict(base)
    for key, value in overrides.items():
        merged[key] = deep_merge(base[key], value) if key in base else copy.deepcopy(value)
    return merged
