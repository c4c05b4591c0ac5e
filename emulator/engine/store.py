"""State: one collection of records per (provider, tenant), plus issued tokens and idempotency keys.

Collections keep two orders (creation and last update) so that the default sorts page without
sorting; other sort keys sort on demand.
"""

from __future__ import annotations

import functools
import itertools
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

# Issued tokens and idempotency replays kept per emulator, and soft-deleted records per collection,
# at most (the expired go first, then the oldest): a long run of unique idempotency keys, token
# grants or soft deletes cannot grow memory without end.
MAX_KEPT = 1000
# Scopes whose view of a collection is kept ready (see Collection.visible).
MAX_VIEWS = 16
# Values derived from a collection (rendered list pages, its subscriber index) that it keeps until it
# next changes (see Collection.derived).
MAX_DERIVED = 32


@dataclass(slots=True)
class Record:
    """One stored object: its field values plus the metadata every provider's rendering draws on."""

    id: str
    data: dict[str, Any]
    created: datetime
    updated: datetime
    modified: datetime | None = None
    scope: str | None = None
    deleted: bool = False
    # Its renderings (see render.render_record), by view and tenant ref, until it next changes.
    # (None until first rendered: no empty dict per record.)
    rendered: dict[tuple[int, str], dict[str, Any]] | None = field(default=None, repr=False, compare=False)

    def seen_from(self, scope: str | None) -> bool:
        """Whether a caller in `scope` sees this record: unscoped records, and its own scope's."""
        return self.scope is None or self.scope == scope


class Everyone:
    """The `scope` of a caller who sees every record (providers without scopes)."""


EVERYONE = Everyone()


