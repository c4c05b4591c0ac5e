"""Errors in each provider's own style. Nothing the emulator answers is ever a traceback."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from emulator.engine.model import ErrorKind, Language
from emulator.engine.render import Values, fill

if TYPE_CHECKING:  # (the provider model reads errors' kinds: this module renders them)
    from emulator.engine.provider import Provider

# Status of each error kind when the fixture does not say otherwise.
DEFAULT_STATUS = {
    "unauthorized": 401,
    "invalid_credentials": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "not_acceptable": 406,
    "invalid_page": 404,
    "malformed_body": 400,
    "validation": 400,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "rate_limited": 429,
    "internal": 500,
    "unavailable": 503,
}

# Plain-English defaults for `{message}` when a provider's fixture gives none.
DEFAULT_MESSAGE = {
    "unauthorized": "Unauthorized",
    "invalid_credentials": "Invalid credentials",
    "forbidden": "Forbidden",
    "not_found": "Not Found",
    "method_not_allowed": "Method Not Allowed",
    "not_acceptable": "Not Acceptable",
    "invalid_page": "Invalid page",
    "malformed_body": "Malformed request body: {detail}",
    "validation": "{detail}",
    "payload_too_large": "Request body too large",
    "unsupported_media_type": "Unsupported Media Type",
    "rate_limited": "Too Many Requests",
    "internal": "Internal error: {detail}",
    "unavailable": "Service Unavailable",
    "fault": "{detail}",
}


NO_KIND = ErrorKind()  # a kind the fixture does not describe: the defaults above


@dataclass
class Issue:
    """One thing wrong with a request body: where (a path of keys/indexes) and what."""

    path: tuple[str | int, ...]
    message: str


class ProviderError(Exception):
    """Raised anywhere in request handling; rendered as the provider's error response."""

    def __init__(
        self,
        kind: str,
        detail: str = "",
        *,
        issues: list[Issue] | None = None,
        headers: dict[str, str] | None = None,
        status: int | None = None,
        message: str | None = None,
    ) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
        self.issues = issues or []
        self.headers = headers or {}
        self.status = status  # answered instead of the kind's own status (an injected fault)
        self.message = message  # answered instead of the kind's own message (an object kind's `not_found`)


@dataclass
class ErrorReply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def issues_as_fields(issues: list[Issue], non_field_key: str) -> dict[str, Any]:
    """Django REST Framework's shape: {"field": ["msg"]}, {"events": {"0": ["msg"]}}; a field with
    problems of its own and of its members gets {"headers": {"non_field_errors": [...], "X": [...]}}."""
    result: dict[str, Any] = {}
    for issue in issues:
        path = [str(p) for p in issue.path] or [non_field_key]
        node = result
        for key in path[:-1]:
            if isinstance(node.get(key), list):
                node[key] = {non_field_key: node[key]}
            node = node.setdefault(key, {})
        if isinstance(node.get(path[-1]), dict):
            node = node[path[-1]]
            path = [non_field_key]
        node.setdefault(path[-1], []).append(issue.message)
    return result


def _located(issue: Issue) -> str:
    """An issue's message, led by its field path unless the message already starts with it."""
    where = ".".join(map(str, issue.path))
    return issue.message if not where or issue.message.startswith(where) else f"{where}: {issue.message}"


def issues_text(issues: list[Issue]) -> str:
    """Every issue in one line, each led by its field path: `url: Enter a valid URL.; events: ...`."""
    return "; ".join(_located(i) for i in issues)


def language(provider: Provider, accept: str | None) -> Language | None:
    """The fixture's `errors.languages` entry for the first language of an Accept-Language header
    (`sv-SE` finds `sv`), if it has one."""
    languages = provider.errors.languages
    if not languages or not accept:
        return None
    first = accept.split(",", 1)[0].split(";", 1)[0].strip().lower()
    return languages.get(first) or languages.get(first.split("-", 1)[0])


def render_error(provider: Provider, error: ProviderError, method: str, rid: Any,
                 lang: Language | None = None) -> ErrorReply:
    """The provider's status, body and headers for `error` (see the fixture's `errors`), its
    message in `lang` where that language has one."""
    spec = provider.errors
    kind = spec.kinds.get(error.kind) or NO_KIND
    detail = error.detail or issues_text(error.issues)
    base = {"detail": detail, "method": method}
    template = error.message or (lang.kinds.get(error.kind) if lang else None)
    if template is None:
        template = kind.message if kind.message is not None else DEFAULT_MESSAGE.get(error.kind, "{detail}")
    message = fill(template, base)
    status = error.status or kind.status or DEFAULT_STATUS.get(error.kind, 400)
    values = Values(
        {**base, "status": status, "message": message,
         "fields": issues_as_fields(error.issues, spec.non_field_key)
         if error.issues else {spec.non_field_key: [message]}},
        {"rid": rid},
    )
    body = fill(kind.body if kind.body is not None else spec.body, values)
    headers = {**fill(kind.headers, values), **error.headers}
    return ErrorReply(status, body, headers)
