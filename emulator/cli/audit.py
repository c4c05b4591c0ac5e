"""`webhook-emulator audit`: check that a webhook consumer is safe (accepts real notifications,
rejects forgeries), through a running emulator or one in-process."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from emulator.cli.common import admin_token_option, ask, control_client, fail, print_json, secret_option
from emulator.client import EmulatorClient
from emulator.settings import Settings


def add_parser(sub: Any) -> None:
    audit = sub.add_parser(
        "audit", help="check that a webhook consumer is safe: accepts real notifications, rejects forgeries",
        description="Send a battery of notifications to a webhook consumer (every event of the provider, "
        "validly signed; the same one twice; forgeries) and print a table: check, what a safe consumer "
        "does, what this one did, verdict. Exits 0 when every check passed, 1 when one failed, 2 when the "
        "consumer cannot be reached or on a usage error.",
        epilog="example: webhook-emulator audit --provider PROVIDER --url http://127.0.0.1:8000/hooks "
        "--secret S")
    audit.add_argument("--provider", required=True, help="provider name (see `webhook-emulator providers`)")
    audit.add_argument("--url", help="the consumer's endpoint")
    audit.add_argument("--secret", help="the secret the consumer verifies with (a JWK as JSON for JWT-signing "
                       "providers); required for a provider that signs, unless --server has a webhook registered "
                       "at --url (its secret is used) or signs with its own JWK")
    audit.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'",
                       help="a header sent with every notification (a webhook's custom headers); repeatable")
    audit.add_argument("--webhooks", action="store_true",
                       help="with --server, instead of --url: audit every registered webhook of the provider, "
                       "each with its own secret")
    audit.add_argument("--tenant", help="with --webhooks: only this tenant's webhooks")
    audit.add_argument("--server", help="base URL of a running emulator (default: one in-process)")
    admin_token_option(audit)
    audit.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    audit.add_argument("--junit", type=Path, metavar="FILE", help="also write the report as JUnit XML to FILE")
    audit.add_argument("--fixtures", type=Path, action="append", help="in-process only: extra fixture folders")
    audit.set_defaults(run=cmd_audit)


def _audit_body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"provider": args.provider}
    if args.url:
        body["url"] = args.url
    if args.tenant:
        body["tenant"] = args.tenant
    if args.secret:
        body["secret"] = secret_option(args.secret)
    if args.header:
        pairs = [h.partition(":") for h in args.header]
        if not all(sep and name.strip() for name, sep, _ in pairs):
            raise ValueError("--header is 'NAME: VALUE'")
        body["headers"] = {name.strip(): value.strip() for name, _, value in pairs}
    return body


def cmd_audit(args: argparse.Namespace) -> int:
    if bool(args.url) == bool(args.webhooks) or (args.webhooks and not args.server):
        return fail("audit needs --url, or --webhooks with --server")
    try:
        body = _audit_body(args)
    except ValueError as exc:
        return fail(str(exc))
    if args.server:
        report = ask(args.server, lambda: control_client(args.server, args, 3600).request(
            "POST", "/_emulator/audit", body))
    else:
        from emulator.server import Emulator

        settings = Settings.from_env(host="127.0.0.1", port=0, fixtures=args.fixtures)
        with Emulator(settings) as emulator:
            client = EmulatorClient(emulator.url, 3600, token=settings.admin_token)
            if args.secret is None and _signs(client, args.provider):
                return fail(f"{args.provider} signs its notifications: give --secret, the secret your consumer "
                            "verifies with (a JWK as JSON for a JWT-signing provider), or audit through --server "
                            "with its registered webhooks")
            report = ask(emulator.url, lambda: client.request("POST", "/_emulator/audit", body), local=True)
    if isinstance(report, int):
        return report
    return _print_audit(args, report)


def _signs(client: EmulatorClient, provider: str) -> bool:
    """Whether the (in-process) emulator's `provider` signs its notifications."""
    listing = client.request("GET", "/_emulator/providers")["providers"]
    return any(p["name"] == provider and p["signature_header"] for p in listing)


def _print_audit(args: argparse.Namespace, report: dict[str, Any]) -> int:
    """Print (and write) the audit report; the exit status: 0 safe, 1 unsafe, 2 a consumer unreachable."""
    from emulator.delivery.audit import junit_xml, render_table, unreachable_line

    if args.junit:
        args.junit.write_text(junit_xml(report), encoding="utf-8")
    unreached = [e for e in report["endpoints"] if "unreachable" in e]
    if args.json:
        print_json(report)
    elif len(unreached) < len(report["endpoints"]):
        print(render_table(report))
    for endpoint in unreached:
        print(f"webhook-emulator: {unreachable_line(endpoint)}", file=sys.stderr)
    return 2 if unreached else 0 if report["passed"] else 1