@dataclass
class Collection:
    """A tenant's records of one provider."""

    ref: str  # the tenant's own id in the provider (e.g. a `company` id field)
    records: dict[str, Record] = field(default_factory=dict)
    by_update: dict[str, None] = field(default_factory=dict)
    removed: dict[str, Record] = field(default_factory=dict)
    # Told the id of every record added, changed or removed (by a durable store; None in memory).
    watch: Callable[[str], None] | None = field(default=None, repr=False, compare=False)
    # Per caller scope, the ids of the records it sees (Record.seen_from), in creation order: built on
    # first use and kept up to date, so a page of one scope's view costs O(page), not O(records).
    _views: dict[str | None, dict[str, None]] = field(default_factory=dict, repr=False, compare=False)
    # Values derived from the records as they are now (rendered list pages, the subscriber index),
    # by a key their makers choose: every change of the collection or of one of its records forgets
    # them all.
    derived: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def keep(self, key: Any, value: Any) -> None:
        """Keep a value derived from the records until the collection changes (MAX_DERIVED at most)."""
        if len(self.derived) >= MAX_DERIVED:
            self.derived.clear()
        self.derived[key] = value

    def add(self, record: Record) -> None:
        self.derived.clear()
        self.records[record.id] = record
        self.by_update[record.id] = None
        for scope, view in self._views.items():
            if record.seen_from(scope):
                view[record.id] = None
        if self.watch:
            self.watch(record.id)

    def visible(self, scope: str | None) -> dict[str, None]:
        """The ids a caller with `scope` sees, in creation order (the views of the MAX_VIEWS scopes
        listed last are kept; callers may send any scope header)."""
        view = self._views.pop(scope, None)
        if view is None:
            view = {i: None for i, r in self.records.items() if r.seen_from(scope)}
            while len(self._views) >= MAX_VIEWS:
                del self._views[next(iter(self._views))]
        self._views[scope] = view  # the most recently listed last
        return view

    def get(self, record_id: str) -> Record | None:
        return self.records.get(record_id)

    def changed(self, record: Record) -> None:
        """A record's data changed in place (a counter): its renderings are stale; tell the watcher."""
        record.rendered = None
        self.derived.clear()
        if self.watch:
            self.watch(record.id)

    def touch(self, record: Record, old_id: str | None = None) -> None:
        """Record an update (and a change of id or scope): it moves to the end of the update order."""
        record.rendered = None
        self.derived.clear()
        self._views.clear()  # an id or a scope may have changed: views are rebuilt when next listed
        if old_id is not None and old_id != record.id:
            self.records = {(record.id if k == old_id else k): v for k, v in self.records.items()}
            del self.by_update[old_id]
        else:
            self.by_update.pop(record.id, None)
        self.by_update[record.id] = None
        if self.watch:
            self.watch(record.id)
            if old_id is not None:
                self.watch(old_id)

    def order_by_update_time(self) -> None:
        """Rebuild the update order from the records' update times (restoring state)."""
        ordered = sorted(self.records.values(), key=lambda r: r.updated)
        self.by_update = {r.id: None for r in ordered}
        self._views.clear()
        self.derived.clear()

    def remove(self, record: Record, soft: bool) -> None:
        """Delete a record; a soft-deleted one is kept aside (the MAX_KEPT most recent)."""
        record.rendered = None  # its deleted flag may have changed
        self.derived.clear()
        del self.records[record.id]
        del self.by_update[record.id]
        for view in self._views.values():
            view.pop(record.id, None)
        if soft:
            self.removed[record.id] = record
            while len(self.removed) > MAX_KEPT:
                forgotten = next(iter(self.removed))
                del self.removed[forgotten]
                if self.watch:
                    self.watch(forgotten)
        if self.watch:
            self.watch(record.id)

    def ordered(self, key: str = "created", descending: bool = False) -> Iterator[Record]:
        """Live records in creation or update order, or sorted by a field's stored value."""
        if key == "created":
            ids: Any = reversed(self.records) if descending else iter(self.records)
            return (self.records[i] for i in ids)
        if key == "updated":
            ids = reversed(self.by_update) if descending else iter(self.by_update)
            return (self.records[i] for i in ids)
        items = sorted(self.records.values(), key=lambda r: _sort_key(r.data.get(key)), reverse=descending)
        return iter(items)

    def page(
        self,
        offset: int,
        limit: int | None,
        key: str = "created",
        descending: bool = False,
        keep: Callable[[Record], bool] | None = None,
        scope: str | Everyone | None = EVERYONE,
    ) -> tuple[list[Record], int]:
        """One page of the live records a caller with `scope` sees (EVERYONE: all) that match
        `keep`, and their total (any offset and limit a client sends, however large, is simply
        past the end). In creation order with no `keep`, a page costs O(page) plus O(its distance
        from the nearer end)."""
        offset = min(offset, sys.maxsize)
        end = None if limit is None else min(offset + limit, sys.maxsize)
        if key == "created" and keep is None:
            ids = self.records if isinstance(scope, Everyone) else self.visible(scope)
            return [self.records[i] for i in _slice(ids, offset, end, descending)], len(ids)
        stream = self.ordered(key, descending)
        if not isinstance(scope, Everyone):
            also, seer = keep, scope
            keep = lambda r: r.seen_from(seer) and (also is None or also(r))  # noqa: E731
        if keep is None:
            return list(itertools.islice(stream, offset, end)), len(self.records)
        matching = [r for r in stream if keep(r)]
        return matching[offset:end], len(matching)


def _slice(ids: dict[str, Any], start: int, end: int | None, descending: bool) -> list[str]:
    """ids[start:end] in creation order (or newest first), walked from whichever end is nearer:
    the last page costs what the first does."""
    total = len(ids)
    stop = total if end is None else min(end, total)
    if start >= stop:
        return []
    if start <= total - stop:
        return list(itertools.islice(reversed(ids) if descending else iter(ids), start, stop))
    backwards = itertools.islice(iter(ids) if descending else reversed(ids), total - stop, total - start)
    return list(backwards)[::-1]


def _sort_key(value: Any) -> tuple[int, str]:
    return (0, "") if value is None else (1, str(value))


@dataclass(slots=True)
class StoredObject:
    """One object a notification points to (a payout, a product), as the provider's API shows it."""

    data: dict[str, Any]
    scope: str | None = None
    deleted: bool = False

    def seen_from(self, scope: str | None) -> bool:
        """Whether a caller in `scope` sees it: unscoped objects, and its own scope's."""
        return self.scope is None or self.scope == scope


