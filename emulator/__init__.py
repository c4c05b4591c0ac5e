"""webhook-emulator: a local emulator of providers' webhook-management APIs and notifications.

The public API, importable from the package (`from emulator import Emulator, EmulatorClient`):

- `Emulator` (start and stop one in-process, with or without an event loop of your own),
  `Settings` (everything it can be told) and `create_app()` (the bare aiohttp application);
- `EmulatorClient`, `AsyncEmulatorClient` and `ControlError`: the control API of any running
  emulator (in-process, the CLI's, a container);
- `Receiver` and `Received`: a local webhook consumer for tests, and one request it got;
- `notification()` and `Notification`: a provider's signed notification, built without a server,
  to hand to a web framework's test client.

They are imported on first use, so light commands such as `webhook-emulator health` load no more
than they need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_HOMES = {
    "create_app": "emulator.app",
    "Emulator": "emulator.server",
    "Settings": "emulator.settings",
    "EmulatorClient": "emulator.client",
    "AsyncEmulatorClient": "emulator.client",
    "ControlError": "emulator.client",
    "Receiver": "emulator.receiver",
    "Received": "emulator.receiver",
    "notification": "emulator.delivery.notification",
    "Notification": "emulator.delivery.notification",
}
__all__ = ["AsyncEmulatorClient", "ControlError", "Emulator", "EmulatorClient", "Notification", "Received",
           "Receiver", "Settings", "__version__", "create_app", "notification"]

if TYPE_CHECKING:
    from emulator.app import create_app
    from emulator.client import AsyncEmulatorClient, ControlError, EmulatorClient
    from emulator.delivery.notification import Notification, notification
    from emulator.receiver import Received, Receiver
    from emulator.server import Emulator
    from emulator.settings import Settings


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'emulator' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
