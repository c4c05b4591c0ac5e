"""A provider's notification built without a server: the exact body bytes and headers one delivery
attempt would send, for a web framework's test client (Flask, Starlette, Django...).

It takes the path a firing takes (`POST /_emulator/events` with a `url`): the same checks of the
options, the dispatcher's `prepare` (event built from the fixture's sample, the body template, the
target's secret and custom headers) and the dispatcher's `wire` (the signature in the chosen mode
and every header); only the POST is left out.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.app import create_app
from emulator.delivery.dispatcher import wire
from emulator.delivery.firing import fire_problem
from emulator.delivery.specs import delivery_spec, signature_spec
from emulator.engine.clock import SEEDED_EPOCH, Clock
from emulator.engine.events import EventError
from emulator.engine.provider import Provider
from emulator.settings import Settings
from emulator.state import STATE
from emulator.vocabulary import did_you_mean

# Where the notification is addressed: no request goes there, and nothing signed names it.
NOWHERE = "http://localhost/webhook"


@dataclass
class Notification:
    """One notification as the provider would POST it: `body` (the exact bytes that were signed)
    and `headers` (Content-Type, User-Agent, the signature...), the `secret` it was signed with
    (the one given, or a fresh one: a JWK for JWT-signing providers), its `event` and `event_id`,
    and the `signature` mode (valid, or a forgery)."""

    provider: str
    event: str
    event_id: str
    body: bytes
    headers: dict[str, str]
    secret: Any
    signature: str
    method: str = "POST"

    @property
    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    def as_json(self) -> dict[str, Any]:
        """The notification as JSON-ready data (the body as text)."""
        return {"provider": self.provider, "event": self.event, "event_id": self.event_id, "method": self.method,
                "headers": self.headers, "body": self.body.decode("utf-8", errors="replace"),
                "secret": self.secret, "signature": self.signature}


class NotificationMaker:
    """Builds notifications of the built-in providers and those in `fixtures`. `key_for(provider)`
    gives the JWK a JWT-signing provider signs with when no secret is given (default: a fresh one)."""

    def __init__(self, fixtures: Iterable[Path | str] = (), seed: int | None = None,
                 key_for: Callable[[str], dict[str, Any]] | None = None) -> None:
        self._moment: float | None = None  # (a call's `timestamp`, while it builds)
        self._building = threading.Lock()  # (one call at a time sets the moment)
        clock = Clock(SEEDED_EPOCH if seed is not None else None, real=self._real_time)
        state = create_app(Settings(port=0, seed=seed, fixtures=[Path(f) for f in fixtures]), clock=clock)[STATE]
        self._clock = clock
        self.providers = state.providers
        self._dispatcher = state.dispatcher  # never started: it prepares, it does not send
        self._key_for = key_for

    def _real_time(self) -> float:
        return time.time() if self._moment is None else self._moment

    def provider(self, name: str) -> Provider:
        """The provider called `name`; EventError naming the known ones otherwise."""
        if name not in self.providers:
            raise EventError(f"no provider named {name!r}{did_you_mean(name, self.providers)}; the providers are "
                             f"{', '.join(sorted(self.providers))}")
        return self.providers[name]

    def __call__(self, provider: str, event: str, data: dict[str, Any] | None = None, *, secret: Any = None,
                 signature: str = "valid", headers: dict[str, str] | None = None,
                 timestamp: int | None = None) -> Notification:
        """`event` of `provider` with `data` deep-merged into its sample, signed with `secret` (a
        JWK for JWT-signing providers; default a fresh one) in `signature` mode (valid,
        wrong_secret, tampered_body, missing, stale_timestamp) at `timestamp` (Unix seconds, default
        now: the moment the event happens, so its times and its signature's), with the webhook's
        custom `headers`. EventError (a ValueError) says what is wrong with them."""
        found = self.provider(provider)
        spec = delivery_spec(found)
        options = {"provider": provider, "event": event, "url": NOWHERE, "signature": signature,
                   **{k: v for k, v in {"data": data, "secret": secret, "headers": headers}.items() if v is not None}}
        problem = fire_problem(options, found) if isinstance(event, str) else "event must be one event name"
        if problem:
            raise EventError(problem)
        if secret is None and self._key_for is not None and signature_spec(found).scheme == "jwt":
            secret = self._key_for(provider)
        with self._building:
            self._moment = timestamp
            try:
                target = self._dispatcher.explicit_target(found, NOWHERE, secret, headers)
                [delivery] = self._dispatcher.prepare(found, [event], data, target=target, mode=signature,
                                                      logged=False)
                sent = wire(spec, delivery, self._clock.signing_time())
            finally:
                self._moment = None
        return Notification(found.name, delivery.events[0], delivery.event_ids[0], sent.body, sent.headers,
                            delivery.target.secret, signature)


def notification(provider: str, event: str, data: dict[str, Any] | None = None, *, secret: Any = None,
                 signature: str = "valid", headers: dict[str, str] | None = None, timestamp: int | None = None,
                 fixtures: Iterable[Path | str] = (), seed: int | None = None) -> Notification:
    """The notification `provider` would send for `event`, built without a server: see
    NotificationMaker.__call__ for the options; `fixtures` adds provider folders, `seed` fixes the
    ids and secrets made."""
    return NotificationMaker(fixtures, seed)(provider, event, data, secret=secret, signature=signature,
                                             headers=headers, timestamp=timestamp)
