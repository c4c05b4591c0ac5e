"""The event names a received notification carries, for `receive`'s lines: where each provider's
notifications name their events is learnt from a sample notification of every event it has (the
paths in the body whose value is the event's name), so no provider is named here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

Path_ = tuple[str, ...]  # a place in a JSON body: keys, and "*" for any list position


def _places(data: Any, at: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every value of parsed JSON with its place, in document order."""
    yield at, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _places(value, (*at, str(key)))
    elif isinstance(data, list):
        for value in data:
            yield from _places(value, (*at, "*"))


class EventNames:
    """`names(body)`: the events a notification body names, canonical, each once, in body order
    (empty when it names none: a body that is the bare object, or not JSON)."""

    def __init__(self, fixtures: list[Path], provider: str | None = None) -> None:
        from emulator.delivery.notification import NotificationMaker
        from emulator.engine.events import EventError, aliases, catalogue

        maker = NotificationMaker(fixtures, seed=0)
        self.where: list[tuple[set[Path_], dict[str, str]]] = []
        for name, found in sorted(maker.providers.items()):
            if provider not in (None, name) or found.delivery is None:
                continue
            places: set[Path_] = set()
            for event in catalogue(found):
                try:
                    body = maker(name, event).json
                except (EventError, ValueError):  # (a body that is not JSON names nothing)
                    continue
                places |= {at for at, value in _places(body) if value == event}
            if places:
                self.where.append((places, {**{e: e for e in catalogue(found)}, **aliases(found)}))

    def names(self, body: bytes) -> list[str]:
        try:
            data = json.loads(body)
        except ValueError:
            return []
        for places, known in self.where:
            named = [known[v] for at, v in _places(data) if at in places and isinstance(v, str) and v in known]
            if named:
                return list(dict.fromkeys(named))
        return []
