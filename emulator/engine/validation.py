"""Request bodies: parsing (JSON or form) and validation against a route's JSON Schema, with
messages in the provider's words."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from jsonschema import ValidationError
from multidict import MultiDict, MultiDictProxy

from emulator.engine.errors import Issue, ProviderError
from emulator.engine.fast_validation import TwoTierValidator
from emulator.engine.render import LONE_SURROGATE, fill

DEFAULT_MESSAGES = {
    "required": "{field} is required",
    "type": "{field} must be of type {expected}",
    "enum": "{field}: {value} is not a valid choice",
    "format": "{field} must be a valid {limit}",
    "format:header-name": "{field}: {value} is not a valid header name",
    "format:header-value": "{field} must not contain control characters",
    "minItems": "{field} must not be empty",
    "minimum": "{field} must be >= {limit}",
    "minLength": "{field} must not be blank",
    "maxLength": "{field} must be at most {limit} characters",
    "uniqueItems": "{field} must not repeat items",
    "not_object": "the body must be a JSON object, not {actual}",
    "unique": "{field} {value} already exists",
    "integer": "{field} must be an integer >= {limit}",
    "timestamp": "{field} must be an ISO 8601 timestamp with an offset",
    "sort": "{field} must be one of {choices}",
    "choice": "{field} must be one of {choices}",
}

# How the default `format` message names a format (`{limit}`); others by their own name.
FORMAT_WORDS = {"http-url": "http(s) URL", "django-url": "URL", "uri": "URI", "uri-reference": "URI reference",
                "idn-email": "email", "ipv4": "IPv4 address", "ipv6": "IPv6 address", "uuid": "UUID"}

# Deeper bodies are refused: no provider's objects nest more than a few levels, and validating or
# rendering a deeper one would exhaust the interpreter's recursion limit.
MAX_DEPTH = 64
# Nor more values than this in one body (validating each costs time; no real body comes near it).
MAX_VALUES = 10_000

JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
              float: "number", type(None): "null"}


def parse_json(raw: bytes, max_values: int = MAX_VALUES) -> Any:
    """Decode a JSON body, or raise `malformed_body` saying why it cannot be used: not UTF-8, not
    JSON (the parser's own explanation), NaN or infinite numbers, nesting deeper than MAX_DEPTH,
    or a \\u escape that is a lone surrogate (not Unicode, so it could never be written back); or
    `payload_too_large` for more than `max_values` values."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProviderError("malformed_body", "the body is not valid UTF-8") from None
    return _load(text, max_values=max_values, from_utf8=True)


def _load(text: str, not_json: Any = None, max_values: int = MAX_VALUES, from_utf8: bool = False) -> Any:
    """JSON text as data, refused as parse_json says; text that is not JSON at all gives
    `not_json` when one is given. `from_utf8`: the text was decoded from UTF-8, so it holds no
    lone surrogate of its own (a form field's text, decoded by the charset the client named, may)."""
    try:
        value = DECODER.decode(text)
    except RecursionError:
        raise ProviderError("malformed_body", f"the body is nested more than {MAX_DEPTH} levels deep") from None
    except json.JSONDecodeError as exc:
        if not_json is not None:
            return not_json
        raise ProviderError("malformed_body", str(exc)) from None
    except ValueError as exc:  # a non-finite number, an integer of thousands of digits
        raise ProviderError("malformed_body", str(exc)) from None
    if not (from_utf8 and _plainly_usable(text, max_values)):
        _check_parsed(value, max_values)
    return value


def _plainly_usable(text: str, max_values: int) -> bool:
    """Whether JSON text decoded from UTF-8 is short and plain enough that its data needs no
    _check_parsed walk: no more characters than values allowed (a value takes at least one), fewer
    brackets than MAX_DEPTH, and no \\u escape (UTF-8 holds no lone surrogate; only an escape can
    make one)."""
    return len(text) <= max_values and text.count("{") + text.count("[") < MAX_DEPTH and "\\u" not in text


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range for a number")
    return value


# JSON as the providers parse it: NaN, Infinity and out-of-range numbers are not JSON numbers.
DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)


def _check_parsed(value: Any, max_values: int = MAX_VALUES) -> None:
    """Raise if parsed JSON cannot be used: too deep, too many values, or a lone surrogate."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    count = 0
    while stack:
        item, depth = stack.pop()
        count += 1
        if count > max_values:
            raise ProviderError("payload_too_large", f"the body holds more than {max_values} values")
        if isinstance(item, str):
            found = None if item.isascii() else LONE_SURROGATE.search(item)
            if found:
                raise ProviderError("malformed_body", f"invalid \\u escape: lone surrogate U+{ord(found.group()):04X} "
                                    "is not a Unicode character")
        elif isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                raise ProviderError("malformed_body", f"the body is nested more than {MAX_DEPTH} levels deep")
            children = [*item, *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def multipart_form(raw: bytes, content_type: str) -> MultiDictProxy[str]:
    """The text fields of a multipart/form-data body (file parts are left out), read from its bytes
    (already read, and decoded from any Content-Encoding); `malformed_body` when it is not multipart
    under the boundary its Content-Type names, or a field is not text in its charset (UTF-8 by default)."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + raw)
    boundary = message.get_boundary()
    if boundary is None or not message.is_multipart():
        problem = "its Content-Type names no boundary" if boundary is None else f"no starting boundary --{boundary}"
        raise ProviderError("malformed_body", f"the multipart form body cannot be read: {problem}")
    form: MultiDict[str] = MultiDict()
    for part in message.iter_parts():
        disposition = part.get("Content-Disposition")
        name = getattr(disposition, "params", {}).get("name")
        if name is None or part.get_filename() is not None:
            continue
        charset = part.get_content_charset() or "utf-8"
        payload = part.get_payload(decode=True)
        try:
            form.add(name, payload.decode(charset) if isinstance(payload, bytes) else str(payload or ""))
        except (LookupError, UnicodeDecodeError):
            raise ProviderError("malformed_body", f"the multipart form field {name} is not {charset} text") from None
    return MultiDictProxy(form)


