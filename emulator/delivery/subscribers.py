"""Which stored webhooks want an event: the events each subscribes to, whether it is disabled,
an index of a collection's subscribers by event, and the `payload_match` rule that narrows (or
fills) an event by a webhook's own value."""

from __future__ import annotations

from dataclasses import replace

from emulator.delivery.records import Target
from emulator.delivery.specs import delivery_spec
from emulator.engine.events import Event, aliases, catalogue
from emulator.engine.model import PayloadMatch
from emulator.engine.provider import Provider
from emulator.engine.store import Collection, Record


def wanted_events(provider: Provider, record: Record) -> list[str]:
    """The canonical names of the events a stored webhook subscribes to."""
    rule = delivery_spec(provider).subscribers
    match rule.match:
        case "flag":
            names = [name for name in catalogue(provider) if record.data.get(name) is True]
        case "equals":
            value = record.data.get(str(rule.field))
            names = [value] if isinstance(value, str) else []
        case _:  # contains
            names = [v for v in record.data.get(str(rule.field)) or [] if isinstance(v, str)]
    known = aliases(provider)
    return [known.get(n, n) for n in names]


def is_disabled(provider: Provider, record: Record) -> bool:
    """Whether a webhook's `skip_when` fields say it receives nothing (e.g. an `is_disabled` flag)."""
    skip = delivery_spec(provider).subscribers.skip_when
    return bool(skip) and all(record.data.get(k) == v for k, v in skip.items())


def payload_matched(rule: PayloadMatch, event: Event, target: Target, given: bool, narrow: bool) -> Event | None:
    """The event as `target` gets it under `subscribers.payload_match`: with a firing that gave
    the payload field, itself when the webhook's value is null or the same, else None (when
    `narrow`); with one that did not, its payload field filled with the webhook's own value."""
    wanted = target.webhook.get(rule.webhook)
    payload = event.payload
    if wanted is None or not isinstance(payload, dict):
        return event
    if given:
        return event if payload.get(rule.payload) == wanted or not narrow else None
    return replace(event, payload={**payload, rule.payload: wanted}, values=event.values.extend({rule.payload: wanted}))


# A subscriber index: event name -> the webhooks that want it, with their places in creation order.
SubscriberIndex = dict[str, list[tuple[int, Record]]]


def subscriber_index(provider: Provider, collection: Collection) -> SubscriberIndex:
    """The webhooks of a collection that receive notifications, by the events they want; made once
    and kept by the collection until it changes, so a firing looks only at its subscribers."""
    index: SubscriberIndex | None = collection.derived.get("subscribers")
    if index is None:
        index = {}
        for position, record in enumerate(collection.records.values()):
            if is_disabled(provider, record):
                continue
            entry = (position, record)
            for name in set(wanted_events(provider, record)):
                index.setdefault(name, []).append(entry)
        collection.keep("subscribers", index)
    return index