# The objects of one tenant of a pool, by kind and id, in the order they were first stored.
Objects = dict[str, dict[str, StoredObject]]


@dataclass
class Token:
    """An OAuth access token a provider issued."""

    owner: str
    expires: datetime
    refresh: str
    scope: str


@dataclass
class Replay:
    """A stored response for an idempotency key."""

    status: int
    body: bytes
    headers: dict[str, str]
    expires: datetime


@dataclass
class Changes:
    """What changed since a durable store last wrote: the keys to write again (from memory)."""

    records: set[tuple[str, str, str]] = field(default_factory=set)
    tenants: set[tuple[str, str]] = field(default_factory=set)
    tokens: set[str] = field(default_factory=set)
    replays: set[tuple[str, str, str]] = field(default_factory=set)
    # (pool, tenant, kind, id) of objects stored or forgotten, in the order they were (new ones are
    # written in it, which is the order they are read back in)
    objects: dict[tuple[str, str, str, str], None] = field(default_factory=dict)
    object_resets: list[str | None] = field(default_factory=list)  # pools (None: all)
    deliveries: dict[str, tuple[Any, float | None]] = field(default_factory=dict)
    forgotten: set[str] = field(default_factory=set)  # delivery ids
    resets: list[str | None] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any(vars(self).values())


class _Expiring(Protocol):
    expires: datetime


Key = TypeVar("Key")
Kept = TypeVar("Kept", bound=_Expiring)


def _keep(items: dict[Key, Kept], key: Key, item: Kept, now: datetime) -> list[Key]:
    """Add `item`, then stay within MAX_KEPT: drop the expired, then the oldest; the keys dropped."""
    items[key] = item
    if len(items) <= MAX_KEPT:
        return []
    dropped = [k for k, v in items.items() if v.expires <= now]
    for stale in dropped:
        del items[stale]
    while len(items) > MAX_KEPT:
        oldest = next(iter(items))
        del items[oldest]
        dropped.append(oldest)
    return dropped


