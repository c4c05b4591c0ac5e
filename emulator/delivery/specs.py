"""Reading a provider's delivery section: the section itself, and how it signs."""

from __future__ import annotations

from emulator.engine.events import EventError
from emulator.engine.model import DeliverySpec, Signature
from emulator.engine.provider import Provider

NO_SIGNATURE = Signature()


def delivery_spec(provider: Provider) -> DeliverySpec:
    """The provider's `delivery` section; EventError if it sends no notifications."""
    spec = provider.delivery
    if spec is None:
        raise EventError(f"{provider.name} sends no event notifications")
    return spec


def signature_spec(provider: Provider) -> Signature:
    """How the provider signs its notifications (its `delivery.signature`; scheme `none` when it does not)."""
    return provider.delivery.signature if provider.delivery is not None else NO_SIGNATURE
