"""Injectable id and secret generation: random like the real services, or reproducible from a seed."""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Callable
from typing import Any

from emulator.clock import Clock

ALPHABETS = {
    "hex": "0123456789abcdef",
    "lower_alnum": string.ascii_lowercase + string.digits,
    "alnum": string.ascii_letters + string.digits,
    "urlsafe": string.ascii_letters + string.digits + "-_",
}


class IdSource:
    """Makes ids and secrets for one emulator; `seed` makes the sequence reproducible."""

    def __init__(self, clock: Clock, seed: int | None = None) -> None:
        self._clock = clock
        self._rng: random.Random = random.Random(seed) if seed is not None else random.SystemRandom()
        self._counter = self._rng.getrandbits(24)
        self._machine = self._rng.getrandbits(40)

    def objectid(self) -> str:
        """A 24-hex Mongo ObjectId: 4 bytes of creation time, 5 of process, 3 of counter."""
        self._counter = (self._counter + 1) & 0xFFFFFF
        seconds = int(self._clock.now().timestamp()) & 0xFFFFFFFF
        return f"{seconds:08x}{self._machine:010x}{self._counter:06x}"

    def uuid4(self) -> str:
        """A random (version 4) UUID in its canonical text form."""
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def token(self, length: int, alphabet: str = "hex") -> str:
        """`length` characters drawn from a named alphabet (see ALPHABETS) or a literal one."""
        chars = ALPHABETS.get(alphabet, alphabet)
        return "".join(self._rng.choice(chars) for _ in range(length))

    def generate(self, spec: str | dict[str, Any]) -> str:
        """Generate from a fixture's spec: `objectid`, `uuid4`, or `{token: N, alphabet: A}`."""
        if isinstance(spec, str):
            return GENERATORS[spec](self)
        return self.token(spec["token"], spec.get("alphabet", "hex"))


GENERATORS: dict[str, Callable[[IdSource], str]] = {
    "objectid": IdSource.objectid,
    "uuid4": IdSource.uuid4,
}
