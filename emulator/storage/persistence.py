"""Durable state (opt-in with `--data-dir DIR`): every provider's webhooks, tenant refs, issued
tokens, idempotency replays, signing JWKs, deliveries and the objects notifications point to, in
one SQLite file (the standard library's sqlite3, WAL mode, synchronous FULL, locked to one
emulator at a time) in DIR.

The in-memory `Store` stays the working copy that requests read; `SqliteStore` is a subclass
that records what changed and writes it on `commit()`: after every request, before the answer is
sent (the request handlers call it), and whenever a delivery progresses. On start-up (`setup`) the file is
read back, and every delivery without a final outcome resumes on its schedule.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from emulator.delivery.dispatcher import Dispatcher
from emulator.delivery.records import STATUSES, Attempt, Delivery, Target
from emulator.engine.store import Changes, Collection, Record, Replay, Store, StoredObject, Token
from emulator.settings import SettingsError

log = logging.getLogger("emulator")
T = TypeVar("T")
FILENAME = "emulator.sqlite3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS tenants (provider TEXT, tenant TEXT, ref TEXT, PRIMARY KEY (provider, tenant));
CREATE TABLE IF NOT EXISTS records (provider TEXT, tenant TEXT, id TEXT, record TEXT,
                                    PRIMARY KEY (provider, tenant, id));
CREATE TABLE IF NOT EXISTS tokens (provider TEXT, access TEXT, token TEXT, PRIMARY KEY (provider, access));
CREATE TABLE IF NOT EXISTS replays (provider TEXT, tenant TEXT, key TEXT, replay TEXT,
                                    PRIMARY KEY (provider, tenant, key));
CREATE TABLE IF NOT EXISTS jwks (provider TEXT PRIMARY KEY, jwk TEXT);
CREATE TABLE IF NOT EXISTS objects (pool TEXT, tenant TEXT, kind TEXT, id TEXT, object TEXT,
                                    PRIMARY KEY (pool, tenant, kind, id));
CREATE TABLE IF NOT EXISTS deliveries (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE, provider TEXT,
                                       status TEXT, due REAL, delivery TEXT);
"""
# Tables whose rows belong to one provider, cleared by a reset.
PROVIDER_TABLES = ("tenants", "records", "tokens", "replays", "deliveries")


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _aware(value: Any) -> datetime:
    """A stored time: ISO 8601 text with a time zone; ValueError (or TypeError) when it is not."""
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not a time")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"the time {value!r} has no time zone")
    return moment


def _maybe_time(value: str | None) -> datetime | None:
    return None if value is None else _aware(value)


def _typed(value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    """`value` when it is of `kind`; TypeError naming `what` when it is not."""
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"{what} is {type(value).__name__}, not {getattr(kind, '__name__', kind)}")
    return value


def _object(text: str) -> dict[str, Any]:
    """A row's JSON text, which must hold an object."""
    return _typed(json.loads(_checked(text)), dict, "the row's JSON")


def _stored(text: str) -> str | bytes:
    """Text as SQLite can hold it: as it is, or, when it holds lone surrogates (header bytes that
    were not UTF-8, say in a key that names a tenant), as bytes that read back to the same text."""
    if text.isascii():
        return text
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")
    return text


def _loaded(value: str | bytes) -> str:
    """Text as _stored wrote it."""
    return value.decode("utf-8", "surrogatepass") if isinstance(value, bytes) else _checked(value)


class NotUtf8(bytes):
    """A TEXT value of the file that is not UTF-8 (a corrupted row): the reading of its row fails."""


def _text_value(raw: bytes) -> str | NotUtf8:
    """How the file's TEXT values are read (sqlite3's text_factory): as text, or NotUtf8."""
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return NotUtf8(raw)


def _checked(value: Any) -> str:
    """A TEXT value that must be text; TypeError when it is not (see NotUtf8)."""
    if not isinstance(value, str):
        raise TypeError(f"{bytes(value)[:40]!r}... is not UTF-8 text" if isinstance(value, bytes) else
                        f"{value!r} is not text")
    return value


def record_json(record: Record) -> str:
    return json.dumps({"id": record.id, "data": record.data, "created": _time(record.created),
                       "updated": _time(record.updated), "modified": _time(record.modified),
                       "scope": record.scope, "deleted": record.deleted})


def record_from_json(text: str) -> Record:
    raw = _object(text)
    return Record(_typed(raw["id"], str, "id"), _typed(raw["data"], dict, "data"), _aware(raw["created"]),
                  _aware(raw["updated"]), _maybe_time(raw["modified"]),
                  _typed(raw["scope"], (str, type(None)), "scope"), _typed(raw["deleted"], bool, "deleted"))


