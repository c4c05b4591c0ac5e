"""Injectable id and secret generation: random like the real services, or reproducible from a seed."""

from __future__ import annotations

import os
import random
import string
import uuid
from collections.abc import Callable
from typing import Any

from emulator.engine.clock import Clock

ALPHABETS = {
    "hex": "0123456789abcdef",
    "lower_alnum": string.ascii_lowercase + string.digits,
    "alnum": string.ascii_letters + string.digits,
    "urlsafe": string.ascii_letters + string.digits + "-_",
}


class RandomBytes:
    """Operating-system randomness read a few KiB at a time: one system call for many ids and
    secrets instead of one per character."""

    def __init__(self, chunk: int = 4096) -> None:
        self._chunk = chunk
        self._buffer = b""
        self._at = 0

    def take(self, count: int) -> bytes:
        """The next `count` random bytes."""
        if self._at + count > len(self._buffer):
            self._buffer = self._buffer[self._at:] + os.urandom(max(self._chunk, count))
            self._at = 0
        taken = self._buffer[self._at:self._at + count]
        self._at += count
        return taken


class IdSource:
    """Makes ids and secrets for one emulator; `seed` makes the sequence reproducible."""

    def __init__(self, clock: Clock, seed: int | None = None) -> None:
        self._clock = clock
        self._rng: random.Random = random.Random(seed) if seed is not None else random.SystemRandom()
        self._bytes = RandomBytes() if seed is None else None
        # Random bytes for secrets: the operating system's (buffered), or the seeded generator's.
        self._take: Callable[[int], bytes] = self._rng.randbytes if self._bytes is None else self._bytes.take
        self._counter = self._rng.getrandbits(24)
        self._machine = self._rng.getrandbits(40)

    def objectid(self) -> str:
        """A 24-hex Mongo ObjectId: 4 bytes of creation time, 5 of process, 3 of counter."""
        self._counter = (self._counter + 1) & 0xFFFFFF
        seconds = int(self._clock.now().timestamp()) & 0xFFFFFFFF
        return f"{seconds:08x}{self._machine:010x}{self._counter:06x}"

    def uuid4(self) -> str:
        """A random (version 4) UUID in its canonical text form."""
        if self._bytes is not None:
            return str(uuid.UUID(bytes=self._bytes.take(16), version=4))
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def token(self, length: int, alphabet: str = "hex") -> str:
        """`length` characters drawn from a named alphabet (see ALPHABETS) or a literal one, each
        equally likely."""
        chars = ALPHABETS.get(alphabet, alphabet)
        if len(chars) > 256:
            return "".join(self._rng.choice(chars) for _ in range(length))
        # One byte a character, unbiased: a byte is used only below the largest multiple of the
        # alphabet's size.
        size = len(chars)
        limit = 256 - 256 % size
        picked: list[str] = []
        while len(picked) < length:
            picked += [chars[b % size] for b in self._take(length - len(picked)) if b < limit]
        return "".join(picked)

    def generate(self, spec: str | dict[str, Any]) -> str:
        """Generate from a fixture's spec: `objectid`, `uuid4`, or `{token: N, alphabet: A}`."""
        if isinstance(spec, str):
            return GENERATORS[spec](self)
        return self.token(spec["token"], spec.get("alphabet", "hex"))


GENERATORS: dict[str, Callable[[IdSource], str]] = {
    "objectid": IdSource.objectid,
    "uuid4": IdSource.uuid4,
}
