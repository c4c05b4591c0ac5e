"""Run an emulator in-process: `with Emulator() as emu:` (its own thread and loop) or
`async with Emulator() as emu:` (the caller's loop). `emu.url` is where it listens."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from aiohttp import web

from emulator.app import create_app
from emulator.settings import Settings
from emulator.state import STATE, EmulatorState


class Emulator:
    """One emulator on a TCP port (a free one by default)."""

    def __init__(self, settings: Settings | None = None, **options: Any) -> None:
        if settings is None:
            settings = Settings(**{"port": 0, **options})
        self.settings = settings
        self.app: web.Application | None = None
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321 (no trailing slash)."""
        if self.port is None:
            raise RuntimeError("the emulator is not running")
        return f"http://{self.settings.host}:{self.port}"

    @property
    def state(self) -> EmulatorState:
        if self.app is None:
            raise RuntimeError("the emulator is not running")
        return self.app[STATE]

    async def start_async(self) -> Emulator:
        """Start on the running event loop."""
        self.app = create_app(self.settings)
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[union-attr]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop_async(self) -> None:
        """Stop: finish in-flight work (bounded) and close the port."""
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = None
        self.port = None

    def start(self) -> Emulator:
        """Start in a background thread with its own event loop; returns once it listens."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop_async())
            loop.close()

        self._thread = threading.Thread(target=run, name="webhook-emulator", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def call(self, coroutine: Any, timeout: float | None = None) -> Any:
        """Run a coroutine on the emulator's own loop (for the thread mode) and return its result."""
        if self._loop is None:
            raise RuntimeError("call() needs an emulator started with start()")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def stop(self) -> None:
        """Stop the background thread started by start()."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
        self._loop = None
        self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Emulator:
        return await self.start_async()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop_async()
