"""Injectable time: the real clock, or a seeded one that starts at a fixed instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# The instant a seeded clock starts at, so `--seed` runs produce the same timestamps.
SEEDED_EPOCH = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
# How far a seeded clock moves each time it is read: timestamps are distinct, ordered and the
# same in every run that makes the same requests.
SEEDED_TICK = timedelta(milliseconds=1)


class Clock:
    """Wall-clock time for one emulator.

    With `start` the clock is deterministic: it begins at that instant and moves `SEEDED_TICK`
    per reading. `advance()` moves either clock forward by hand (tests use it to age
    idempotency keys and tokens, or to space out timestamps).
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start
        self._readings = 0
        self._offset = timedelta()

    def now(self) -> datetime:
        """The current instant, timezone-aware in UTC."""
        if self._start is None:
            return datetime.now(UTC) + self._offset if self._offset else datetime.now(UTC)
        self._readings += 1
        return self._start + self._offset + SEEDED_TICK * (self._readings - 1)

    def wall(self) -> datetime:
        """The real time (moved by `advance()` too), seeded or not: what a client compares the times
        it is told with, as signature timestamps do (an issued token's `created_at`)."""
        return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds`."""
        self._offset += timedelta(seconds=seconds)
