"""Bounded logs: the most recent entries are kept, the oldest dropped (a ring buffer); bodies
kept up to a limit, with a marker; and log lines that no request can forge."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any


def printable(text: str) -> str:
    """`text` for a log line: control characters escaped, so no request can forge a line."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def recorded(raw: bytes, limit: int, size: int | None = None) -> str:
    """A body as a log keeps it: the first `limit` bytes, then a marker saying how many there were
    in all (`size`, when `raw` is already cut short)."""
    size = len(raw) if size is None else size
    if size <= limit:
        return raw.decode("utf-8", errors="replace")
    return raw[:limit].decode("utf-8", errors="ignore") + f"... [truncated: {size} bytes in all]"


def _as_is(entry: Any) -> dict[str, Any]:
    return entry  # type: ignore[no-any-return]


class Journal:
    """A ring buffer of entries, newest last, with simple equality filters. An entry is kept as it
    was added and made JSON-ready by `as_json` only when read, so that adding one costs little."""

    def __init__(self, size: int, as_json: Callable[[Any], dict[str, Any]] = _as_is) -> None:
        self._entries: deque[Any] = deque(maxlen=size)
        self._as_json = as_json
        self.dropped = 0

    def add(self, entry: Any) -> None:
        if len(self._entries) == self._entries.maxlen:
            self.dropped += 1
        self._entries.append(entry)

    def entries(self, **filters: Any) -> list[dict[str, Any]]:
        """Entries (as JSON) whose fields equal every given (non-None) filter."""
        wanted = {k: v for k, v in filters.items() if v is not None}
        shown = map(self._as_json, self._entries)
        return [e for e in shown if all(str(e.get(k)) == str(v) for k, v in wanted.items())]

    def clear(self) -> None:
        self._entries.clear()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._entries)
