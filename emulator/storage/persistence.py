"""Durable state (opt-in with `--data-dir DIR`): every provider's webhooks, tenant refs, issued
tokens, idempotency replays, signing JWKs and deliveries in one SQLite file (the standard
library's sqlite3, WAL mode, synchronous FULL, locked to one emulator at a time) in DIR.

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
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from emulator.delivery.dispatcher import Dispatcher
from emulator.delivery.records import Attempt, Delivery, Target
from emulator.engine.store import Changes, Collection, Record, Replay, Store, Token
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
CREATE TABLE IF NOT EXISTS deliveries (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE, provider TEXT,
                                       status TEXT, due REAL, delivery TEXT);
"""
# Tables whose rows belong to one provider, cleared by a reset.
PROVIDER_TABLES = ("tenants", "records", "tokens", "replays", "deliveries")


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _maybe_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


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
    raw = json.loads(text)
    return Record(raw["id"], raw["data"], datetime.fromisoformat(raw["created"]),
                  datetime.fromisoformat(raw["updated"]), _maybe_time(raw["modified"]), raw["scope"], raw["deleted"])


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
    raw = json.loads(text)
    attempts = [Attempt(**a) for a in raw["attempts"]]
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

    # -- reading back -------------------------------------------------------------------------

    def restore(self) -> list[tuple[Delivery, float | None]]:
        """Fill memory from the file; returns the deliveries (oldest first) with their due times."""
        self._read_back()
        self._saved_jwks = dict(self._rows("jwks", "provider, jwk", "", (), lambda p, k: (p, json.loads(k))))
        deliveries = list(self._rows("deliveries", "delivery, due", " ORDER BY seq", (),
                                     lambda d, due: (delivery_from_json(d), due)))
        self.changes = Changes()
        return deliveries

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

    def _read_collections(self, where: str = "", params: tuple[Any, ...] = ()) -> dict[tuple[str, str], Collection]:
        """The collections the file holds (those `where` selects), keyed by provider and tenant."""
        found: dict[tuple[str, str], Collection] = {}
        for key, ref in self._rows("tenants", "provider, tenant, ref", where, params,
                                   lambda p, t, ref: ((_checked(p), _loaded(t)), _checked(ref))):
            found[key] = Collection(ref=ref)
        rows = self._rows("records", "provider, tenant, record", where + " ORDER BY rowid", params,
                          lambda p, t, r: (_checked(p), _loaded(t), record_from_json(r)))
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
            raw = json.loads(text)
            return _checked(provider), _checked(access), Token(
                raw["owner"], datetime.fromisoformat(raw["expires"]), raw["refresh"], raw["scope"])

        for provider, access, made in self._rows("tokens", "provider, access, token", where, params, token):
            tokens.setdefault(provider, {})[access] = made
        return tokens

    def _read_replays(self, where: str = "", params: tuple[Any, ...] = ()) -> dict[tuple[str, str, str], Replay]:
        def replay(provider: str, tenant: Any, key: Any, text: str) -> tuple[tuple[str, str, str], Replay]:
            raw = json.loads(text)
            return (_checked(provider), _loaded(tenant), _loaded(key)), Replay(
                raw["status"], _text_bytes(raw["body"]), raw["headers"], datetime.fromisoformat(raw["expires"]))

        return dict(self._rows("replays", "provider, tenant, key, replay", where, params, replay))

    def _roll_back(self, changes: Changes) -> None:
        """After a failed commit: memory as the file holds it again wherever `changes` touched it
        (a call whose changes cannot be written leaves nothing behind). Deliveries keep their
        progress (their attempts were made), to be written with the next commit."""
        if changes.resets:  # (rare, and only after a failure): everything read back
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
        self.changes = Changes(deliveries=changes.deliveries, forgotten=changes.forgotten)

    def saved_jwks(self) -> dict[str, dict[str, str]]:
        """The signing JWKs the file holds."""
        return dict(self._saved_jwks)

    def forget_deliveries(self, keep: set[str]) -> None:
        """Drop the rows of deliveries no longer in the delivery log (it keeps the newest)."""
        held = [i for (i,) in self._db.execute("SELECT id FROM deliveries")]
        with self._transaction():
            self._db.executemany("DELETE FROM deliveries WHERE id = ?", [(i,) for i in held if i not in keep])

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
        if target.webhook_id is not None and target.tenant is not None:  # a failure counter may have moved
            self.changes.records.add((delivery.provider, target.tenant, target.webhook_id))

    def commit(self) -> None:
        changes = self.changes
        assert changes is not None
        if not changes and self.jwks == self._saved_jwks:
            return
        self.changes = Changes()
        try:
            with self._transaction():
                self._write(changes)
        except Exception:
            self._roll_back(changes)
            raise
        self._saved_jwks = {p: dict(k) for p, k in self.jwks.items()}

    def _write(self, changes: Changes) -> None:
        db = self._db
        for provider in changes.resets:
            for table in PROVIDER_TABLES:
                if provider is None:
                    db.execute(f"DELETE FROM {table}")
                else:
                    db.execute(f"DELETE FROM {table} WHERE provider = ?", (provider,))
        for provider, tenant in changes.tenants:
            collection = self.collections.get((provider, tenant))
            if collection is not None:
                db.execute("INSERT OR REPLACE INTO tenants VALUES (?, ?, ?)",
                           (provider, _stored(tenant), collection.ref))
        for provider, tenant, record_id in changes.records:
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
    deliveries = store.restore()
    store.jwks.update(store.saved_jwks())
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
