"""Why a firing reached nobody: no webhook of the provider, none of that tenant (or seen from that
scope), or none that wants the events; and which webhooks there are, so the user sees what to fix."""

from __future__ import annotations

from typing import Any

from emulator.delivery.specs import delivery_spec
from emulator.delivery.subscribers import is_disabled, wanted_events
from emulator.engine.events import canonical
from emulator.engine.provider import Provider
from emulator.engine.store import Record
from emulator.state import EmulatorState

# The webhooks an explanation lists at most (the count says how many there are).
LISTED = 20


def why_nobody(state: EmulatorState, provider: Provider, names: list[str], tenant: str | None = None,
               scope: str | None = None) -> dict[str, Any]:
    """`{"reason", "webhooks", "webhooks_total"}` for a firing of `names` that made no delivery:
    the reason in one sentence, and the provider's webhooks (id, tenant, url, events, disabled)."""
    everyone = [(owner, record) for owner, collection in state.store.provider_collections(provider.name)
                for record in collection.records.values()]
    mine = [(owner, record) for owner, record in everyone
            if (tenant is None or owner == tenant) and (scope is None or record.seen_from(scope))]
    names = [canonical(provider, n) for n in names]
    events = " or ".join(names)
    if not everyone:
        reason = f"no {provider.name} webhook is registered"
    elif tenant is not None and all(owner != tenant for owner, _ in everyone):
        reason = f"no {provider.name} webhook belongs to tenant {tenant!r} ({len(everyone)} belong to others)"
    elif not mine:
        reason = f"no {provider.name} webhook{_of(tenant, None)} is seen from scope {scope!r}"
    else:
        wanting = [record for _, record in mine if set(names) & set(wanted_events(provider, record))]
        reason = f"the {len(wanting)} {provider.name} webhook(s){_of(tenant, scope)} that want {events} are " \
                 "disabled" if wanting else \
                 f"none of the {len(mine)} {provider.name} webhook(s){_of(tenant, scope)} wants {events}"
    listed = [describe_webhook(provider, owner, record) for owner, record in (mine or everyone)[:LISTED]]
    return {"reason": reason, "webhooks": listed, "webhooks_total": len(mine or everyone)}


def _of(tenant: str | None, scope: str | None) -> str:
    return (f" of tenant {tenant!r}" if tenant is not None else "") + (f" seen from {scope!r}" if scope else "")


def describe_webhook(provider: Provider, owner: str, record: Record) -> dict[str, Any]:
    """A stored webhook in a few words: id, tenant, url, the events it wants, whether it is disabled."""
    spec = delivery_spec(provider)
    return {"id": record.id, "tenant": owner, "url": record.data.get(spec.url_field),
            "events": wanted_events(provider, record), "disabled": is_disabled(provider, record)}
