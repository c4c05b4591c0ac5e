"""webhook-emulator: a local emulator of providers' webhook-management APIs and notifications.

The public API is `create_app()` (an aiohttp application) and `Emulator` (start and stop one
in-process, with or without an event loop of your own).
"""

__version__ = "0.1.0"

from emulator.app import create_app
from emulator.server import Emulator
from emulator.settings import Settings

__all__ = ["Emulator", "Settings", "__version__", "create_app"]
