"""webhook-emulator: a local emulator of providers' webhook-management APIs and notifications.

The public API is `create_app()` (an aiohttp application), `Emulator` (start and stop one
in-process, with or without an event loop of your own) and `Settings`. They are imported on first
use, so light commands such as `webhook-emulator health` load no more than they need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Emulator", "Settings", "__version__", "create_app"]

_HOMES = {"create_app": "emulator.app", "Emulator": "emulator.server", "Settings": "emulator.settings"}

if TYPE_CHECKING:
    from emulator.app import create_app
    from emulator.server import Emulator
    from emulator.settings import Settings


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'emulator' has no attribute {name!r}")
