"""`webhook-emulator health`: the Docker HEALTHCHECK, run every few seconds, so it imports only
the control client (no server, no schemas)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from emulator.cli.common import default_server
from emulator.client import ControlError, EmulatorClient


def add_parser(sub: Any) -> None:
    health = sub.add_parser("health", help="exit 0 if a running emulator answers healthy",
                            description="Ask http://HOST:PORT/_emulator/health (from EMULATOR_HOST and "
                            "EMULATOR_PORT, or --url) and exit 0 when it answers ok.")
    health.add_argument("--url", help="base URL of the emulator (default from EMULATOR_HOST/EMULATOR_PORT)")
    health.add_argument("--timeout", type=float, default=3.0, help="seconds to wait (default 3)")
    health.set_defaults(run=cmd_health)


def cmd_health(args: argparse.Namespace) -> int:
    url = args.url or default_server()
    try:
        body = EmulatorClient(url, args.timeout).health()
    except (OSError, ValueError, ControlError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if body.get("status") != "ok":
        print(f"unhealthy: {url}: {body}", file=sys.stderr)
        return 1
    print(f"ok: {url} ({', '.join(body.get('providers', []))})")
    return 0
