"""Reading a request's body within the body timeout."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from aiohttp import web

from emulator.engine.errors import ProviderError

T = TypeVar("T")


async def within_body_timeout(request: web.Request, reading: Awaitable[T], seconds: float) -> T:
    """What `reading` (the request's body) gives, in at most `seconds` (the body timeout; no timer
    when the body has all arrived); a 408 ProviderError past it."""
    if request.content.is_eof():
        return await reading
    try:
        async with asyncio.timeout(seconds):
            return await reading
    except TimeoutError:
        raise ProviderError("request_timeout", f"the body did not arrive within {seconds:g} s", status=408) from None
