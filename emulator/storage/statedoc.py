"""The state document: every provider's webhooks per tenant, in each provider's own create shape,
plus what else reproduces an emulator's state (tenant refs, issued tokens, idempotency replays,
signing JWKs). A `--state` file, `PUT /_emulator/state` and a snapshot all use it:

    PROVIDER:                     # a provider's name
      MY_KEY:                     # tenant: the credential that owns the webhooks
        - {url: "http://app:8000/hooks", events: [EVENT]}       # the provider's create shape
        - {url: "http://app:8000/other", events: [EVENT], $scope: MY_SCOPE}

    $objects:                     # what notifications point to, before any firing
      PROVIDER: {MY_KEY: {KIND: [{...an object, in the provider's shape...}]}}

A webhook is validated by the JSON Schema of the provider's create route; it may also fix its id
(under the provider's id field), any stored field (a secret, a counter), and through `$` keys its
scope (`$scope`: the value of the provider's scope header, if it has one), its timestamps
(`$created`, `$updated`, `$modified`) and `$deleted` (a soft-deleted webhook). A snapshot writes
all of these, and a `$emulator` section with the rest. An object is laid over its kind's
documented sample and validated by the kind's schema; `$scope` and `$deleted` keys say its scope
and whether it is soft-deleted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from emulator.engine import objects
from emulator.engine.errors import Issue, ProviderError
from emulator.engine.formats import FORMAT_CHECKER
from emulator.engine.provider import Provider, read_yaml
from emulator.engine.render import render_record
from emulator.engine.resources import field_values, scope_for
from emulator.engine.store import Collection, Record, Replay, Store, StoredObject, Token
from emulator.engine.validation import body_issues, raise_issues
from emulator.settings import SettingsError
from emulator.state import EmulatorState

EXTRA = "$emulator"
OBJECTS = "$objects"
RECORD_KEYS = ("$scope", "$created", "$updated", "$modified", "$deleted")
_TIME = {"type": "string"}
EXTRA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "refs": {"type": "object", "additionalProperties": {
            "type": "object", "additionalProperties": {"type": "string", "minLength": 1}}},
        "tokens": {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["owner", "expires", "refresh", "scope"], "additionalProperties": False,
            "properties": {"owner": {"type": "string"}, "expires": _TIME, "refresh": {"type": "string"},
                           "scope": {"type": "string"}}}}},
        "replays": {"type": "array", "items": {
            "type": "object", "required": ["provider", "tenant", "key", "status", "body", "headers", "expires"],
            "additionalProperties": False,
            "properties": {"provider": {"type": "string"}, "tenant": {"type": "string"}, "key": {"type": "string"},
                           "status": {"type": "integer", "minimum": 100, "maximum": 599}, "body": {"type": "string"},
                           "headers": {"type": "object", "propertyNames": {"format": "header-name"},
                                       "additionalProperties": {"type": "string", "format": "header-value"}},
                           "expires": _TIME}}},
        "jwks": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["kty", "kid", "k"], "additionalProperties": False,
            "properties": {"kty": {"const": "oct"}, "kid": {"type": "string"},
                           "k": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}}}},
    },
}
_EXTRA_VALIDATOR = Draft202012Validator(EXTRA_SCHEMA, format_checker=FORMAT_CHECKER)


class StateError(SettingsError):
    """A state document cannot be used; the message is one line naming the place in it."""


@dataclass
class Loaded:
    """A validated state document, ready to replace an emulator's state."""

    collections: dict[tuple[str, str], Collection] = field(default_factory=dict)
    tokens: dict[str, dict[str, Token]] = field(default_factory=dict)
    replays: dict[tuple[str, str, str], Replay] = field(default_factory=dict)
    jwks: dict[str, dict[str, str]] = field(default_factory=dict)
    # (pool, tenant, kind, id) -> object, in the document's order.
    objects: dict[tuple[str, str, str, str], StoredObject] = field(default_factory=dict)


def place(base: str, *keys: str | int) -> str:
    """A JSONPath-like place: `$.PROVIDER.MY_TOKEN[0].url` (odd keys quoted: `$['a b']`)."""
    for key in keys:
        if isinstance(key, int):
            base += f"[{key}]"
        elif isinstance(key, str) and re.fullmatch(r"[A-Za-z_$][\w$-]*", key):
            base += f".{key}"
        else:
            base += f"[{json.dumps(key, default=str)}]"  # (a YAML key may be a date)
    return base


def read_file(path: Path) -> Any:
    """A state file's contents (YAML or JSON); StateError naming the file and line otherwise."""
    return read_yaml(path, StateError, "not YAML or JSON")


