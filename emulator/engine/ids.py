"""Injectable id and secret generation: random like the real services, or reproducible from a seed."""

from __future__ import annotations

import functools
import hashlib
import os
import random
import string
from collections.abc import Callable

from emulator.engine.clock import Clock
from emulator.engine.model import Generator

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


@functools.cache
def _byte_table(chars: str) -> tuple[bytes, bytes]:
    """How random bytes become characters of an ASCII alphabet, one each and unbiased: byte b is
    chars[b % len(chars)], and the bytes at or past the largest multiple of its size are unused."""
    size = len(chars)
    limit = 256 - 256 % size
    table = bytes(ord(chars[b % size]) if b < limit else 0 for b in range(256))
    return table, bytes(range(limit, 256))


def _mixed(text: str) -> int:
    """A seed made from a text (a seed and what it is for), the same in every run."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


class IdSource:
    """Makes ids and secrets for one emulator; `seed` makes the sequence reproducible."""

    def __init__(self, clock: Clock, seed: int | None = None) -> None:
        self._clock, self._seed = clock, seed
        self._begin(seed)

    def derived(self, name: str) -> IdSource:
        """A source of its own for `name` (a provider's signing key): under a seed, seeded from the
        seed and the name, so what it makes does not depend on what was made before; else this one."""
        if self._seed is None:
            return self
        return IdSource(self._clock, _mixed(f"{self._seed}:{name}"))

    def continue_after(self, held: list[str]) -> None:
        """Under a seed, go on from what a data dir read back holds (its ids, sorted): the sequence
        is seeded from the seed and them, so a restarted seeded emulator does not make them again,
        and the same file gives the same sequence. A random source needs nothing."""
        if self._seed is not None:
            self._begin(_mixed("\n".join([str(self._seed), *held])))  # (a restart begins from the seed again)

    def restart(self) -> None:
        """Begin a seeded sequence again, making the same ids as after start-up (random ones go on)."""
        if self._seed is not None:
            self._begin(self._seed)

    def _begin(self, seed: int | None) -> None:
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
        """A random (version 4) UUID in its canonical text form (as str(uuid.UUID(bytes=..., version=4)))."""
        raw = bytearray(self._bytes.take(16) if self._bytes is not None
                        else self._rng.getrandbits(128).to_bytes(16, "big"))
        raw[6] = raw[6] & 0x0F | 0x40  # the version
        raw[8] = raw[8] & 0x3F | 0x80  # the variant
        text = raw.hex()
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"

    def token(self, length: int, alphabet: str = "hex") -> str:
        """`length` characters drawn from a named alphabet (see ALPHABETS) or a literal one, each
        equally likely."""
        chars = ALPHABETS.get(alphabet, alphabet)
        if len(chars) > 256 or not chars.isascii():
            return "".join(self._rng.choice(chars) for _ in range(length))
        table, unused = _byte_table(chars)
        picked = b""
        while len(picked) < length:
            picked += self._take(length - len(picked)).translate(table, unused)
        return picked.decode("ascii")

    def generate(self, spec: Generator) -> str:
        """Generate from a fixture's generator: `objectid`, `uuid4`, or a Token."""
        if isinstance(spec, str):
            return GENERATORS[spec](self)
        return self.token(spec.token, spec.alphabet)


GENERATORS: dict[str, Callable[[IdSource], str]] = {
    "objectid": IdSource.objectid,
    "uuid4": IdSource.uuid4,
}
