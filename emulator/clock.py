"""Injectable time: the real clock, or a seeded one that starts at a fixed instant."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

# The instant a seeded clock starts at, so `--seed` runs produce the same timestamps.
SEEDED_EPOCH = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


class Clock:
    """Wall-clock time for one emulator.

    With `start` the clock begins at that instant and advances with real time; `advance()`
    moves it forward by hand (tests use it to age idempotency keys and tokens).
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start
        self._origin = time.monotonic()
        self._offset = timedelta()

    def now(self) -> datetime:
        """The current instant, timezone-aware in UTC."""
        if self._start is None:
            return datetime.now(UTC) + self._offset
        return self._start + timedelta(seconds=time.monotonic() - self._origin) + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds`."""
        self._offset += timedelta(seconds=seconds)