def _object_from_json(text: str) -> StoredObject:
    raw = json.loads(text)
    return StoredObject(raw["data"], raw["scope"], raw["deleted"])


def _bytes_text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _text_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def delivery_json(delivery: Delivery) -> str:
    return json.dumps({"id": delivery.id, "provider": delivery.provider, "events": delivery.events,
                       "event_ids": delivery.event_ids, "target": asdict(delivery.target),
                       "body": _bytes_text(delivery.body), "signature": delivery.signature,
                       "created": delivery.created, "status": delivery.status,
                       "attempts": [asdict(a) for a in delivery.attempts], "error": delivery.error,
                       "attempt_count": delivery.attempt_count, "scheduled": delivery.scheduled})


def delivery_from_json(text: str) -> Delivery:
    raw = _object(text)
    for key, kind in (("id", str), ("provider", str), ("status", str), ("body", str), ("events", list),
                      ("event_ids", list), ("attempts", list), ("target", dict)):
        _typed(raw[key], kind, key)
    if raw["status"] not in STATUSES:
        raise ValueError(f"status {raw['status']!r} is not pending, delivered or failed")
    attempts = [Attempt(**_typed(a, dict, "an attempt")) for a in raw["attempts"]]
    return Delivery(id=raw["id"], provider=raw["provider"], events=raw["events"], event_ids=raw["event_ids"],
                    target=Target(**raw["target"]), body=_text_bytes(raw["body"]),
                    signature=raw["signature"], created=raw["created"], status=raw["status"],
                    attempts=attempts, error=raw["error"], attempt_count=raw.get("attempt_count", len(attempts)),
                    scheduled=raw.get("scheduled", len(attempts)))


