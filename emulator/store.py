"""State: one collection of records per (provider, tenant), plus issued tokens and idempotency keys.

Collections keep two orders (creation and last update) so that the default sorts page without
sorting; other sort keys sort on demand.
"""

from __future__ import annotations

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


@dataclass
class Record:
    """One stored object: its field values plus the metadata every provider's rendering draws on."""

    id: str
    data: dict[str, Any]
    created: datetime
    updated: datetime
    modified: datetime | None = None
    scope: str | None = None
    deleted: bool = False

    def seen_from(self, scope: str | None) -> bool:
        """Whether a caller in `scope` sees this record: unscoped records, and its own scope's."""
        return self.scope is None or self.scope == scope


@dataclass
class Collection:
    """A tenant's records of one provider."""

    ref: str  # the tenant's own id in the provider (e.g. a `company` id field)
    records: dict[str, Record] = field(default_factory=dict)
    by_update: dict[str, None] = field(default_factory=dict)
    removed: dict[str, Record] = field(default_factory=dict)

    def add(self, record: Record) -> None:
        self.records[record.id] = record
        self.by_update[record.id] = None

    def get(self, record_id: str) -> Record | None:
        return self.records.get(record_id)

    def touch(self, record: Record, old_id: str | None = None) -> None:
        """Record an update (and a change of id): it moves to the end of the update order."""
        if old_id is not None and old_id != record.id:
            self.records = {(record.id if k == old_id else k): v for k, v in self.records.items()}
            del self.by_update[old_id]
        else:
            self.by_update.pop(record.id, None)
        self.by_update[record.id] = None

    def remove(self, record: Record, soft: bool) -> None:
        """Delete a record; a soft-deleted one is kept aside (the MAX_KEPT most recent)."""
        del self.records[record.id]
        del self.by_update[record.id]
        if soft:
            self.removed[record.id] = record
            while len(self.removed) > MAX_KEPT:
                del self.removed[next(iter(self.removed))]

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
    ) -> tuple[list[Record], int]:
        """One page of live records and the total that match `keep` (any offset and limit a
        client sends, however large, is simply past the end)."""
        stream = self.ordered(key, descending)
        offset = min(offset, sys.maxsize)
        end = None if limit is None else min(offset + limit, sys.maxsize)
        if keep is None:
            return list(itertools.islice(stream, offset, end)), len(self.records)
        matching = [r for r in stream if keep(r)]
        return matching[offset:end], len(matching)


def _sort_key(value: Any) -> tuple[int, str]:
    return (0, "") if value is None else (1, str(value))


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


class _Expiring(Protocol):
    expires: datetime


Key = TypeVar("Key")
Kept = TypeVar("Kept", bound=_Expiring)


def _keep(items: dict[Key, Kept], key: Key, item: Kept, now: datetime) -> None:
    """Add `item`, then stay within MAX_KEPT: drop the expired, then the oldest."""
    items[key] = item
    if len(items) <= MAX_KEPT:
        return
    for stale in [k for k, v in items.items() if v.expires <= now]:
        del items[stale]
    while len(items) > MAX_KEPT:
        del items[next(iter(items))]


class Store:
    """All state of one emulator: collections, issued tokens, idempotency replays."""

    def __init__(self, make_ref: Callable[[], str]) -> None:
        self._make_ref = make_ref
        self.collections: dict[tuple[str, str], Collection] = {}
        self.tokens: dict[str, dict[str, Token]] = {}
        self.replays: dict[tuple[str, str, str], Replay] = {}

    def collection(self, provider: str, tenant: str) -> Collection:
        """The tenant's collection, created (with a fresh tenant ref) on first use."""
        key = (provider, tenant)
        found = self.collections.get(key)
        if found is None:
            found = self.collections[key] = Collection(ref=self._make_ref())
        return found

    def existing(self, provider: str, tenant: str) -> Collection | None:
        """The tenant's collection if it has one (never creates it)."""
        return self.collections.get((provider, tenant))

    def provider_collections(self, provider: str) -> Iterator[tuple[str, Collection]]:
        """(tenant, collection) pairs of one provider."""
        return ((t, c) for (p, t), c in self.collections.items() if p == provider)

    def provider_tokens(self, provider: str) -> dict[str, Token]:
        return self.tokens.setdefault(provider, {})

    def issue(self, provider: str, access: str, token: Token, now: datetime) -> None:
        """Keep an issued token (within MAX_KEPT tokens per provider)."""
        _keep(self.provider_tokens(provider), access, token, now)

    def remember(self, key: tuple[str, str, str], replay: Replay, now: datetime) -> None:
        """Keep a response to replay for an idempotency key (within MAX_KEPT keys)."""
        _keep(self.replays, key, replay, now)

    def reset(self, provider: str | None = None) -> None:
        """Forget everything, or everything of one provider."""
        if provider is None:
            self.collections.clear()
            self.tokens.clear()
            self.replays.clear()
            return
        self.collections = {k: v for k, v in self.collections.items() if k[0] != provider}
        self.tokens.pop(provider, None)
        self.replays = {k: v for k, v in self.replays.items() if k[0] != provider}
