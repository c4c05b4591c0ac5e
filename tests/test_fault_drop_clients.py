"""What docs/cli.md and the README say of `drop` faults: aiohttp's client retries an idempotent
request (GET, HEAD, OPTIONS, PUT, DELETE) once, silently, when its connection drops, so a drop
hitting only the next call never reaches such a caller; a POST, or a second drop, does."""

from __future__ import annotations

import aiohttp
import pytest

from emulator import Emulator
from tests.providers.clients import auth

GIGAPAY = auth("gigapay", "GP", integration="i")


async def test_aiohttp_retries_a_dropped_get_silently_but_not_a_post() -> None:
    with Emulator() as emulator:
        url = emulator.url + "/v2/webhooks/"
        async with aiohttp.ClientSession(headers=GIGAPAY) as session:
            with emulator.client.fault("gigapay", drop=True, times=1) as once:
                async with session.get(url) as listed:
                    assert listed.status == 200  # the drop was hit, and hidden by the client's retry
            assert once.hits == 1
            with emulator.client.fault("gigapay", drop=True, times=2) as twice, pytest.raises(aiohttp.ClientError):
                await session.get(url)
            assert twice.hits == 2
            with emulator.client.fault("gigapay", method="POST", drop=True, times=1), \
                    pytest.raises(aiohttp.ClientError):
                await session.post(url, json={"url": "http://127.0.0.1:9/", "events": ["Payout.created"]})
