"""Injectable time: the real clock, or a seeded one that starts at a fixed instant.

Under a seed two clocks run side by side. `now()` is the seeded one: the times of records the
provider's API makes (a webhook's `created_at`, an id's time part) are the same in every run.
`wall()` follows the real time, for everything a client holds up against its own clock: the
times of what a firing makes (its events and the objects they point to), an issued token's
`created_at`, and `signing_time()`, the instant a signature is made at.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

# The instant a seeded clock starts at, so `--seed` runs produce the same timestamps.
SEEDED_EPOCH = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
# How far a seeded clock moves each time it is read: timestamps are distinct, ordered and the
# same in every run that makes the same requests.
SEEDED_TICK = timedelta(milliseconds=1)


class Clock:
    """Time for one emulator.

    With `start` `now()` is deterministic: it begins at that instant and moves `SEEDED_TICK` per
    reading. `real` is the source of the real time in seconds (default `time.time`; a test gives
    a fixed one to make firings byte for byte the same). `advance()` moves `now()` and `wall()`
    forward by hand (tests use it to age idempotency keys and tokens), never `signing_time()`:
    receivers check signatures against their own clock.
    """

    def __init__(self, start: datetime | None = None, real: Callable[[], float] = time.time) -> None:
        self._start = start
        self._real = real
        self._readings = 0
        self._offset = timedelta()

    def now(self) -> datetime:
        """The current instant, timezone-aware in UTC: seeded when the clock has a start."""
        if self._start is None:
            return self.wall()
        self._readings += 1
        return self._start + self._offset + SEEDED_TICK * (self._readings - 1)

    def wall(self) -> datetime:
        """The real time (moved by `advance()` too), seeded or not."""
        return datetime.fromtimestamp(self._real(), UTC) + self._offset

    def signing_time(self) -> int:
        """The real time in whole seconds, unmoved by `advance()`: what a signature is made at."""
        return int(self._real())

    def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds`."""
        self._offset += timedelta(seconds=seconds)

    def restart(self) -> None:
        """Begin again as at start-up: a seeded clock at its start, and no `advance()` offset."""
        self._readings = 0
        self._offset = timedelta()
