"""The objects notifications point to (a payout, a product, a credential and its transactions):
made from each kind's documented sample, stored per tenant when an event is fired for it (or put
in place by a caller), and read by the provider's GET routes (see object_routes.py).

Everything about a kind is the fixture's `objects` section: its schema (whose first `examples`
entry is the documented sample), id field, `new` template, scope and soft delete, and per event
the effects (`objects.events`) that upsert, update or delete the objects it is about.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Protocol

from emulator.engine.clock import Clock
from emulator.engine.events import EventError, fresh_value
from emulator.engine.ids import IdSource
from emulator.engine.model import ObjectEffect, ObjectKind, Objects
from emulator.engine.provider import Provider
from emulator.engine.render import Values, deep_merge, fill
from emulator.engine.store import Store, StoredObject


class ObjectError(ValueError):
    """An object a caller gives cannot be stored; the message names the place in it."""


class Parts(Protocol):
    """What this module reads of an emulator (its state, or its dispatcher): the store objects live
    in, and the ids and clock new ones are made with."""

    @property
    def store(self) -> Store: ...
    @property
    def ids(self) -> IdSource: ...
    @property
    def clock(self) -> Clock: ...


class Fired(Protocol):
    """What an effect reads of a built event (events.Event)."""

    name: str
    time: datetime
    payload: Any
    values: Values


@dataclass(frozen=True)
class Place:
    """Where a firing's objects go: a tenant, the sub-scope inside it, and the webhook values its
    payload's `{webhook.<field>}` are filled with there."""

    tenant: str
    scope: str | None
    webhook: Mapping[str, Any]


def get_path(data: Any, dotted: str) -> Any:
    """The value at a dotted path (`_id.$oid`), or None."""
    for part in dotted.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set the value at a dotted path, making the objects on the way."""
    *heads, last = dotted.split(".")
    for part in heads:
        inner = data.get(part)
        if not isinstance(inner, dict):
            inner = data[part] = {}
        data = inner
    data[last] = value


def set_each(data: dict[str, Any], path: str, value: Any) -> None:
    """Set the value at a dotted path whose `[]` stands for every element of a list there (a
    missing list or a non-object element is passed over)."""
    head, fan_out, rest = path.partition("[].")
    if not fan_out:
        set_path(data, path, value)
        return
    items = get_path(data, head)
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict):
            set_each(item, rest, copy.deepcopy(value))


def spec_of(provider: Provider) -> Objects:
    assert provider.objects is not None
    return provider.objects


def kind_of(provider: Provider, name: str) -> ObjectKind:
    """A kind of the provider's objects; ObjectError naming the kinds if it has no such kind."""
    kinds = provider.objects.kinds if provider.objects else {}
    if name not in kinds:
        raise ObjectError(f"{provider.name} has no object kind {name!r} (its kinds: {', '.join(kinds) or 'none'})")
    return kinds[name]


def sample(provider: Provider, kind: ObjectKind) -> dict[str, Any]:
    """A fresh copy of a kind's documented sample: its schema's first `examples` entry."""
    return copy.deepcopy(provider.example(kind.schema) or {})


def fresh_values(provider: Provider, state: Parts, now: datetime, base: Values | None = None) -> Values:
    """Template values of the objects: `base` (a firing's), plus every variable of `events.fresh`
    and `objects.fresh` it lacks, each made when a template first uses it."""
    specs = {**(provider.events.fresh if provider.events else {}), **spec_of(provider).fresh}
    values = base if base is not None else Values({})
    return values.with_factories({var: partial(fresh_value, spec, state.ids, now) for var, spec in specs.items()})


def _ref(state: Parts, provider: Provider, tenant: str) -> str:
    """The tenant's ref (its webhooks' `tenant_ref`): made now if the tenant has none yet."""
    return state.store.collection(provider.name, tenant).ref


