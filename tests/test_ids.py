"""Ids and secrets: the formats the providers use, every character equally likely when random,
and the same sequence again for the same seed."""

from __future__ import annotations

import re
import uuid
from collections import Counter

import pytest

from emulator.engine.clock import Clock
from emulator.engine.ids import ALPHABETS, IdSource


@pytest.mark.parametrize("alphabet", sorted(ALPHABETS))
@pytest.mark.parametrize("seed", [None, 1])
def test_tokens_have_the_length_and_only_the_alphabet(alphabet: str, seed: int | None) -> None:
    ids = IdSource(Clock(), seed)
    tokens = [ids.token(n, alphabet) for n in (1, 32, 64, 5000)]
    assert [len(t) for t in tokens] == [1, 32, 64, 5000]
    assert set("".join(tokens)) <= set(ALPHABETS[alphabet])


@pytest.mark.parametrize("seed", [None, 1])
def test_tokens_use_every_character_about_equally(seed: int | None) -> None:
    """An alphabet whose size does not divide 256 (36) would favour its first characters if bytes
    were simply taken modulo its size: 8 of 256 bytes more, i.e. 1.29 x as often."""
    counts = Counter(IdSource(Clock(), seed).token(360_000, "lower_alnum"))
    assert len(counts) == 36
    assert max(counts.values()) / min(counts.values()) < 1.1


def test_random_uuids_are_version_4() -> None:
    ids = IdSource(Clock())
    made = {ids.uuid4() for _ in range(1000)}
    assert len(made) == 1000
    assert all(uuid.UUID(u).version == 4 and re.fullmatch(r"[0-9a-f-]{36}", u) for u in made)


def test_a_seed_repeats_the_sequence_and_another_seed_does_not() -> None:
    def sequence(seed: int) -> list[str]:
        ids = IdSource(Clock(), seed)
        return [ids.uuid4(), ids.token(32, "lower_alnum"), ids.objectid(), ids.token(64)]

    assert sequence(3) == sequence(3) != sequence(4)