class SqliteStore(Store):
    """The in-memory store, written through to `DIR/emulator.sqlite3` on every commit."""

    def __init__(self, make_ref: Callable[[], str], directory: Path, skip_corrupt: bool = False) -> None:
        super().__init__(make_ref)
        self.skip_corrupt = skip_corrupt
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self.path = directory / FILENAME
            self._db = sqlite3.connect(self.path, timeout=0.5, isolation_level=None, check_same_thread=False)
            # One emulator per data dir: the first holds the file's lock until it stops (or dies).
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
            self._db.text_factory = _text_value
        except (OSError, sqlite3.Error) as exc:
            hint = " (another emulator uses it)" if "locked" in str(exc) else ""
            raise SettingsError(f"data dir {directory}: cannot use it: {exc}{hint}") from None
        self.changes = Changes()
        self._saved_jwks: dict[str, dict[str, str]] = {}
        self.providers: frozenset[str] = frozenset()  # those loaded (see restore)
        self._in_file: dict[str, str] = {}  # delivery id -> provider, of the deliveries the file holds
        # The webhooks whose failure counter an attempt moved: progress, written but never rolled back.
        self._counted: set[tuple[str, str, str]] = set()

    # -- reading back -------------------------------------------------------------------------

    def restore(self, providers: Iterable[str]) -> list[tuple[Delivery, float | None]]:
        """Fill memory from the file; returns the deliveries (oldest first) with their due times.
        Rows of webhooks, tokens, replays and JWKs must name one of `providers` (those loaded)."""
        self.providers = frozenset(providers)
        self._read_back()
        self._saved_jwks = dict(self._rows("jwks", "provider, jwk", "", (),
                                           lambda p, k: (self._provider(p), _typed(json.loads(k), dict, "jwk"))))
        deliveries = list(self._rows("deliveries", "delivery, due", " ORDER BY seq", (),
                                     lambda d, due: (delivery_from_json(d), due)))
        self._in_file = {d.id: d.provider for d, _ in deliveries}
        self.changes = Changes()
        return deliveries

    def _provider(self, value: Any) -> str:
        """A row's provider, which must be loaded (the emulator cannot serve the rows of another)."""
        if _checked(value) not in self.providers:
            raise ValueError(f"no provider {value!r} is loaded")
        return value

    def _rows(self, table: str, columns: str, where: str, params: tuple[Any, ...],
              convert: Callable[..., T]) -> Iterator[T]:
        """Each row of `table` (`where` selects; its `columns`) as `convert` makes it. A row it
        cannot make (a corrupted file: text that is not JSON or not UTF-8, a missing key) stops
        start-up with one line naming it, or with --skip-corrupt-rows is left out (and logged)."""
        for rowid, *values in self._db.execute(f"SELECT rowid, {columns} FROM {table}{where}", params):
            try:
                yield convert(*values)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                problem = f"{self.path}: table {table}, row {rowid} is corrupted ({type(exc).__name__}: {exc})"
                if not self.skip_corrupt:
                    raise SettingsError(f"{problem}; start with --skip-corrupt-rows to leave such rows out") from None
                log.warning("%s: left out", problem)

    def _read_back(self) -> None:
        """Memory's webhooks, tenants, tokens and replays from the file."""
        for key, collection in self._read_collections().items():
            self.collections[key] = collection
            self._watch(*key, collection)
        self.tokens.update(self._read_tokens())
        self.replays.update(self._read_replays())
        self.objects.clear()
        for pool, tenant, kind, object_id, stored in self._rows(
                "objects", "pool, tenant, kind, id, object", " ORDER BY rowid", (),
                lambda p, t, k, i, o: (_checked(p), _loaded(t), _checked(k), _loaded(i), _object_from_json(o))):
            self.objects.setdefault((pool, tenant), {}).setdefault(kind, {})[object_id] = stored

    def _read_collections(self, where: str = "", params: tuple[Any, ...] = ()) -> dict[tuple[str, str], Collection]:
        """The collections the file holds (those `where` selects), keyed by provider and tenant."""
        found: dict[tuple[str, str], Collection] = {}
        for key, ref in self._rows("tenants", "provider, tenant, ref", where, params,
                                   lambda p, t, ref: ((self._provider(p), _loaded(t)), _checked(ref))):
            found[key] = Collection(ref=ref)
        rows = self._rows("records", "provider, tenant, record", where + " ORDER BY rowid", params,
                          lambda p, t, r: (self._provider(p), _loaded(t), record_from_json(r)))
        for provider, tenant, record in sorted(rows, key=lambda x: x[2].created):
            collection = found.get((provider, tenant))
            if collection is None:
                collection = found[(provider, tenant)] = Collection(ref=self._make_ref())
            if record.deleted:
                collection.removed[record.id] = record
            else:
                collection.records[record.id] = record
        for collection in found.values():
            collection.order_by_update_time()
        return found

    def _read_tokens(self, where: str = "", params: tuple[Any, ...] = ()) -> dict[str, dict[str, Token]]:
        tokens: dict[str, dict[str, Token]] = {}

        def token(provider: str, access: str, text: str) -> tuple[str, str, Token]:
            raw = _object(text)
            return self._provider(provider), _checked(access), Token(
                _typed(raw["owner"], str, "owner"), _aware(raw["expires"]), _typed(raw["refresh"], str, "refresh"),
                raw["scope"])

        for provider, access, made in self._rows("tokens", "provider, access, token", where, params, token):
            tokens.setdefault(provider, {})[access] = made
        return tokens

    def _read_replays(self, where: str = "", params: tuple[Any, ...] = ()) -> dict[tuple[str, str, str], Replay]:
        def replay(provider: str, tenant: Any, key: Any, text: str) -> tuple[tuple[str, str, str], Replay]:
            raw = _object(text)
            return (self._provider(provider), _loaded(tenant), _loaded(key)), Replay(
                _typed(raw["status"], int, "status"), _text_bytes(_typed(raw["body"], str, "body")),
                _typed(raw["headers"], dict, "headers"), _aware(raw["expires"]))

        return dict(self._rows("replays", "provider, tenant, key, replay", where, params, replay))

    def _roll_back(self, changes: Changes) -> None:
        """After a failed commit: memory as the file holds it again wherever `changes` touched it
        (a call whose changes cannot be written leaves nothing behind). Deliveries keep their
        progress (their attempts were made), to be written with the next commit."""
        if changes.resets or changes.object_resets or changes.objects:  # (rare, after a failure): all read back
            self.collections.clear()
            self.tokens.clear()
            self.replays.clear()
            self._read_back()
        else:
            touched = changes.tenants | {(p, t) for p, t, _ in changes.records}
            for provider, tenant in touched:
                one = self._read_collections(" WHERE provider = ? AND tenant = ?", (provider, _stored(tenant)))
                self.collections.pop((provider, tenant), None)
                for key, collection in one.items():
                    self.collections[key] = collection
                    self._watch(*key, collection)
            for provider in changes.tokens:
                self.tokens[provider] = self._read_tokens(" WHERE provider = ?", (provider,)).get(provider, {})
            for replay in changes.replays:
                stored = (replay[0], _stored(replay[1]), _stored(replay[2]))
                found = self._read_replays(" WHERE provider = ? AND tenant = ? AND key = ?", stored)
                self.replays.pop(replay, None)
                self.replays.update(found)
        # Kept: the progress of deliveries the file holds (a firing's new ones are not sent at all).
        self.changes = Changes(deliveries={i: v for i, v in changes.deliveries.items() if i in self._in_file},
                               forgotten={i for i in changes.forgotten if i in self._in_file})

    def saved_jwks(self) -> dict[str, dict[str, str]]:
        """The signing JWKs the file holds."""
        return dict(self._saved_jwks)

    def forget_deliveries(self, keep: set[str]) -> None:
        """Drop the rows of deliveries no longer in the delivery log (it keeps the newest)."""
        gone = [i for (i,) in self._db.execute("SELECT id FROM deliveries") if i not in keep]
        with self._transaction():
            self._db.executemany("DELETE FROM deliveries WHERE id = ?", [(i,) for i in gone])
        for delivery_id in gone:
            self._in_file.pop(delivery_id, None)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN")
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:  # (a full disk may have rolled it back already)
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
            raise

    # -- writing --------------------------------------------------------------------------------

    def delivery_changed(self, delivery: Any, due: float | None = None) -> None:
        assert self.changes is not None
        earlier = self.changes.deliveries.get(delivery.id)
        if due is None and earlier is not None:
            due = earlier[1]
        self.changes.deliveries[delivery.id] = (delivery, due)
        target = delivery.target
        if delivery.attempts and target.webhook_id is not None and target.tenant is not None:
            # (an attempt may have moved the webhook's failure counter)
            self._counted.add((delivery.provider, target.tenant, target.webhook_id))

    def commit(self) -> None:
        """Write what changed. When the file cannot take it, memory is rolled back wherever the
        changes touched it and the error is raised: the call (or the firing) has failed. Only the
        progress of deliveries already in the file (attempts made: what a receiver saw cannot be
        undone) is kept, to be written with the next commit; failing to write it alone logs one
        line and raises nothing."""
        changes = self.changes
        assert changes is not None
        if not changes and not self._counted and self.jwks == self._saved_jwks:
            return
        self.changes = Changes()
        try:
            with self._transaction():
                self._write(changes)
        except Exception as exc:
            self._roll_back(changes)
            if self._undoable(changes):
                raise
            log.error("%s: cannot save what deliveries did now (%s: %s); it is written with the next commit "
                      "that succeeds", self.path, type(exc).__name__, exc)
            return
        self._saved_jwks = {p: dict(k) for p, k in self.jwks.items()}
        self._counted.clear()
        self._note_written(changes)

    def _undoable(self, changes: Changes) -> bool:
        """Whether `changes` hold more than the progress of deliveries the file already holds: what
        a call changed, or a firing's new deliveries."""
        return bool(changes.records or changes.tenants or changes.tokens or changes.replays or changes.resets) \
            or any(i not in self._in_file for i in changes.deliveries)

    def _note_written(self, changes: Changes) -> None:
        """Which deliveries the file holds, after `changes` were written."""
        for provider in changes.resets:
            self._in_file = {} if provider is None else {i: p for i, p in self._in_file.items() if p != provider}
        for delivery_id in changes.forgotten:
            self._in_file.pop(delivery_id, None)
        self._in_file.update((i, d.provider) for i, (d, _) in changes.deliveries.items())

    def _write(self, changes: Changes) -> None:
        db = self._db
        for provider in changes.resets:
            for table in PROVIDER_TABLES:
                if provider is None:
                    db.execute(f"DELETE FROM {table}")
                else:
                    db.execute(f"DELETE FROM {table} WHERE provider = ?", (provider,))
        self._write_objects(changes)
        for provider, tenant in changes.tenants:
            collection = self.collections.get((provider, tenant))
            if collection is not None:
                db.execute("INSERT OR REPLACE INTO tenants VALUES (?, ?, ?)",
                           (provider, _stored(tenant), collection.ref))
        for provider, tenant, record_id in changes.records | self._counted:
            collection = self.collections.get((provider, tenant))
            record = collection and (collection.get(record_id) or collection.removed.get(record_id))
            if record:
                db.execute("INSERT INTO records VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET record = excluded.record",
                           (provider, _stored(tenant), record_id, record_json(record)))
            else:
                db.execute("DELETE FROM records WHERE provider = ? AND tenant = ? AND id = ?",
                           (provider, _stored(tenant), record_id))
        for provider in changes.tokens:
            db.execute("DELETE FROM tokens WHERE provider = ?", (provider,))
            db.executemany("INSERT INTO tokens VALUES (?, ?, ?)", [
                (provider, access, json.dumps({"owner": t.owner, "expires": t.expires.isoformat(),
                                               "refresh": t.refresh, "scope": t.scope}))
                for access, t in self.tokens.get(provider, {}).items()])
        for key in changes.replays:
            replay = self.replays.get(key)
            stored = (key[0], _stored(key[1]), _stored(key[2]))
            if replay is not None:
                db.execute("INSERT OR REPLACE INTO replays VALUES (?, ?, ?, ?)", (*stored, json.dumps({
                    "status": replay.status, "body": _bytes_text(replay.body), "headers": replay.headers,
                    "expires": replay.expires.isoformat()})))
            else:  # dropped to stay within the bound
                db.execute("DELETE FROM replays WHERE provider = ? AND tenant = ? AND key = ?", stored)
        db.executemany("DELETE FROM deliveries WHERE id = ?", [(i,) for i in changes.forgotten])
        for delivery_id, (delivery, due) in changes.deliveries.items():
            db.execute("INSERT INTO deliveries (id, provider, status, due, delivery) VALUES (?, ?, ?, ?, ?) "
                       "ON CONFLICT (id) DO UPDATE SET status = excluded.status, "
                       "due = COALESCE(excluded.due, due), delivery = excluded.delivery",
                       (delivery_id, delivery.provider, delivery.status, due, delivery_json(delivery)))
        if self.jwks != self._saved_jwks:
            db.execute("DELETE FROM jwks")
            db.executemany("INSERT INTO jwks VALUES (?, ?)", [(p, json.dumps(k)) for p, k in self.jwks.items()])

    def _write_objects(self, changes: Changes) -> None:
        db = self._db
        for pool in changes.object_resets:
            if pool is None:
                db.execute("DELETE FROM objects")
            else:
                db.execute("DELETE FROM objects WHERE pool = ?", (pool,))
        for pool, tenant, kind, object_id in changes.objects:
            stored = self.objects.get((pool, tenant), {}).get(kind, {}).get(object_id)
            key = (pool, _stored(tenant), kind, _stored(object_id))
            if stored is None:
                db.execute("DELETE FROM objects WHERE pool = ? AND tenant = ? AND kind = ? AND id = ?", key)
            else:
                row = json.dumps({"data": stored.data, "scope": stored.scope, "deleted": stored.deleted})
                db.execute("INSERT INTO objects VALUES (?, ?, ?, ?, ?) "
                           "ON CONFLICT DO UPDATE SET object = excluded.object", (*key, row))

    def close(self) -> None:
        """Write what is left and close the file."""
        self.commit()
        self._db.close()