def _made(state: Parts, provider: Provider, tenant: str, kind_name: str, object_id: str, fields: Any,
          values: Values, existing: StoredObject | None, ref: Callable[[], str] | None = None,
          exact: bool = False) -> dict[str, Any]:
    """An object's data: `existing`'s (or a new one's, from the sample, `new` and `at`) with `fields`
    laid over, or `fields` alone when `exact`; `ref` makes the tenant's ref when a template names it
    (unsaid: the store's)."""
    kind = kind_of(provider, kind_name)
    if exact:
        data: dict[str, Any] = {}
    elif existing is not None:
        data = existing.data
    else:
        own = values.extend({"id": object_id}).with_factories({"ref": ref or partial(_ref, state, provider, tenant)})
        data = deep_merge(sample(provider, kind), fill(kind.new, own))
        for path, template in kind.at.items():
            set_each(data, path, fill(template, own))
    data = deep_merge(data, fields) if isinstance(fields, dict) else copy.deepcopy(data)
    set_path(data, kind.id, object_id)
    return data


def _wrong(provider: Provider, kind: ObjectKind, data: dict[str, Any]) -> tuple[str, str] | None:
    """The first place (`.price`, `[0]`; "" for the whole) where an object breaks its kind's schema,
    and why; None when it fits."""
    wrong = next(iter(provider.validator(kind.schema).iter_errors(data)), None)
    if wrong is None:
        return None
    return "".join(f".{p}" if isinstance(p, str) else f"[{p}]" for p in wrong.absolute_path), wrong.message


class Staged:
    """A firing's writes to the objects, kept apart from the store (and read through it) until
    `commit`: an object that does not fit its kind's schema fails the firing with nothing stored."""

    def __init__(self, state: Parts, provider: Provider) -> None:
        self.state, self.provider = state, provider
        self.pending: dict[tuple[str, str], dict[str, StoredObject | None]] = {}

    def objects(self, tenant: str, kind_name: str) -> dict[str, StoredObject]:
        """The tenant's objects of the kind as the firing has made them so far."""
        stored = self.state.store.kind_objects(self.provider.object_pool, tenant, kind_name)
        pending = self.pending.get((tenant, kind_name))
        if not pending:
            return stored
        merged = {**stored, **{i: o for i, o in pending.items() if o is not None}}
        return {i: o for i, o in merged.items() if i not in pending or pending[i] is not None}

    def put(self, tenant: str, kind_name: str, object_id: str, stored: StoredObject, event: str,
            given: Mapping[str, Any]) -> None:
        """Stage an object; EventError naming the place (the firing's `objects`, when a field it gives
        is wrong, else its `data`) if it does not fit its kind's schema."""
        wrong = _wrong(self.provider, kind_of(self.provider, kind_name), stored.data)
        if wrong is not None:
            path, message = wrong
            top = path[1:].split(".")[0].split("[")[0]
            where = f"$.objects.{kind_name}{path}" if top in given else "$.data"
            raise EventError(f"at {where}: {event} would store {kind_name} {object_id}, which breaks "
                             f"{self.provider.name}'s {kind_name} shape at {kind_name}{path}: {message}")
        self.pending.setdefault((tenant, kind_name), {})[object_id] = stored

    def remove(self, tenant: str, kind_name: str, object_id: str) -> None:
        self.pending.setdefault((tenant, kind_name), {})[object_id] = None

    def commit(self) -> None:
        """Write every pending change to the store, in the order they were made."""
        pool, cap = self.provider.object_pool, spec_of(self.provider).cap
        for (tenant, kind_name), changes in self.pending.items():
            for object_id, stored in changes.items():
                if stored is None:
                    self.state.store.remove_object(pool, tenant, kind_name, object_id)
                else:
                    self.state.store.put_object(pool, tenant, kind_name, object_id, stored, cap)


def _store(staged: Staged, place: Place, effect: ObjectEffect, event: str, object_id: str, fields: Any,
           values: Values, given: Mapping[str, Any], deleted: bool = False) -> StoredObject:
    """Upsert one object: the stored one (or a new one) with `fields` laid over."""
    provider = staged.provider
    kind = kind_of(provider, effect.kind)
    existing = staged.objects(place.tenant, effect.kind).get(object_id)
    data = _made(staged.state, provider, place.tenant, effect.kind, object_id, fields, values, existing,
                 exact=effect.exact)
    if deleted and kind.soft_delete:
        data[kind.soft_delete] = True
    stored = StoredObject(data, place.scope if kind.scoped else None, deleted)
    staged.put(place.tenant, effect.kind, object_id, stored, event, given.get(effect.kind) or {})
    return stored


