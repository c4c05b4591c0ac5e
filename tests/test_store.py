"""The store's pages: whatever sequence of creates, updates (of id and scope), deletes and
restores happened, a page of what a caller's scope sees is the same as filtering every record,
in creation order both ways, with the right total."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from emulator.engine.store import EVERYONE, MAX_VIEWS, Collection, Record

SCOPES = [None, "a", "b"]
START = datetime(2024, 1, 2, tzinfo=UTC)


def brute_force(collection: Collection, scope: object, offset: int, limit: int | None, descending: bool
                ) -> tuple[list[str], int]:
    seen = [r.id for r in collection.records.values() if scope is EVERYONE or r.seen_from(scope)]  # type: ignore[arg-type]
    if descending:
        seen.reverse()
    return seen[offset:None if limit is None else offset + limit], len(seen)


@pytest.mark.parametrize("seed", range(20))
def test_pages_of_each_scope_match_a_full_scan(seed: int) -> None:
    rng = random.Random(seed)
    collection = Collection(ref="t")
    made = 0
    for step in range(300):
        live = list(collection.records.values())
        action = rng.random()
        if action < 0.5 or not live:
            made += 1
            collection.add(Record(f"r{made}", {}, START + timedelta(seconds=made), START, scope=rng.choice(SCOPES)))
        elif action < 0.7:
            collection.remove(rng.choice(live), soft=rng.random() < 0.5)
        elif action < 0.85:
            record = rng.choice(live)
            old_id = record.id
            if rng.random() < 0.3:
                made += 1
                record.id = f"r{made}-renamed"
            record.scope = rng.choice(SCOPES)
            collection.touch(record, old_id)
        elif action < 0.9:
            collection.order_by_update_time()  # as a restore does
        for scope in [EVERYONE, *SCOPES]:
            offset, descending = rng.randrange(0, 40), rng.random() < 0.5
            limit = None if rng.random() < 0.1 else rng.randrange(1, 30)
            records, total = collection.page(offset, limit, descending=descending, scope=scope)
            assert ([r.id for r in records], total) == brute_force(collection, scope, offset, limit, descending), step


def test_a_page_far_past_the_end_is_empty_with_the_total() -> None:
    collection = Collection(ref="t")
    for n in range(5):
        collection.add(Record(f"r{n}", {}, START, START, scope="a" if n % 2 else None))
    assert collection.page(10**30, 10**30, scope="a") == ([], 5)
    assert [r.id for r in collection.page(0, 10, scope=None)[0]] == ["r0", "r2", "r4"]


def test_only_the_most_recently_listed_scopes_keep_a_view_and_an_evicted_one_is_rebuilt_right() -> None:
    collection = Collection(ref="t")
    for n in range(40):
        collection.add(Record(f"r{n}", {}, START, START, scope=f"s{n % 20}"))
    for scope in [f"s{n}" for n in range(20)]:
        records, total = collection.page(0, 100, scope=scope)
        assert [r.id for r in records] == [f"r{n}" for n in range(40) if f"s{n % 20}" == scope] and total == 2
    assert len(collection._views) <= MAX_VIEWS
    collection.add(Record("late", {}, START, START, scope="s0"))
    assert [r.id for r in collection.page(0, 100, scope="s0")[0]] == ["r0", "r20", "late"]
