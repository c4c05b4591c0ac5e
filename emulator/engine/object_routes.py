"""The GET routes of the objects notifications point to: one object by its id, or a list of a
tenant's objects of a kind (filtered by query or path parameters, paged as the provider pages its
webhooks), as JSON in the provider's style or as a ZIP archive."""

from __future__ import annotations

import base64
import binascii
import io
import json
import zipfile
from datetime import UTC, datetime
from typing import Any

from emulator.engine.errors import ProviderError
from emulator.engine.model import ObjectKind, ObjectRoute
from emulator.engine.objects import get_path, shown
from emulator.engine.render import fill
from emulator.engine.resources import Action, Call, Reply, page_values, time_filters, window
from emulator.engine.responses import Download
from emulator.engine.store import StoredObject


def _route(call: Call) -> tuple[ObjectKind, ObjectRoute]:
    assert call.provider.objects is not None and call.route.kind is not None and call.route.object_route
    return call.provider.objects.kinds[call.route.kind], call.route.object_route


def _visible(call: Call, kind: ObjectKind) -> dict[str, StoredObject]:
    """The caller's tenant's objects of the kind, those of other sub-scopes left out."""
    assert call.identity is not None and call.route.kind is not None
    objects = call.state.store.kind_objects(call.provider.object_pool, call.identity.tenant, call.route.kind)
    if not kind.scoped:
        return objects
    return {i: o for i, o in objects.items() if o.seen_from(call.identity.scope)}


def _decoded(value: Any) -> Any:
    """A base64 JSON document, parsed; None when it is not one."""
    try:
        return json.loads(base64.b64decode(value, validate=True))
    except (TypeError, ValueError, binascii.Error):
        return None


def _show(kind: ObjectKind, spec: ObjectRoute, stored: StoredObject) -> dict[str, Any]:
    data = shown(kind, stored.data)
    return {**data, **{name: _decoded(data.get(name)) for name in spec.decode if name in data}} if spec.decode \
        else data


async def object_one(call: Call) -> Reply:
    """GET of one object: the stored one with the path's id, or the provider's 404 (also for a
    soft-deleted one, unless the kind's `deleted_answer` is `object`)."""
    kind, spec = _route(call)
    stored = _visible(call, kind).get(call.params.get("id", ""))
    if stored is None or (stored.deleted and kind.deleted_answer == "not_found"):
        raise ProviderError("not_found", kind.name, message=kind.not_found)
    return Reply(200, fill("{object}" if spec.body is None else spec.body, {"object": _show(kind, spec, stored)}))


def _matching(call: Call, kind: ObjectKind, spec: ObjectRoute) -> list[StoredObject]:
    wanted = {}
    for param, field_name in spec.filters.items():
        value = call.params.get(param, call.request.query.get(param))
        if value is not None:
            wanted[field_name] = value
    keeps = time_filters(call, kind.times)
    return [o for o in _visible(call, kind).values() if not o.deleted
            and all(_text(get_path(o.data, f)) == v for f, v in wanted.items())
            and (not keeps or all(keep(_Times.of(kind, o)) for keep in keeps))]


class _Times:
    """An object's times by name (`created`, `updated`, `delivery`...), read from the fields its
    kind's `times` names, as attributes for the list's time filters (None: it has no such time, or
    not one that reads as a time)."""

    __slots__ = ("_found",)

    def __init__(self, found: dict[str, datetime | None]) -> None:
        self._found = found

    def __getattr__(self, name: str) -> datetime | None:
        return self._found.get(name)

    @classmethod
    def of(cls, kind: ObjectKind, stored: StoredObject) -> _Times:
        return cls({name: _instant(get_path(stored.data, path)) for name, path in kind.times.items()})


def _instant(value: Any) -> datetime | None:
    """An ISO 8601 date-time with its offset, or epoch seconds (milliseconds from 10^11 on)."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / 1000 if abs(value) >= 1e11 else value, UTC)
        if isinstance(value, str):
            moment = datetime.fromisoformat(value)
            return moment if moment.tzinfo is not None else None
    except (ValueError, OverflowError, OSError):
        pass
    return None


def _after(call: Call, kind: ObjectKind, objects: list[StoredObject]) -> list[StoredObject]:
    """Those stored after the object the paging's `after` parameter names (one of the tenant's
    of the kind, whatever the filters), as the webhook list pages; none when it names no object."""
    name = call.provider.listing.paging.after
    after = call.request.query.get(name) if name else None
    if not after:
        return objects
    order = list(_visible(call, kind))
    if after not in order:
        return []
    later = set(order[order.index(after) + 1:])
    return [o for o in objects if get_path(o.data, kind.id) in later]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


async def object_list(call: Call) -> Reply:
    """GET of a list: the tenant's live objects of the kind that match the route's filters, in the
    order they were first stored, paged as the provider's `list.paging` says."""
    kind, spec = _route(call)
    matching = _after(call, kind, _matching(call, kind, spec))
    offset, limit, page = window(call)
    found = matching[offset:None if limit is None else offset + limit]
    values, headers = page_values(call, page, limit, len(matching), bool(found))
    if spec.zip is not None:
        return Reply(200, _archive(kind, spec, found), headers)
    values["items"] = [_show(kind, spec, o) for o in found]
    return Reply(200, fill(call.provider.listing.body if spec.body is None else spec.body, values), headers)


def _archive(kind: ObjectKind, spec: ObjectRoute, objects: list[StoredObject]) -> Download:
    """A ZIP archive of the objects: one entry each, named by the `zip.name` field, holding the
    base64-decoded `zip.content` field (or the object as JSON)."""
    assert spec.zip is not None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, stored in enumerate(objects):
            name = get_path(stored.data, spec.zip.name)
            content = get_path(stored.data, spec.zip.content) if spec.zip.content else None
            try:
                data = base64.b64decode(content, validate=True) if isinstance(content, str) else None
            except (ValueError, binascii.Error):
                data = None
            if data is None:
                data = json.dumps(shown(kind, stored.data), ensure_ascii=False).encode()
            # (a fixed time: the same objects make the same bytes)
            info = zipfile.ZipInfo(str(name) if name else f"{index + 1}.json", date_time=(1980, 1, 1, 0, 0, 0))
            archive.writestr(info, data)
    return Download(buffer.getvalue())


OBJECT_ACTIONS: dict[str, Action] = {"object_one": object_one, "object_list": object_list}
