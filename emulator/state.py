"""The per-application state object: everything one emulator owns, hung off its aiohttp app."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from emulator.engine.clock import Clock
from emulator.engine.ids import IdSource
from emulator.engine.journal import Journal
from emulator.engine.provider import Provider
from emulator.engine.routing import Router
from emulator.engine.store import Store
from emulator.settings import Settings

if TYPE_CHECKING:
    from emulator.delivery.dispatcher import Dispatcher


@dataclass
class EmulatorState:
    """One emulator: its settings, providers, state and journals. Nothing here is global."""

    settings: Settings
    providers: dict[str, Provider]
    router: Router
    store: Store
    journal: Journal
    clock: Clock
    ids: IdSource
    dispatcher: Dispatcher | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def reset(self, provider: str | None = None) -> None:
        """Forget webhooks, tokens and replays (of one provider, or all and the request journal),
        and tell the parts with state of their own (`extras["reset_hooks"]`: deliveries, faults)."""
        self.store.reset(provider)
        if provider is None:
            self.journal.clear()
        for hook in self.extras.get("reset_hooks", []):
            hook(provider)


STATE = web.AppKey("emulator_state", EmulatorState)
# What the journal records about a request, set while it is handled (None until known).
PROVIDER_NAME: web.RequestKey[str | None] = web.RequestKey("emulator_provider")
TENANT: web.RequestKey[str | None] = web.RequestKey("emulator_tenant")