class Store:
    """All state of one emulator: collections, issued tokens, idempotency replays, held in memory.

    This class is the interface the engine uses; a durable store (emulator/storage/persistence.py) is a
    subclass that keeps `changes` and writes them on `commit()` (after each request, and as
    deliveries progress). In memory both are no-ops."""

    def __init__(self, make_ref: Callable[[], str]) -> None:
        self._make_ref = make_ref
        self.collections: dict[tuple[str, str], Collection] = {}
        self.tokens: dict[str, dict[str, Token]] = {}
        self.replays: dict[tuple[str, str, str], Replay] = {}
        # Objects notifications point to, by (pool, tenant): see put_object.
        self.objects: dict[tuple[str, str], Objects] = {}
        self.jwks: dict[str, dict[str, str]] = {}  # provider -> the JWK its notifications are signed with
        self.changes: Changes | None = None

    def close(self) -> None:
        """Release what the store holds (in memory: nothing)."""

    def collection(self, provider: str, tenant: str) -> Collection:
        """The tenant's collection, created (with a fresh tenant ref) on first use."""
        key = (provider, tenant)
        found = self.collections.get(key)
        if found is None:
            found = self.collections[key] = Collection(ref=self._make_ref())
            self._watch(provider, tenant, found)
        return found

    def existing(self, provider: str, tenant: str) -> Collection | None:
        """The tenant's collection if it has one (never creates it)."""
        return self.collections.get((provider, tenant))

    def _watch(self, provider: str, tenant: str, collection: Collection) -> None:
        if self.changes is None:
            return
        self.changes.tenants.add((provider, tenant))
        collection.watch = functools.partial(self.record_changed, provider, tenant)

    def record_changed(self, provider: str, tenant: str, record_id: str) -> None:
        """A record was added, changed or removed."""
        if self.changes is not None:
            self.changes.records.add((provider, tenant, record_id))

    def commit(self) -> None:
        """Make what changed durable (a durable store writes it; in memory there is nothing to do)."""

    def delivery_changed(self, delivery: Any, due: float | None = None) -> None:
        """A delivery was made or progressed; `due`: when (epoch seconds) its next attempt is."""

    def delivery_forgotten(self, delivery_id: str) -> None:
        """A delivery left the delivery log: a durable store no longer keeps (or resumes) it."""
        if self.changes is not None:
            self.changes.deliveries.pop(delivery_id, None)
            self.changes.forgotten.add(delivery_id)


    def provider_collections(self, provider: str) -> Iterator[tuple[str, Collection]]:
        """(tenant, collection) pairs of one provider."""
        return ((t, c) for (p, t), c in self.collections.items() if p == provider)

    def adopt(self, provider: str, tenant: str, collection: Collection) -> None:
        """Take a ready collection as the tenant's (restoring state)."""
        self.collections[(provider, tenant)] = collection
        self._watch(provider, tenant, collection)
        if collection.watch:
            for record_id in [*collection.records, *collection.removed]:
                collection.watch(record_id)

    def provider_tokens(self, provider: str) -> dict[str, Token]:
        return self.tokens.setdefault(provider, {})

    def issue(self, provider: str, access: str, token: Token, now: datetime) -> None:
        """Keep an issued token (within MAX_KEPT tokens per provider)."""
        _keep(self.provider_tokens(provider), access, token, now)
        if self.changes is not None:
            self.changes.tokens.add(provider)

    def remember(self, key: tuple[str, str, str], replay: Replay, now: datetime) -> None:
        """Keep a response to replay for an idempotency key (within MAX_KEPT keys)."""
        dropped = _keep(self.replays, key, replay, now)
        if self.changes is not None:
            self.changes.replays.update([key, *dropped])

    # -- objects ------------------------------------------------------------------------------

    def kind_objects(self, pool: str, tenant: str, kind: str) -> dict[str, StoredObject]:
        """A tenant's objects of one kind (empty, and not kept, until one is stored)."""
        return self.objects.get((pool, tenant), {}).get(kind, {})

    def put_object(self, pool: str, tenant: str, kind: str, object_id: str, stored: StoredObject, cap: int) -> None:
        """Store (or replace, keeping its place) an object; past `cap` of the kind the oldest go."""
        objects = self.objects.setdefault((pool, tenant), {}).setdefault(kind, {})
        objects[object_id] = stored
        changed = [object_id]
        while len(objects) > cap:
            oldest = next(iter(objects))
            del objects[oldest]
            changed.append(oldest)
        if self.changes is not None:
            self.changes.objects.update(((pool, tenant, kind, i), None) for i in changed)

    def remove_object(self, pool: str, tenant: str, kind: str, object_id: str) -> None:
        """Forget one object (a hard delete)."""
        if self.objects.get((pool, tenant), {}).get(kind, {}).pop(object_id, None) is not None \
                and self.changes is not None:
            self.changes.objects[(pool, tenant, kind, object_id)] = None

    def reset_objects(self, pool: str | None = None) -> None:
        """Forget every object, or one pool's."""
        if self.changes is not None:
            self.changes.object_resets.append(pool)
        if pool is None:
            self.objects.clear()
        else:
            self.objects = {k: v for k, v in self.objects.items() if k[0] != pool}

    def held(self) -> list[str]:
        """The ids the store holds (tenant refs, records, removed records, object pools), sorted."""
        return sorted([*(key for c in self.collections.values() for key in (c.ref, *c.records, *c.removed)),
                       *(f"{pool}/{tenant}/{kind}/{oid}" for (pool, tenant), kinds in self.objects.items()
                         for kind, found in kinds.items() for oid in found)])

    def reset(self, provider: str | None = None) -> None:
        """Forget everything, or everything of one provider (and the objects of the pool of its name)."""
        if self.changes is not None:
            self.changes.resets.append(provider)
        self.reset_objects(provider)
        if provider is None:
            self.collections.clear()
            self.tokens.clear()
            self.replays.clear()
            return
        self.collections = {k: v for k, v in self.collections.items() if k[0] != provider}
        self.tokens.pop(provider, None)
        self.replays = {k: v for k, v in self.replays.items() if k[0] != provider}
