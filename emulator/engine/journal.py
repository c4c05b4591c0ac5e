"""Bounded logs: the most recent entries are kept, the oldest dropped (a ring buffer)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Any


class Journal:
    """A ring buffer of JSON-ready entries, newest last, with simple equality filters."""

    def __init__(self, size: int) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self.dropped = 0

    def add(self, entry: dict[str, Any]) -> None:
        if len(self._entries) == self._entries.maxlen:
            self.dropped += 1
        self._entries.append(entry)

    def entries(self, **filters: Any) -> list[dict[str, Any]]:
        """Entries whose fields equal every given (non-None) filter."""
        wanted = {k: v for k, v in filters.items() if v is not None}
        return [e for e in self._entries if all(str(e.get(k)) == str(v) for k, v in wanted.items())]

    def find(self, keep: Callable[[dict[str, Any]], bool]) -> Iterable[dict[str, Any]]:
        return (e for e in self._entries if keep(e))

    def clear(self) -> None:
        self._entries.clear()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._entries)
