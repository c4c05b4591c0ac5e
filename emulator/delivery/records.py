"""What the delivery log records: a notification's target, each attempt, the delivery, and the
bounded log of the most recent deliveries."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from emulator.engine.journal import recorded
from emulator.settings import DELIVERY_BODY_LIMIT, DELIVERY_LOG_BYTES

# A delivery's status: pending until it has its outcome, then delivered or failed.
STATUSES = ("pending", "delivered", "failed")


@dataclass
class Target:
    """Where one notification goes, and with what secret and extra headers."""

    url: str
    secret: Any
    headers: dict[str, str] = field(default_factory=dict)
    tenant: str | None = None
    webhook_id: str | None = None
    webhook: dict[str, Any] = field(default_factory=dict)
    delay: float = 0.0
    grouped: bool = False


@dataclass
class Attempt:
    """One POST of a notification and what came back."""

    number: int
    at: str
    request_headers: dict[str, str]
    request_body: str
    status: int | None = None
    response_body: str | None = None
    duration_ms: float = 0.0
    error: str | None = None
    outcome: str = "failed"  # delivered | failed | refused (a target --allow-targets does not allow)


@dataclass
class Delivery:
    """One notification to one target: its events, its body, its outcome and every attempt."""

    id: str
    provider: str
    events: list[str]
    event_ids: list[str]
    target: Target
    body: bytes
    signature: str
    created: str
    status: str = "pending"
    attempts: list[Attempt] = field(default_factory=list)
    next_attempt_at: str | None = None
    error: str | None = None
    duplicates: int = 0  # the same notification sent again this many times once it is delivered
    attempt_count: int = 0  # every attempt made (`attempts` keeps the most recent)
    scheduled: int = 0  # attempts of its schedule made (a redelivery is not one of them)
    body_limit: int = field(default=DELIVERY_BODY_LIMIT, repr=False)  # of the body `as_json` shows
    after: Delivery | None = field(default=None, repr=False)  # starts once this one has its outcome
    done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def as_json(self) -> dict[str, Any]:
        """The delivery as the control API shows it."""
        return {
            "id": self.id,
            "provider": self.provider,
            "events": self.events,
            "event_ids": self.event_ids,
            "tenant": self.target.tenant,
            "webhook_id": self.target.webhook_id,
            "url": self.target.url,
            "secret": self.target.secret,
            "signature": self.signature,
            "status": self.status,
            "created": self.created,
            "next_attempt_at": self.next_attempt_at,
            "error": self.error,
            "duplicates": self.duplicates,
            "body": recorded(self.body, self.body_limit),
            "attempt_count": self.attempt_count,
            "attempts": [vars(a) for a in self.attempts],
        }

    def held_bytes(self) -> int:
        """The bytes of bodies this delivery holds: its own and its attempts' recorded ones."""
        return len(self.body) + sum(len(a.request_body) + len(a.response_body or "") for a in self.attempts)


# Why a delivery dropped from the (bounded) log gets no more retries.
DROPPED = "dropped from the delivery log before its next attempt"


class DeliveryLog:
    """The most recent deliveries, oldest dropped first once `size` deliveries or `max_bytes` bytes
    of bodies (Delivery.held_bytes) are reached; the newest is kept whatever its size."""

    def __init__(self, size: int, max_bytes: int = DELIVERY_LOG_BYTES) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self.dropped = 0
        self.bytes = 0
        self._items: OrderedDict[str, Delivery] = OrderedDict()
        self._sizes: dict[str, int] = {}

    def add(self, delivery: Delivery) -> list[Delivery]:
        """Log a delivery, or account for what a logged one has grown by (its place is kept);
        returns the oldest ones dropped to stay within the bounds."""
        self._items[delivery.id] = delivery
        held = delivery.held_bytes()
        self.bytes += held - self._sizes.get(delivery.id, 0)
        self._sizes[delivery.id] = held
        gone = []
        while len(self._items) > self.size or (self.bytes > self.max_bytes and len(self._items) > 1):
            gone.append(self._pop(next(iter(self._items))))
            self.dropped += 1
        return gone

    def _pop(self, delivery_id: str) -> Delivery:
        self.bytes -= self._sizes.pop(delivery_id)
        return self._items.pop(delivery_id)

    def get(self, delivery_id: str) -> Delivery | None:
        return self._items.get(delivery_id)

    def discard(self, delivery_id: str) -> None:
        """Forget one delivery (a firing that could not be saved)."""
        if delivery_id in self._items:
            self._pop(delivery_id)

    def find(self, provider: str | None = None, event: str | None = None, status: str | None = None,
             url: str | None = None, tenant: str | None = None, webhook: str | None = None) -> list[Delivery]:
        """Deliveries matching every filter given, oldest first."""
        return [d for d in self._items.values()
                if (provider is None or d.provider == provider) and (event is None or event in d.events)
                and (status is None or d.status == status) and (url is None or d.target.url == url)
                and (tenant is None or d.target.tenant == tenant)
                and (webhook is None or d.target.webhook_id == webhook)]

    def remove(self, provider: str | None) -> list[Delivery]:
        """Forget every delivery (of one provider); returns those forgotten."""
        gone = [d for d in self._items.values() if provider is None or d.provider == provider]
        for d in gone:
            self._pop(d.id)
        return gone
