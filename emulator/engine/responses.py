"""JSON responses: indented for people (curl), compact for programs; EMPTY for no body at all; a
Download as it is."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator.engine.render import Encoded, dump_json

# A reply body meaning "no body" (a 204), as opposed to a JSON null.
EMPTY = object()


class Download(bytes):
    """A body that is not JSON (a ZIP archive of objects): sent as it is, never wrapped in an envelope."""

    content_type = "application/zip"


def wants_pretty(request: web.Request) -> bool:
    """People reading in a terminal get indented JSON; programs get it compact."""
    return request.headers.get("User-Agent", "").lower().startswith("curl/")


def json_response(request: web.Request, status: int, body: Any, headers: dict[str, str] | None = None
                  ) -> web.Response:
    """A JSON response (or an empty one for EMPTY), pretty for curl; an Encoded body as it is."""
    if body is EMPTY:
        return web.Response(status=status, headers=headers)
    if isinstance(body, Download):
        return web.Response(status=status, body=bytes(body), content_type=body.content_type, headers=headers)
    data = body if isinstance(body, Encoded) else dump_json(body, wants_pretty(request))
    return web.Response(status=status, body=data,
                        content_type="application/json", headers=headers)