def _matches(data: Any, wanted: Mapping[str, Any]) -> bool:
    return all(data.get(k) == v if not isinstance(v, dict) else _matches(data.get(k) or {}, v)
               for k, v in wanted.items()) if isinstance(data, dict) else False


def apply_effect(staged: Staged, place: Place, effect: ObjectEffect, event: str, values: Values,
                 given: Mapping[str, Any]) -> str | None:
    """What one effect does in one place: upsert, update, ensure or delete objects of its kind; the
    id of the object it is about (with `ensure`, the first that has its `set` fields)."""
    state, provider = staged.state, staged.provider
    kind = kind_of(provider, effect.kind)
    object_fields = fill(effect.object, values) if effect.object is not None else {}
    assigned = fill(effect.assign, values)
    fields = deep_merge(deep_merge(object_fields if isinstance(object_fields, dict) else {}, assigned),
                        given.get(effect.kind) or {})
    objects = staged.objects(place.tenant, effect.kind)
    if effect.ensure is not None:
        have = [i for i, o in objects.items()
                if not o.deleted and o.seen_from(place.scope) and _matches(o.data, assigned)]
        for _ in range(effect.ensure - len(have)):
            have.append(state.ids.generate(kind.generate))
            _store(staged, place, effect, event, have[-1], fields, values, given)
        return have[0] if have else None
    object_id = fill(effect.id, values) if effect.id is not None else get_path(fields, kind.id)
    object_id = str(object_id) if isinstance(object_id, str | int) else state.ids.generate(kind.generate)
    existing = objects.get(object_id)
    if effect.delete:
        if kind.soft_delete:
            _store(staged, place, effect, event, object_id, fields, values, given, deleted=True)
        else:
            staged.remove(place.tenant, effect.kind, object_id)
    elif not (effect.if_missing and existing is not None and not existing.deleted):
        _store(staged, place, effect, event, object_id, fields, values, given)
    return object_id


def on_firing(state: Parts, provider: Provider, events: Iterable[Fired], places: Iterable[Place],
              given: Mapping[str, Any] | None = None) -> None:
    """Store what each event is about in every place it is fired for, before any notification goes:
    a consumer that fetches what a notification names finds it. `given`: objects by kind, laid over
    the ones the firing stores (a caller's own fields). Each effect's templates see `{ids.<kind>}`,
    the ids of the objects earlier effects were about. EventError naming the place, with nothing
    stored, when an object would not fit its kind's schema."""
    if provider.objects is None:
        return
    places = list(places)
    staged = Staged(state, provider)
    for event in events:
        effects = provider.objects.events.get(event.name, ())
        for place in places if effects else ():
            base = event.values.extend({"webhook": place.webhook})
            values = fresh_values(provider, state, event.time, base.extend({"payload": fill(event.payload, base)}))
            ids: dict[str, str] = {}
            for effect in effects:
                object_id = apply_effect(staged, place, effect, event.name, values.extend({"ids": dict(ids)}),
                                         given or {})
                if object_id is not None:
                    ids[effect.kind] = object_id
    staged.commit()


