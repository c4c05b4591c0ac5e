"""The command line: `webhook-emulator serve|fire|check|new-provider|providers|health ...` (also
`python -m emulator`). Each module here holds a command or a family of them, its parser and its
run function (set as the parser's `run` default); `common` holds what they share.

Commands import the engine (aiohttp, jsonschema...) when they run, so `--help` and `health` (the
Docker HEALTHCHECK, every few seconds) stay light."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from emulator import __version__
from emulator.cli import audit, consumer, faults, fire, health, providers, serve, state
from emulator.cli.common import fixture_problems
from emulator.settings import SettingsError

DESCRIPTION = """\
A local emulator of providers' webhook APIs (the five built-in ones and any you add with
--fixtures; `webhook-emulator providers` lists them): their webhook-management endpoints, with
state, auth and validation, and their signed event notifications. Every option can also be set
with an EMULATOR_* environment variable (for example EMULATOR_PORT=9000); a flag wins over the
variable."""


def build_parser() -> argparse.ArgumentParser:
    """Every command's parser; each sets `run`, the function that carries it out."""
    parser = argparse.ArgumentParser(prog="webhook-emulator", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve.add_parser(sub)
    providers.add_parsers(sub)
    health.add_parser(sub)
    fire.add_parser(sub)
    consumer.add_parsers(sub)
    state.add_parser(sub)
    faults.add_parser(sub)
    audit.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit status. Output to a reader that went away (`| head`) ends it
    quietly, as Python's docs advise (signal module, "Note on SIGPIPE"): status 1, no traceback."""
    try:
        status = _run(argv)
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # (so the flush at exit finds no pipe)
        return 1


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        status: int = args.run(args)
        return status
    except SettingsError as exc:
        print(f"webhook-emulator: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from emulator.engine.provider import FixtureError  # imported here: most commands never load fixtures

        if not isinstance(exc, FixtureError):
            raise
        return fixture_problems(exc)
