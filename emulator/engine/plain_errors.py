"""The emulator's own error shape, `{"error": kind, "message": text}`: the control API's, and that of
paths no provider owns (the engine's 404s and 500s)."""

from __future__ import annotations

from aiohttp import web

from emulator.engine.errors import DEFAULT_MESSAGE, DEFAULT_STATUS, ErrorReply, ProviderError, issues_text
from emulator.engine.render import fill
from emulator.engine.responses import json_response

# The error kind of an aiohttp HTTPException a handler raised.
HTTP_ERROR_KINDS = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def plain_error(error: ProviderError, status: int | None = None) -> ErrorReply:
    """The emulator's own error shape, for the control API and paths no provider owns."""
    status = status or DEFAULT_STATUS.get(error.kind, 400)
    default = fill(DEFAULT_MESSAGE.get(error.kind, "{detail}"), {"detail": ""})
    message = error.detail or issues_text(error.issues) or default
    return ErrorReply(status, {"error": error.kind, "message": message})


def plain_response(request: web.Request, error: ProviderError, status: int | None = None) -> web.Response:
    """`error` in the emulator's own shape (see plain_error), as a response."""
    reply = plain_error(error, status)
    return json_response(request, reply.status, reply.body)


def error_of(exc: Exception) -> tuple[int, ProviderError]:
    """The status and error of an exception that reached a handler: one aiohttp raised (a
    too-large body: its own status and reason; a body that does not decode: 400), or a bug (500,
    named by its type)."""
    if isinstance(exc, web.HTTPException):
        kind = HTTP_ERROR_KINDS.get(exc.status, "internal" if exc.status >= 500 else "validation")
        return exc.status, ProviderError(kind, exc.reason)
    if isinstance(exc, web.RequestPayloadError):  # a body that does not decode (its Content-Encoding)
        reason = getattr(exc.__cause__, "message", None) or "the body cannot be read"
        return 400, ProviderError("malformed_body", reason)
    return 500, ProviderError("internal", type(exc).__name__)