def build(state: Parts, provider: Provider, tenant: str, kind_name: str, given: Any,
          scope: str | None = None, where: str = "$.object", ref: Callable[[], str] | None = None
          ) -> tuple[str, StoredObject]:
    """An object a caller gives (the control API, a state document) for `tenant`, not yet stored:
    laid over the stored one with its id, or over a new one from the sample, and validated against
    the kind's schema; `ref` (a state document's, read before it replaces the state) gives the
    tenant's ref when a template needs it, and nothing stored is read. `$scope` and `$deleted` keys
    set its scope and soft-deleted mark. ObjectError naming the place if it does not fit."""
    kind = kind_of(provider, kind_name)
    if not isinstance(given, dict):
        raise ObjectError(f"at {where}: an object is a JSON object in {provider.name}'s {kind_name} shape")
    fields = {k: v for k, v in given.items() if k not in ("$scope", "$deleted")}
    scope, deleted = given.get("$scope", scope), given.get("$deleted", False)
    kind_mark = fields.get(kind.soft_delete) if kind.soft_delete else None
    if kind_mark is True and "$deleted" not in given:  # (the kind's own soft-delete field says so)
        deleted = True
    if scope is not None and not (isinstance(scope, str) and scope):
        raise ObjectError(f"at {where}.$scope: a scope is a non-empty string")
    if not isinstance(deleted, bool):
        raise ObjectError(f"at {where}.$deleted: must be true or false")
    object_id = get_path(fields, kind.id)
    if object_id is not None and not isinstance(object_id, str):
        raise ObjectError(f"at {where}.{kind.id}: an id is a string")
    existing = state.store.kind_objects(provider.object_pool, tenant, kind_name).get(object_id) \
        if object_id and ref is None else None
    object_id = object_id or state.ids.generate(kind.generate)
    values = fresh_values(provider, state, state.clock.wall())
    data = _made(state, provider, tenant, kind_name, object_id, fields, values, existing, ref)
    if deleted and kind.soft_delete:
        data[kind.soft_delete] = True
    wrong = _wrong(provider, kind, data)
    if wrong is not None:
        raise ObjectError(f"at {where}{wrong[0]}: {wrong[1]}")
    return object_id, StoredObject(data, scope if kind.scoped else None, deleted)


def put(state: Parts, provider: Provider, tenant: str, kind_name: str, given: Any,
        scope: str | None = None) -> tuple[str, StoredObject]:
    """Store an object a caller gives (see build); ObjectError if it does not fit."""
    object_id, made = build(state, provider, tenant, kind_name, given, scope)
    staged = Staged(state, provider)
    staged.pending[(tenant, kind_name)] = {object_id: made}
    _stage_companions(staged, tenant, kind_name, made)
    staged.commit()
    return object_id, made


def add_companions(state: Parts, provider: Provider, tenant: str, kind_name: str, made: StoredObject) -> None:
    """Store the objects a stored object refers to when they are missing (a state document's payout
    gets its employee and payrun, as a put one does)."""
    staged = Staged(state, provider)
    _stage_companions(staged, tenant, kind_name, made)
    staged.commit()


def _stage_companions(staged: Staged, tenant: str, kind_name: str, made: StoredObject) -> None:
    provider = staged.provider
    values = fresh_values(provider, staged.state, staged.state.clock.wall(), Values({"payload": made.data}))
    for effect in _companions(provider, kind_name):
        apply_effect(staged, Place(tenant, made.scope, {}), effect, f"a put {kind_name}", values, {})


def _companions(provider: Provider, kind_name: str) -> tuple[ObjectEffect, ...]:
    """The effects of a firing whose object of the kind is its payload that make the objects the
    payload refers to when missing (a payout's employee and payrun): a put object refers to them too."""
    for effects in spec_of(provider).events.values():
        if effects and effects[0].kind == kind_name and effects[0].object == "{payload}":
            return tuple(e for e in effects[1:] if e.if_missing)
    return ()


def shown(kind: ObjectKind, data: dict[str, Any]) -> dict[str, Any]:
    """An object as the API shows it: without its hidden fields."""
    return {k: v for k, v in data.items() if k not in kind.hidden} if kind.hidden else data


def dump(provider: Provider, state: Parts) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Every tenant's objects of the provider's pool, by tenant and kind, as the API shows them
    (with `$scope` and `$deleted` where they apply)."""
    result: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for (pool, tenant), kinds in state.store.objects.items():
        if pool != provider.object_pool:
            continue
        for kind_name, objects in kinds.items():
            if objects:
                result.setdefault(tenant, {})[kind_name] = [entry(o) for o in objects.values()]
    return result


def entry(stored: StoredObject) -> dict[str, Any]:
    """A stored object as a state document (and GET /_emulator/state) writes it."""
    marks = {"$scope": stored.scope} if stored.scope is not None else {}
    return {**stored.data, **marks, **({"$deleted": True} if stored.deleted else {})}
