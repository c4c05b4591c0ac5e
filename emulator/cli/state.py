"""`webhook-emulator state export|import`: a running emulator's state as a state document."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from emulator.cli.common import SERVER_HELP, admin_token_option, ask, control_client, default_server
from emulator.client import ControlError, EmulatorClient


def add_parser(sub: Any) -> None:
    state = sub.add_parser("state", help="export or import a running emulator's state (webhooks, tokens, JWKs)",
                           description="Export a running emulator's state as a state document (what --state "
                           "reads), or replace its state with one.")
    actions = state.add_subparsers(dest="action", metavar="ACTION", required=True)
    export = actions.add_parser("export", help="print the state document (or write it to --output)",
                                description="Print the running emulator's state document (webhooks with their "
                                "timestamps and scopes, tenant ids, tokens, JWKs), or write it to --output: what "
                                "`serve --state` and `state import` read.")
    export.add_argument("--server", default=None, help=SERVER_HELP)
    export.add_argument("--output", "-o", type=Path, help="write to this file (YAML if it ends .yaml/.yml, else JSON)")
    admin_token_option(export)
    replaces = ("replace the state with a state file (YAML or JSON); like a reset, it also empties the delivery log, "
                "the request journal and the fault rules")
    load = actions.add_parser("import", help=replaces, description=f"{replaces[0].upper()}{replaces[1:]}. A bad "
                              "file changes nothing.")
    load.add_argument("file", type=Path, help="a state file, as --state reads or export writes")
    load.add_argument("--server", default=None, help=SERVER_HELP)
    admin_token_option(load)
    state.set_defaults(run=cmd_state)


def _load(client: EmulatorClient, path: Path) -> dict[str, Any]:
    """Load the state file at `path` into the emulator; the emulator's refusal of its document
    (a 400) names the file, as `serve --state` does."""
    try:
        return client.load_state(path)
    except ControlError as exc:
        if exc.status != 400:
            raise
        raise ControlError(exc.status, {"message": f"{path}: {exc.message}"}) from None


def cmd_state(args: argparse.Namespace) -> int:
    server = args.server or default_server()
    client = control_client(server, args, 30.0)
    if args.action == "import":
        answer = ask(server, lambda: _load(client, args.file))
        if isinstance(answer, int):
            return answer
        print(f"imported {answer['webhooks']} webhook(s) into {server}, replacing its state; like a reset, this "
              "also emptied its delivery log, request journal and fault rules")
        return 0
    document = ask(server, client.snapshot)
    if isinstance(document, int):
        return document
    if args.output is None:
        print(json.dumps(document, indent=2, ensure_ascii=False))
    elif args.output.suffix in (".yaml", ".yml"):
        import yaml

        args.output.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    else:
        args.output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.output is not None:
        webhooks = sum(len(hooks) for name, tenants in document.items() if not name.startswith("$")
                       for hooks in tenants.values())
        print(f"exported {webhooks} webhook(s) from {server} to {args.output}")
    return 0
