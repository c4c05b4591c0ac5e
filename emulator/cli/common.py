"""What the commands share: one-line errors, the running emulator they talk to (--server,
--admin-token), and JSON options."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from emulator.client import ControlError, EmulatorClient
from emulator.settings import Settings, SettingsError, local_url

T = TypeVar("T")
SERVER_HELP = "base URL of the running emulator (default: from EMULATOR_HOST and EMULATOR_PORT, http://127.0.0.1:8080)"


def fail(message: str) -> int:
    """Say what went wrong in one line; the exit status of a usage error (2)."""
    print(f"webhook-emulator: {message}", file=sys.stderr)
    return 2


def admin_token_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--admin-token", dest="admin_token",
                        help="the running emulator's admin token, if it has one (EMULATOR_ADMIN_TOKEN)")


def default_server() -> str:
    """The emulator this machine's EMULATOR_HOST and EMULATOR_PORT describe (127.0.0.1:8080 unset)."""
    settings = Settings.from_env()
    return local_url(settings.host, settings.port)


def control_client(url: str, args: argparse.Namespace, timeout: float) -> EmulatorClient:
    """A client of the emulator at `url`, with the admin token from --admin-token or the environment."""
    return EmulatorClient(url, timeout, token=args.admin_token or os.environ.get("EMULATOR_ADMIN_TOKEN") or None)


def ask(url: str, call: Callable[[], T], local: bool = False) -> T | int:
    """What `call` (control-API calls to the emulator at `url`, `local`: one in-process) answers, or
    exit status 2 after saying in one line why there is no answer."""
    try:
        return call()
    except SettingsError:  # a bad argument (an unreadable file): main() reports it
        raise
    except ControlError as exc:
        hint = " (give it with --admin-token or EMULATOR_ADMIN_TOKEN)" if exc.status == 401 else ""
        return fail(f"{own_provider(exc.message, local)}{hint}")
    except (OSError, ValueError) as exc:
        return fail(f"cannot reach {url}: {exc}")


def own_provider(message: str, local: bool = True) -> str:
    """A "no provider named" line with what to do about a provider of one's own: add --fixtures to
    this command (`local`), or serve it with them."""
    if not message.startswith("no provider named"):
        return message
    return message + (" (a provider of your own? add --fixtures DIR)" if local
                      else " (a provider of your own? serve it with --fixtures DIR)")


def fixture_problems(exc: Exception) -> int:
    """Print a FixtureError's problems, `error: ` before each line (as `check` does); exit status 2."""
    for line in str(exc).splitlines():
        print(f"error: {line}", file=sys.stderr)
    return 2


def json_option(flag: str, text: str) -> Any:
    """The JSON value of an option, or SettingsError naming the option and where the JSON breaks."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise SettingsError(f"{flag} must be valid JSON: {exc}") from None


def secret_option(text: str) -> Any:
    """--secret as given: a JWK (JSON, when it looks like an object) or the text itself."""
    return json_option("--secret", text) if text.lstrip().startswith("{") else text


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))