INDEXED_KEY = re.compile(r"(\w+)\[(\d+)\]")


def coerce_form(form: MultiDictProxy[Any], schema: dict[str, Any] | None) -> dict[str, Any]:
    """A form-encoded body as the JSON object the route's schema describes: repeated or single
    values for arrays, JSON text for objects, "true"/"1" for booleans, digits for integers."""
    props = (schema or {}).get("properties", {})
    body: dict[str, Any] = {}
    indexed: dict[str, list[tuple[int, str]]] = {}  # `events[0]=A&events[1]=B` (PHP, Rails, DRF forms)
    for key in form:
        found = INDEXED_KEY.fullmatch(key)
        if found and props.get(found[1], {}).get("type") == "array" and found[1] not in form:
            indexed.setdefault(found[1], []).extend((int(found[2]), v) for v in form.getall(key) if isinstance(v, str))
    for name, items in indexed.items():
        body[name] = [value for _, value in sorted(items, key=lambda item: item[0])]
    for key in form:
        found = INDEXED_KEY.fullmatch(key)
        if key in body or (found and found[1] in indexed):
            continue
        kind = props.get(key, {}).get("type")
        values = [v for v in form.getall(key) if isinstance(v, str)]
        if not values:
            continue
        body[key] = _coerce(values, kind)
    return body


def _coerce(values: list[str], kind: Any) -> Any:
    value = values[-1]
    if kind == "array":
        if len(values) == 1 and value.lstrip().startswith("["):
            return _maybe_json(value)
        return [item.strip() for v in values for item in v.split(",") if item.strip()]
    if kind == "object":
        return _maybe_json(value)
    if kind == "boolean":
        return {"true": True, "1": True, "false": False, "0": False}.get(value.strip().lower(), value)
    if kind == "integer":
        return int(value) if value.strip().lstrip("-").isdigit() else value
    return value


def _maybe_json(text: str) -> Any:
    """A form value holding JSON as that JSON (refused as a JSON body would be), else the text."""
    return _load(text, not_json=text)


def body_issues(body: Any, validator: TwoTierValidator | None, messages: Mapping[str, str]) -> list[Issue]:
    """Everything wrong with `body` under the route's schema, each problem once."""
    if not isinstance(body, dict):
        return [Issue((), message(messages, "not_object", actual=JSON_TYPES.get(type(body), "value"),
                                   python_type=type(body).__name__))]
    if validator is None:
        return []
    found: dict[tuple[tuple[str | int, ...], str], Issue] = {}
    for error in validator.iter_errors(body):
        for issue in _issues(error, messages):
            found.setdefault((issue.path, issue.message), issue)
    return list(found.values())


def raise_issues(issues: list[Issue], schema: dict[str, Any] | None) -> None:
    """Raise `validation` with every issue, ordered as the schema declares its fields (then by
    key or array position), the way a serializer reports them; do nothing when there are none."""
    if not issues:
        return
    declared = list((schema or {}).get("properties", {}))

    def order(issue: Issue) -> tuple[int, list[tuple[int, int, str]]]:
        head = issue.path[0] if issue.path else None
        rank = declared.index(head) if head in declared else len(declared) + (head is not None)
        return rank, [(0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in issue.path[1:]]

    raise ProviderError("validation", issues=sorted(issues, key=order))


def unique_issue(field: str, value: Any, messages: Mapping[str, str]) -> Issue:
    """The issue of a value that must be unique among the tenant's records."""
    return Issue((field,), message(messages, "unique", field=field, value=value))


def param_error(name: str, keyword: str, messages: Mapping[str, str], **values: Any) -> ProviderError:
    """The `validation` error for an unusable query parameter, in the provider's words."""
    return ProviderError("validation", issues=[Issue((name,), message(messages, keyword, field=name, **values))])


def _issues(error: ValidationError, messages: Mapping[str, str]) -> list[Issue]:
    """The issues one schema error stands for: a `required` error names every missing property
    (jsonschema repeats the same error once per missing one)."""
    path: tuple[str | int, ...] = tuple(error.absolute_path)
    keyword = str(error.validator)
    extra: dict[str, Any] = {"value": error.instance, "limit": error.validator_value}
    if keyword == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        return [Issue((*path, k), message(messages, keyword, field=".".join(map(str, (*path, k))), **extra))
                for k in missing]
    if keyword == "type":
        extra["expected"] = error.validator_value
        extra["actual"] = JSON_TYPES.get(type(error.instance), "value")
        extra["python_type"] = type(error.instance).__name__  # what Python services (DRF) print
    if keyword == "format":
        extra["limit"] = FORMAT_WORDS.get(error.validator_value, error.validator_value)
    if keyword in ("type", "format"):  # a message for one type or format ("type:array") if there is one
        specific = f"{keyword}:{error.validator_value}"
        if specific in messages or specific in DEFAULT_MESSAGES:
            keyword = specific
    field = ".".join(str(p) for p in path) or "body"
    return [Issue(path, message(messages, keyword, field=field, **extra))]


def message(messages: Mapping[str, str], keyword: str, **values: Any) -> str:
    """The provider's message for `keyword` (else the default), its placeholders filled."""
    template = messages.get(keyword) or DEFAULT_MESSAGES.get(keyword) or "{field} is invalid"
    return fill(template, {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()})
