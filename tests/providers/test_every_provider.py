"""What holds for every provider alike, written once and run for each: a seed reproduces every
answer, each credential is a tenant that sees only its own webhooks, and configured credentials
are the only ones accepted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Answer, Api, MakeApi
from tests.providers.clients import CLIENTS, Client

PROVIDERS = list(CLIENTS.values())
EACH = pytest.mark.parametrize("provider", PROVIDERS, ids=[p.name for p in PROVIDERS])


async def create(api: Api, provider: Client, key: str = "MY_KEY") -> Answer:
    answer = await api.post(provider.collection, json=provider.body, headers=provider.auth(key))
    assert answer.status in (200, 201), answer.json
    return answer


@EACH
async def test_a_seed_reproduces_every_answer_and_another_seed_changes_them(make_api: MakeApi,
                                                                            provider: Client) -> None:
    async def answers(seed: int) -> list[Any]:
        api = await make_api(seed=seed)
        created = await create(api, provider)
        listed = await api.get(provider.collection, headers=provider.auth("MY_KEY"))
        return [created.json, listed.json]

    first = await answers(7)
    assert first == await answers(7)
    assert first != await answers(8)


@EACH
async def test_each_credential_is_a_tenant_that_sees_only_its_own(api: Api, provider: Client) -> None:
    webhook = (await create(api, provider)).json
    other = provider.auth("SOMEONE_ELSE")
    assert provider.items((await api.get(provider.collection, headers=other)).json) == []
    if provider.retrievable:
        assert (await api.get(provider.member(webhook), headers=other)).status == 404
    assert (await api.delete(provider.member(webhook), headers=other)).status == 404
    assert len(provider.items((await api.get(provider.collection, headers=provider.auth("MY_KEY"))).json)) == 1


@EACH
async def test_configured_credentials_are_the_only_ones_accepted(make_api: MakeApi, provider: Client) -> None:
    api = await make_api(credentials={provider.name: ["GOOD"]})
    assert (await api.get(provider.collection, headers=provider.auth("GOOD"))).status == 200
    assert (await api.get(provider.collection, headers=provider.auth("OTHER"))).status == 401


@EACH
async def test_a_list_shows_every_change_made_since_it_was_last_read(api: Api, provider: Client) -> None:
    """Lists are answered from kept pages until the collection changes: each change shows at once,
    and a person's indented answer (curl) holds the same webhooks as a program's compact one."""
    headers = provider.auth("MY_KEY")

    async def listed(**extra: str) -> list[Any]:
        answer = await api.get(provider.collection, headers={**headers, **extra})
        assert answer.status == 200
        return provider.items(answer.json)

    first = (await create(api, provider)).json
    assert len(await listed()) == 1
    await create(api, provider)
    assert len(await listed()) == 2
    assert (await api.delete(provider.member(first), headers=headers)).status in (200, 204)
    compact = await listed()
    assert len(compact) == 1
    assert await listed(**{"User-Agent": "curl/8.5.0"}) == compact
    assert (await api.get(provider.collection, headers={**headers, "User-Agent": "curl/8.5.0"})).raw.count(b"\n") > 3
