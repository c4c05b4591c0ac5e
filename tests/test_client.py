"""The control-API clients as a user's code holds them: blocking from threads and from async code
with the emulator on its own thread, awaitable on any loop, and a clear error (not a hang) where a
blocking call could never be answered."""

from __future__ import annotations

import asyncio
import gc
import inspect
from pathlib import Path

import pytest
import requests
from aiohttp import web

from emulator import Emulator
from emulator.client import AsyncEmulatorClient, EmulatorClient
from emulator.server import start_site
from tests.providers.clients import auth

GIGAPAY = auth("gigapay", "GP", integration="int-1")


async def test_the_blocking_client_works_inside_async_with() -> None:
    async with Emulator() as emulator:
        health = emulator.client.health()
        assert health["status"] == "ok" and "gigapay" in health["providers"]
        assert emulator.client.url_for("gigapay") == emulator.url + "/v2"


async def test_the_async_client_fires_while_the_receiver_lives_on_the_same_loop() -> None:
    hits: list[bytes] = []

    async def hook(request: web.Request) -> web.Response:
        hits.append(await request.read())
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner, port = await start_site(app, "127.0.0.1", 0, 0.5)
    try:
        async with Emulator(time_scale=0.001) as emulator:
            [delivery] = await emulator.aclient.fire("gigapay", "Payout.created", {"amount": "5.00"},
                                                     url=f"http://127.0.0.1:{port}/hook", secret="s", wait=True)
            assert delivery["status"] == "delivered" and len(hits) == 1
            [logged] = await emulator.aclient.deliveries(provider="gigapay")
            assert logged["id"] == delivery["id"]
            await emulator.aclient.reset()
            assert await emulator.aclient.deliveries() == []
    finally:
        await runner.cleanup()


async def test_on_the_callers_loop_a_blocking_call_fails_at_once_and_the_async_one_works() -> None:
    emulator = await Emulator().start_async()
    try:
        with pytest.raises(RuntimeError, match=r"use `await emulator\.aclient"):
            emulator.client.health()
        assert (await emulator.aclient.health())["status"] == "ok"
        assert (await emulator.aclient.request("GET", "/_emulator/providers"))["providers"]
    finally:
        await emulator.stop_async()


def test_the_async_client_has_every_method_of_the_blocking_one() -> None:
    public = {n for n, f in inspect.getmembers(EmulatorClient, inspect.isfunction)
              if not n.startswith("_") and not n.endswith("_async")}
    assert {"fire", "deliveries", "wait_for_delivery", "reset", "state", "requests", "redeliver", "jwk"} <= public
    for name in public - {"fault"}:
        method = getattr(AsyncEmulatorClient, name)
        assert inspect.iscoroutinefunction(method), name
        assert inspect.signature(method) == inspect.signature(getattr(EmulatorClient, name)), name


async def test_the_async_fault_block_holds_inside_and_is_gone_after() -> None:
    async with Emulator() as emulator:
        async with emulator.aclient.fault("gigapay", status=503, times=1) as fault:
            answer = await asyncio.to_thread(requests.get, emulator.url + "/v2/webhooks/",
                                             headers=GIGAPAY, timeout=10)
            assert answer.status_code == 503
        assert fault.hits == 1 and await emulator.aclient.faults() == []


def test_an_unknown_provider_names_the_known_ones() -> None:
    with Emulator() as emulator, pytest.raises(KeyError, match="no provider named 'stripe'; the providers are "
                                                               "centry, gigapay, paybook, shareactor, syncfy"):
        emulator.client.url_for("stripe")


async def test_the_async_waits_do_not_block_the_loop() -> None:
    async with Emulator(time_scale=0.001) as emulator:
        waiting = asyncio.ensure_future(emulator.aclient.wait_for_delivery(timeout=0.3, event="Payout.created"))
        ticks = 0
        while not waiting.done():
            ticks += 1
            await asyncio.sleep(0.01)
        with pytest.raises(TimeoutError):
            waiting.result()
        assert ticks > 5  # the loop kept running while the client waited


def test_an_in_process_emulator_leaves_the_host_process_garbage_collector_alone() -> None:
    """Only `serve`, which owns its process, tunes the garbage collector; a test suite's does not change."""
    before = gc.get_threshold(), gc.get_freeze_count()
    with Emulator() as emu:
        emu.client.reset()
        assert (gc.get_threshold(), gc.get_freeze_count()) == before
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


def test_loading_providers_leaves_the_collector_on_or_off_as_it_was(tmp_path: Path) -> None:
    # (It pauses cycle collection while it loads; a fixtures folder of its own makes it load anew.)
    import shutil

    from emulator.engine.provider import load_providers

    folder = tmp_path / "acme"
    shutil.copytree(Path(__file__).parent.parent / "examples" / "acme", folder)
    assert gc.isenabled()
    assert "acme" in load_providers([folder])
    assert gc.isenabled()
    gc.disable()
    try:
        (folder / "acme.yaml").write_text((folder / "acme.yaml").read_text() + "\n", encoding="utf-8")
        assert "acme" in load_providers([folder])
        assert not gc.isenabled()
    finally:
        gc.enable()
