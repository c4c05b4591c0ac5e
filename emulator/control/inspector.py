"""The inspector page at /_emulator/ui: static HTML, CSS and JavaScript shipped in the package
(emulator/control/ui/), which drive the emulator through the control API alone. The page and its assets
answer without the admin token (a browser sends no Bearer header when it navigates); the page
asks for the token when a control call answers 401."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aiohttp import web

from emulator.control.base import ControlError, ControlRoute, provider_named
from emulator.delivery.specs import delivery_spec
from emulator.delivery.unreached import describe_webhook
from emulator.engine.events import EventError, catalogue
from emulator.engine.provider import Provider
from emulator.engine.render import render_record
from emulator.engine.responses import json_response
from emulator.engine.store import Collection, Record
from emulator.state import STATE

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
        raise ControlError("not_found", f"the inspector has no file {name!r}")
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


async def list_webhooks(request: web.Request) -> web.Response:
    """GET /_emulator/webhooks: every tenant's webhooks (of one `provider`, if given), a row each
    as the inspector's tables show them: id, url, the events it wants, disabled, deleted, created,
    updated, and the provider's other fields as its API renders them."""
    state = request.app[STATE]
    names = list(state.providers)
    if "provider" in request.query:
        found = provider_named(request, request.query["provider"])
        names = [found.name]
    groups = []
    for name in names:
        provider = state.providers[name]
        for tenant, collection in state.store.provider_collections(name):
            groups.append({"provider": name, "tenant": tenant, "webhooks": [
                webhook_row(provider, tenant, collection, record, deleted)
                for records, deleted in ((collection.records, False), (collection.removed, True))
                for record in records.values()]})
    return json_response(request, 200, {"groups": groups})


def webhook_row(provider: Provider, tenant: str, collection: Collection, record: Record, deleted: bool
                ) -> dict[str, Any]:
    """One webhook as a row: what describe_webhook says, its times, and its other rendered fields."""
    view = provider.views["default"]
    rendered = render_record(view, record, collection.ref)
    shown = _shown_fields(provider)
    try:
        described = describe_webhook(provider, tenant, record)
    except EventError:  # a provider that sends nothing: no url, no events
        described = {"id": record.id, "tenant": tenant, "url": None, "events": [], "disabled": False}
    fields = {spec.name: rendered[spec.name] for spec in view
              if spec.name not in shown and spec.source not in ("id", "created", "updated", "modified", "deleted")}
    return {**described, "scope": record.scope, "deleted": deleted,
            "created": record.created.isoformat(timespec="seconds"),
            "updated": record.updated.isoformat(timespec="seconds"), "fields": fields}


def _shown_fields(provider: Provider) -> set[str]:
    """The fields a row shows in its own columns: the url and what says which events it wants."""
    try:
        spec = delivery_spec(provider)
    except EventError:
        return set()
    rule = spec.subscribers
    wanted = set(catalogue(provider)) if rule.match == "flag" or rule.field is None else {rule.field}
    return {spec.url_field, *wanted}


ROUTES = [
    ControlRoute("GET", "/_emulator/webhooks", list_webhooks, "Every tenant's webhooks, a row each (id, url, the "
                 "events it wants, disabled, deleted, created, updated, other fields), as the inspector shows them",
                 query=("provider",)),
    ControlRoute("GET", "/_emulator/ui", page, "The inspector page (open without the admin token)",
                 content_type="text/html"),
    ControlRoute("GET", "/_emulator/ui/", to_page, "A redirect to the inspector page", 308),
    ControlRoute("GET", "/_emulator/ui/{asset}", asset, "The inspector page's script, style sheet and icon",
                 content_type="text/*"),
]