def read_path(path: Path, state: EmulatorState) -> Loaded:
    """Read and validate a state file; errors name the file and the place in it."""
    try:
        return parse(state, read_file(path))
    except StateError as exc:
        if str(exc).startswith(f"{path}:"):
            raise
        raise StateError(f"{path}: {exc}") from None


# -- reading a document -------------------------------------------------------------------------


def parse(state: EmulatorState, doc: Any) -> Loaded:
    """Validate a state document against the providers' schemas; StateError at the first problem."""
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise StateError("at $: a state document is an object of providers")
    loaded = Loaded()
    extra = doc.get(EXTRA) or {}
    error = next(iter(sorted(_EXTRA_VALIDATOR.iter_errors(extra), key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        raise StateError(f"at {place('$', EXTRA, *error.absolute_path)}: {error.message}")
    refs = extra.get("refs", {})
    for name, tenants in doc.items():
        if name in (EXTRA, OBJECTS):
            continue
        provider = _provider(state, name, place("$", name))
        if not isinstance(tenants, dict):
            raise StateError(f"at {place('$', name)}: a provider's value maps tenants to lists of webhooks")
        for tenant, entries in tenants.items():
            where = place("$", name, tenant)
            if not isinstance(tenant, str) or not tenant or not isinstance(entries, list):
                raise StateError(f"at {where}: a tenant (its credential) maps to a list of webhooks")
            ref = refs.get(name, {}).get(tenant) or state.ids.objectid()
            collection = loaded.collections[(name, tenant)] = Collection(ref=ref)
            for index, entry in enumerate(entries):
                record = to_record(state, provider, entry, place(where, index), ref)
                _insert(collection, record, f"at {place(where, index)}: the id {record.id!r} repeats")
            collection.order_by_update_time()
    _parse_objects(state, doc.get(OBJECTS), refs, loaded)
    for name, tokens in extra.get("tokens", {}).items():
        _provider(state, name, place("$", EXTRA, "tokens", name))
        loaded.tokens[name] = {access: Token(t["owner"], _time(t["expires"], place("$", EXTRA, "tokens", name, access)),
                                             t["refresh"], t["scope"]) for access, t in tokens.items()}
    for index, r in enumerate(extra.get("replays", [])):
        where = place("$", EXTRA, "replays", index)
        _provider(state, r["provider"], where)
        try:
            body = r["body"].encode()
        except UnicodeEncodeError:
            raise StateError(f"at {place(where, 'body')}: not Unicode text (a lone surrogate)") from None
        loaded.replays[(r["provider"], r["tenant"], r["key"])] = Replay(
            r["status"], body, r["headers"], _time(r["expires"], place(where, "expires")))
    for name, jwk in extra.get("jwks", {}).items():
        _provider(state, name, place("$", EXTRA, "jwks", name))
        loaded.jwks[name] = dict(jwk)
    return loaded


def _parse_objects(state: EmulatorState, doc: Any, refs: dict[str, dict[str, str]], loaded: Loaded) -> None:
    """The `$objects` section: per provider, tenant and kind a list of objects, each validated."""
    if doc is None:
        return
    where = place("$", OBJECTS)
    if not isinstance(doc, dict):
        raise StateError(f"at {where}: maps providers to tenants to object kinds to lists of objects")
    for name, tenants in doc.items():
        provider = _provider(state, name, place(where, name))
        if not isinstance(tenants, dict) or not all(isinstance(t, str) and t and isinstance(k, dict)
                                                    for t, k in tenants.items()):
            raise StateError(f"at {place(where, name)}: a provider's value maps tenants to object kinds")
        for tenant, kinds in tenants.items():
            ref = partial(_tenant_ref, state, loaded, refs, name, tenant)
            for kind, entries in kinds.items():
                at = place(where, name, tenant, kind)
                if not isinstance(entries, list):
                    raise StateError(f"at {at}: an object kind maps to a list of objects")
                for index, entry in enumerate(entries):
                    try:
                        object_id, made = objects.build(state, provider, tenant, kind, entry, where=place(at, index),
                                                        ref=ref)
                    except objects.ObjectError as exc:
                        raise StateError(str(exc) if str(exc).startswith("at ") else f"at {at}: {exc}") from None
                    key = (provider.object_pool, tenant, kind, object_id)
                    if key in loaded.objects:
                        raise StateError(f"at {place(at, index)}: the id {object_id!r} repeats")
                    loaded.objects[key] = made


def _tenant_ref(state: EmulatorState, loaded: Loaded, refs: dict[str, dict[str, str]], name: str, tenant: str) -> str:
    """The ref of a tenant of the document (made, with its collection, when it has none yet)."""
    collection = loaded.collections.get((name, tenant))
    if collection is None:
        ref = refs.get(name, {}).get(tenant) or state.ids.objectid()
        collection = loaded.collections[(name, tenant)] = Collection(ref=ref)
    return collection.ref


def _provider(state: EmulatorState, name: Any, where: str) -> Provider:
    provider = state.providers.get(name)
    if provider is None:
        raise StateError(f"at {where}: no provider named {name!r}; the providers are {', '.join(state.providers)}")
    return provider


def _time(value: Any, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError
    except (TypeError, ValueError):
        raise StateError(f"at {where}: {value!r} is not an ISO 8601 timestamp with an offset") from None
    return moment


def id_field(provider: Provider) -> str:
    """The name of the field that holds a provider's record id (`$id` if none does)."""
    return next((f.name for f in provider.fields.values() if f.source == "id"), "$id")


def _scope(provider: Provider, scope: Any) -> str | None:
    if scope is not None and provider.resource.scope is None:
        raise ProviderError("validation", issues=[Issue(("$scope",), f"{provider.name} webhooks have no scope")])
    if scope is not None and not (isinstance(scope, str) and scope):
        raise ProviderError("validation", issues=[Issue(("$scope",), "a scope is a non-empty string")])
    return scope


def _first_issue(error: ProviderError, where: str) -> StateError:
    issue = error.issues[0] if error.issues else Issue((), error.detail)
    return StateError(f"at {place(where, *issue.path)}: {issue.message}")


def to_record(state: EmulatorState, provider: Provider, entry: Any, where: str, ref: str) -> Record:
    """One webhook of a document as a stored record, validated as the provider's API validates a
    create body, and rendered against the provider's resource schema."""
    if not isinstance(entry, dict):
        raise StateError(f"at {where}: a webhook is an object in {provider.name}'s create shape")
    key = id_field(provider)
    stored = {n for n, f in provider.fields.items() if f.source is None}
    unknown = [k for k in entry if k not in stored and k != key and k not in RECORD_KEYS]
    if unknown:
        raise StateError(f"at {place(where, unknown[0])}: not a field of a {provider.name} webhook "
                         f"(the fields are {', '.join([key, *sorted(stored)])}; and {', '.join(RECORD_KEYS)})")
    create = next((r for r in provider.routes if r.action == "create"), None)
    messages = provider.errors.messages
    try:
        writable = {k: v for k, v in entry.items() if k in stored and provider.fields[k].writable}
        raise_issues(body_issues(writable, create.request if create else None, messages),
                     provider.schema(create.request_schema) if create and create.request_schema else None)
        data = field_values(provider, state.ids, entry, None, everything=True)
        scope = scope_for(provider, data, _scope(provider, entry.get("$scope")))
    except ProviderError as error:
        raise _first_issue(error, where) from None
    record_id = entry.get(key) or state.ids.generate(provider.resource.id)
    if not isinstance(record_id, str):
        raise StateError(f"at {place(where, key)}: an id is a string")
    created = _time(entry["$created"], place(where, "$created")) if "$created" in entry else state.clock.now()
    updated = _time(entry["$updated"], place(where, "$updated")) if "$updated" in entry else created
    modified = entry.get("$modified")
    if modified is not None:
        modified = _time(modified, place(where, "$modified"))
    deleted = entry.get("$deleted", False)
    if not isinstance(deleted, bool):
        raise StateError(f"at {place(where, '$deleted')}: must be true or false")
    record = Record(record_id, data, created, updated, modified, scope, deleted)
    schema = provider.resource.schema
    if schema:
        rendered = render_record(provider.views["default"], record, ref)
        wrong = next(iter(provider.validator(schema).iter_errors(rendered)), None)
        if wrong is not None:
            raise StateError(f"at {place(where, *wrong.absolute_path)}: {wrong.message}")
    return record


# -- applying and writing one ---------------------------------------------------------------


def replace_state(state: EmulatorState, loaded: Loaded) -> None:
    """Forget the emulator's state (webhooks, tokens, replays, journal, deliveries) and take `loaded`'s.
    The store's part is written first: when a durable store cannot take it, it raises with memory
    (the delivery log too) as it was."""
    store = state.store
    store.reset()
    for (name, tenant), collection in loaded.collections.items():
        store.adopt(name, tenant, collection)
    for name, tokens in loaded.tokens.items():
        store.provider_tokens(name).update(tokens)
    now = state.clock.wall()
    for key, replay in loaded.replays.items():
        store.remember(key, replay, now)
    owners = {p.object_pool: p for p in reversed(list(state.providers.values())) if p.objects}
    caps = {pool: p.objects.cap for pool, p in owners.items() if p.objects is not None}
    for (pool, tenant, kind, object_id), made in loaded.objects.items():
        store.put_object(pool, tenant, kind, object_id, made, caps[pool])
    for (pool, tenant, kind, _), made in loaded.objects.items():  # (once every object of the document is in)
        objects.add_companions(state, owners[pool], tenant, kind, made)
    store.commit()
    state.forget()
    store.jwks.clear()  # the document's keys only: a replaced state keeps none of the old ones
    store.jwks.update(loaded.jwks)


def add_webhook(state: EmulatorState, provider: Provider, tenant: str, entry: Any) -> Record:
    """Create one webhook for `tenant` from a document entry (its own create shape), as a
    provider's dashboard would: no credentials checked."""
    collection = state.store.collection(provider.name, tenant)
    record = to_record(state, provider, entry, "$.webhook", collection.ref)
    _insert(collection, record, f"at $.webhook.{id_field(provider)}: {tenant} already has a webhook {record.id!r}")
    return record


def _insert(collection: Collection, record: Record, taken: str) -> None:
    """Add a record (soft-deleted, if it is), or raise StateError(`taken`) if its id is taken."""
    if collection.get(record.id) or record.id in collection.removed:
        raise StateError(taken)
    collection.add(record)
    if record.deleted:
        collection.remove(record, soft=True)


def as_entry(provider: Provider, record: Record) -> dict[str, Any]:
    """A stored record as a document entry that reproduces it exactly."""
    result: dict[str, Any] = {}
    for spec in provider.fields.values():
        if spec.source == "id":
            result[spec.name] = record.id
        elif spec.source is None and spec.name in record.data:
            result[spec.name] = record.data[spec.name]
    if id_field(provider) == "$id":
        result["$id"] = record.id
    if record.scope is not None:
        result["$scope"] = record.scope
    result["$created"] = record.created.isoformat()
    result["$updated"] = record.updated.isoformat()
    if record.modified is not None:
        result["$modified"] = record.modified.isoformat()
    if record.deleted:
        result["$deleted"] = True
    return result


def _records(collection: Collection) -> list[Record]:
    """Live and soft-deleted records, in creation order."""
    return sorted([*collection.records.values(), *collection.removed.values()], key=lambda r: r.created)


def snapshot(state: EmulatorState) -> dict[str, Any]:
    """Everything needed to reproduce the emulator's state, as a document `parse` accepts."""
    doc: dict[str, Any] = {}
    refs: dict[str, dict[str, str]] = {}
    for (name, tenant), collection in state.store.collections.items():
        provider = state.providers[name]
        doc.setdefault(name, {})[tenant] = [as_entry(provider, r) for r in _records(collection)]
        refs.setdefault(name, {})[tenant] = collection.ref
    tokens = {name: {access: {"owner": t.owner, "expires": t.expires.isoformat(), "refresh": t.refresh,
                              "scope": t.scope} for access, t in issued.items()}
              for name, issued in state.store.tokens.items() if issued}
    replays = [{"provider": p, "tenant": t, "key": k, "status": r.status, "body": r.body.decode("utf-8", "replace"),
                "headers": r.headers, "expires": r.expires.isoformat()}
               for (p, t, k), r in state.store.replays.items()]
    owners: dict[str, str] = {}
    for name, provider in state.providers.items():
        owners.setdefault(provider.object_pool, name)
    for (pool, tenant), kinds in state.store.objects.items():
        found = {kind: [objects.entry(o) for o in stored.values()] for kind, stored in kinds.items() if stored}
        if found and pool in owners:
            doc.setdefault(OBJECTS, {}).setdefault(owners[pool], {})[tenant] = found
    jwks = dict(state.store.jwks)
    extra = {k: v for k, v in {"refs": refs, "tokens": tokens, "replays": replays, "jwks": jwks}.items() if v}
    if extra:
        doc[EXTRA] = extra
    return doc


def is_empty(store: Store) -> bool:
    """Whether a store holds nothing yet (no tenant, no token, no replay, no object)."""
    return not store.collections and not any(store.tokens.values()) and not store.replays and not store.objects


def load_state_file(state: EmulatorState, loaded: Loaded) -> None:
    """Load a `--state` file's document (read when the app was made) if the state is empty (a
    data dir may already hold state)."""
    if is_empty(state.store):
        replace_state(state, loaded)
        state.store.commit()
        state.state_file_loaded = True
