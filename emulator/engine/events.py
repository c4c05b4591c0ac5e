"""The event catalogue: each provider's events, built from the fixture's sample payloads with fresh
ids and timestamps in the provider's formats, and a caller's overrides deep-merged on top.

A fixture's `events` section holds `id` (how event ids are made), `fresh` (variables made anew
for every firing: `objectid`, `uuid4`, `{token: N, alphabet: A}`, `{time: FORMAT, tz: ZONE}`, or
`{value: X}` for a constant a caller may override), `aliases` (other names an event answers to)
and `catalogue` (per event its `sample` template and an optional `schema`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from emulator.engine.clock import Clock
from emulator.engine.ids import IdSource
from emulator.engine.model import EventSpec, FreshTime, FreshValue
from emulator.engine.render import Values, deep_merge, fill, format_time, render_record
from emulator.engine.store import Record
from emulator.vocabulary import did_you_mean

if TYPE_CHECKING:  # (the provider model's loader checks samples by building them: see fixture_lint)
    from emulator.engine.provider import Provider


class EventError(ValueError):
    """An event name a provider does not have, or overrides that cannot apply."""


@dataclass
class Event:
    """One built event: its name, id, time, payload and the template values it was made from."""

    name: str
    id: str
    time: datetime
    payload: Any
    values: Values


def catalogue(provider: Provider) -> Mapping[str, EventSpec]:
    """The provider's events by canonical name (empty if it has none)."""
    return provider.events.catalogue if provider.events is not None else {}


def aliases(provider: Provider) -> Mapping[str, str]:
    """Other names events answer to, mapped to the canonical name."""
    return provider.events.aliases if provider.events is not None else {}


def canonical(provider: Provider, name: str) -> str:
    """The canonical name of `name` (itself or what it is an alias of); EventError if unknown."""
    events = catalogue(provider)
    name = aliases(provider).get(name, name)
    if name not in events:
        known = ", ".join(sorted(events)) or "none"
        hint = did_you_mean(name, [*events, *aliases(provider)])
        raise EventError(f"{provider.name} has no event {name!r}{hint} (its events: {known})")
    return name


def fresh_value(spec: Any, ids: IdSource, now: datetime) -> Any:
    """One variable's value: an id or secret from `ids`, `now` in a time format, or a constant."""
    if isinstance(spec, FreshTime):
        return format_time(now - timedelta(seconds=spec.before) if spec.before else now, spec.time, spec.tz)
    if isinstance(spec, FreshValue):
        return spec.value
    return ids.generate(spec)


def webhook_values(provider: Provider, record: Record, ref: str) -> dict[str, Any]:
    """What a payload's `{webhook.*}` templates read: the stored values, the webhook as the
    provider's API shows it (e.g. its `company`) and its `id`."""
    return {**record.data, **render_record(provider.views["default"], record, ref), "id": record.id}


def build(provider: Provider, name: str, overrides: dict[str, Any] | None, ids: IdSource, clock: Clock,
          shared: Mapping[str, Any] | None = None) -> Event:
    """A fresh event: the sample with new ids and times, then `overrides` deep-merged. A top-level
    override of a fresh variable's name (e.g. `id_user`) also sets it wherever the sample uses it;
    `shared` gives values an earlier event of the same firing made (see `firing`)."""
    name = canonical(provider, name)
    events = provider.events
    assert events is not None  # (canonical found the name in its catalogue)
    spec = events.catalogue[name]
    overrides = overrides or {}
    fresh = events.fresh
    seeded = {**(shared or {}), **{k: v for k, v in overrides.items() if k in fresh and not isinstance(v, dict | list)}}
    now = clock.wall()  # (what a firing makes carries the real time, seeded or not: see Clock)
    event_id = ids.generate(events.id)
    # Each fresh variable is made when a template first uses it, then reused within the firing.
    factories = {var: partial(fresh_value, spec, ids, now) for var, spec in fresh.items()}
    values = Values({**seeded, **spec.values, "event": name, "event_id": event_id}, factories)
    payload = deep_merge(fill(spec.sample, values), overrides)
    return Event(name, event_id, now, payload, values)


def firing(provider: Provider, names: list[str], overrides: dict[str, Any] | None, ids: IdSource,
           clock: Clock) -> dict[str, Event]:
    """The events of one firing, by name: the fixture's `events.shared` variables made once, by
    the first event, and given to the others."""
    built: dict[str, Event] = {}
    shared: dict[str, Any] = {}
    wanted = provider.events.shared if provider.events is not None else ()
    for name in names:
        event = build(provider, name, overrides, ids, clock, shared)
        if not shared and wanted:
            shared = {k: event.values[k] for k in wanted}
        built[name] = event
    return built
