"""The per-application state object, the emulator's composition root: everything one emulator
owns, built by `create_app` and hung off its aiohttp app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from emulator.engine.clock import Clock
from emulator.engine.ids import IdSource
from emulator.engine.journal import Journal
from emulator.engine.provider import Provider
from emulator.engine.routing import Router
from emulator.engine.store import Store
from emulator.settings import Settings

if TYPE_CHECKING:  # (both build on this module: they read the state of the app a request is for)
    from emulator.delivery.dispatcher import Dispatcher
    from emulator.faults import Faults


@dataclass
class EmulatorState:
    """One emulator: its settings, providers, state, journals, dispatcher and fault rules. Nothing
    here is global."""

    settings: Settings
    providers: dict[str, Provider]
    router: Router
    store: Store
    journal: Journal
    clock: Clock
    ids: IdSource
    dispatcher: Dispatcher
    faults: Faults
    state_file_loaded: bool = False  # whether start-up loaded the --state file (what `serve` reports)

    def reset(self, provider: str | None = None) -> None:
        """Forget webhooks, tokens, replays and objects (of one provider and its object pool, or all
        and the request journal), and that provider's (or every) delivery and fault rule, keeping
        the signing keys; a full reset also restarts the ids, the clock and the fault draws."""
        self.reset_store(provider)
        # Written before anything else forgets: a reset the file cannot take leaves memory (the
        # delivery log too) as it was, and the call answers 500.
        self.store.commit()
        self.forget(provider)
        if provider is None:
            self.restart()

    def restart(self) -> None:
        """Start the seeded sources again, as at start-up: after a full reset a seeded emulator makes
        the same ids, secrets, times and fault draws as when it started."""
        self.ids.restart()
        self.clock.restart()
        self.faults.restart()

    def reset_store(self, provider: str | None = None) -> None:
        """A reset's part in the store: webhooks, tokens, replays, and the objects of the provider's
        object pool (which another provider may share)."""
        self.store.reset(provider)
        pool = self.providers[provider].object_pool if provider in self.providers else None
        if pool is not None and pool != provider:
            self.store.reset_objects(pool)

    def forget(self, provider: str | None = None) -> None:
        """What a reset forgets besides the store: the request journal (of a full reset), and the
        deliveries and fault rules (of one provider, or all)."""
        if provider is None:
            self.journal.clear()
        self.dispatcher.forget(provider)
        self.faults.remove(provider=provider)


STATE = web.AppKey("emulator_state", EmulatorState)
# What the journal records about a request, set while it is handled (None until known).
PROVIDER_NAME: web.RequestKey[str | None] = web.RequestKey("emulator_provider")
TENANT: web.RequestKey[str | None] = web.RequestKey("emulator_tenant")
