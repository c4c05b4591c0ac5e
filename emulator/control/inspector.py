"""The inspector page at /_emulator/ui: static HTML, CSS and JavaScript shipped in the package
(emulator/control/ui/), which drive the emulator through the control API alone. The page and its assets
answer without the admin token (a browser sends no Bearer header when it navigates); the page
asks for the token when a control call answers 401."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

from emulator.control.api import ControlRoute, fail

UI_DIR = Path(__file__).parent / "ui"
CONTENT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
ASSET_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*\.(html|js|css|svg)")
# Only the page's own files run or load: no inline script, nothing from elsewhere, no framing.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _load(folder: Path) -> dict[str, tuple[bytes, str]]:
    """The page's files with their content types, read once (a reinstall under a running server
    cannot take them away)."""
    return {path.name: (path.read_bytes(), CONTENT_TYPES[path.suffix] + ("; charset=utf-8" if path.suffix != ".svg"
                                                                           else ""))
            for path in folder.iterdir() if ASSET_NAME.fullmatch(path.name)}


FILES = _load(UI_DIR)


def _file(request: web.Request, name: str) -> web.Response:
    found = FILES.get(name)
    if found is None:
        return fail(request, "not_found", f"the inspector has no file {name!r}")
    body, content_type = found
    return web.Response(body=body, headers={**HEADERS, "Content-Type": content_type})


async def page(request: web.Request) -> web.Response:
    """GET /_emulator/ui: the inspector page."""
    return _file(request, "index.html")


async def asset(request: web.Request) -> web.Response:
    """GET /_emulator/ui/{asset}: the page's script, style sheet and icon."""
    return _file(request, request.match_info["asset"])


async def to_page(request: web.Request) -> web.Response:
    """GET /_emulator/ui/: the page is at /_emulator/ui (its assets' links are relative to that)."""
    return web.Response(status=308, headers={"Location": "/_emulator/ui"})


ROUTES = [
    ControlRoute("GET", "/_emulator/ui", page, "The inspector page (open without the admin token)",
                 content_type="text/html"),
    ControlRoute("GET", "/_emulator/ui/", to_page, "A redirect to the inspector page", 308),
    ControlRoute("GET", "/_emulator/ui/{asset}", asset, "The inspector page's script, style sheet and icon",
                 content_type="text/*"),
]