def open_store(make_ref: Callable[[], str], data_dir: Path | None, skip_corrupt: bool = False) -> Store:
    """The store for `--data-dir` (None: in memory, nothing touches the disk); `skip_corrupt`:
    leave out the rows of the file that cannot be read, rather than refuse to start."""
    return Store(make_ref) if data_dir is None else SqliteStore(make_ref, Path(data_dir), skip_corrupt)


def restore(store: Store, dispatcher: Dispatcher) -> None:
    """With a durable store: read it back (its webhooks, tokens, replays and JWKs) and hand its
    deliveries to the dispatcher, which resumes the unfinished ones once it runs (on the app's
    loop, at start-up)."""
    if not isinstance(store, SqliteStore):
        return
    began = time.perf_counter()
    log.info("reading %s back (a file of many deliveries takes seconds)", store.path)
    deliveries = store.restore(dispatcher.providers)
    store.jwks.update(store.saved_jwks())
    if dispatcher.settings.seed is not None:  # (a seeded source must not make what the file holds again)
        held = [*store.held(), *sorted(d.id for d, _ in deliveries)]
        if held:
            dispatcher.ids.continue_after(held)
    for delivery, due in deliveries:
        if delivery.status == "pending" and any(a.outcome == "delivered" for a in delivery.attempts):
            delivery.status, delivery.error = "delivered", None
        if delivery.status == "pending" and delivery.provider in dispatcher.providers:
            dispatcher.resume(delivery, due if due is not None else time.time())
        else:
            dispatcher.log.add(delivery)
    store.forget_deliveries({d.id for d in dispatcher.log.find()})
    log.debug("read back %d webhook(s) and %d deliveries (%d pending) in %.1f s",
              sum(len(c.records) for c in store.collections.values()), len(deliveries), dispatcher.pending,
              time.perf_counter() - began)
