"""The commands about providers and their fixtures: `check`, `new-provider`, `providers`, `openapi`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from emulator.cli.common import fail, fixture_problems


def add_parsers(sub: Any) -> None:
    check = sub.add_parser("check", help="validate fixture folders and exit non-zero on problems",
                           description="Load the built-in fixtures and each FOLDER's (*.yaml and *.yml, with "
                           "schemas/ beside them), print every problem found as one line naming the file and "
                           "the place in it, and exit 2 if there is any (a FOLDER with no fixture is one). Besides "
                           "each fixture's shape, it checks every template's {placeholders} against those its place "
                           "offers, the errors.messages keys, and that the event catalogue and "
                           "schemas/NAME/events.json agree.")
    check.add_argument("folders", nargs="*", type=Path, metavar="FOLDER",
                       help="a folder of provider fixtures to check beside the built-in ones (none: the built-in "
                            "ones alone)")
    check.set_defaults(run=cmd_check)
    new = sub.add_parser("new-provider", help="write a working skeleton of a new provider",
                         description="Write NAME.yaml, schemas/NAME/*.json (create, update, webhook, list, error, "
                         "events, event-example) and test_NAME.py into DIR (default: the current folder): a "
                         "provider that passes `check`, serves its CRUD routes (serve --fixtures DIR) and fires a "
                         "signed event. An existing file is refused unless --force.")
    new.add_argument("name", metavar="NAME", help="the provider's name: lowercase letters, digits, _ and -")
    new.add_argument("folder", nargs="?", type=Path, default=Path("."), metavar="DIR",
                     help="the folder to write into (default: the current folder)")
    new.add_argument("--force", action="store_true",
                     help="overwrite files that exist, and allow a built-in provider's name")
    new.set_defaults(run=cmd_new_provider)
    providers = sub.add_parser("providers", help="list the providers, their routes and events",
                               description="List every provider with its routes (and events).")
    providers.add_argument("--fixtures", type=Path, action="append", default=[], metavar="DIR",
                           help="a folder of extra provider fixtures to list too (repeatable)")
    providers.add_argument("--json", action="store_true", help="print JSON instead of text")
    providers.set_defaults(run=cmd_providers)
    openapi = sub.add_parser("openapi", help="print an OpenAPI 3.1 document of every route and the control API",
                             description="Print the OpenAPI 3.1 document generated from the fixtures and schemas "
                             "(the same one a running emulator serves at /_emulator/openapi.json).")
    openapi.add_argument("--fixtures", type=Path, action="append", default=[], help="extra fixture folders")
    openapi.set_defaults(run=cmd_openapi)


def cmd_check(args: argparse.Namespace) -> int:
    from emulator.engine.provider import FixtureError, load_providers

    try:
        providers = load_providers(args.folders, check_builtin=True)
    except FixtureError as exc:
        return fixture_problems(exc)
    for provider in providers.values():
        print(f"ok  {provider.name:<12} {provider.source}")
    return 0


def cmd_new_provider(args: argparse.Namespace) -> int:
    from emulator.scaffold import ScaffoldError, write_skeleton

    try:
        written = write_skeleton(args.name, args.folder, args.force)
    except ScaffoldError as exc:
        return fail(str(exc))
    for path in written:
        print(f"wrote {path}")
    print(f"next: webhook-emulator check {args.folder}; webhook-emulator serve --fixtures {args.folder}; "
          f"pytest {written[1]}")
    return 0


def cmd_providers(args: argparse.Namespace) -> int:
    from emulator.control.providers import describe_provider
    from emulator.engine.provider import load_providers

    listing = [describe_provider(p) for p in load_providers(args.fixtures).values()]
    if args.json:
        print(json.dumps(listing, indent=2))
        return 0
    for info in listing:
        print(f"{info['name']}: {info['title']}")
        for route in info["routes"]:
            print(f"  {route['method']:<6} {route['path']}")
        if info["events"]:
            print(f"  events: {', '.join(info['events'])}")
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    from emulator.control.api import all_routes
    from emulator.control.openapi import build_openapi
    from emulator.engine.provider import load_providers

    print(json.dumps(build_openapi(load_providers(args.fixtures), all_routes()), indent=2, ensure_ascii=False))
    return 0
