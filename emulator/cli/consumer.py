"""The commands for the consumer's side: `receive` (a receiver that prints, verifies and forwards
what it gets) and `notification` (print a signed notification, built without a server). Like
every command, they import the engine only when they run."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.cli.common import fail, own_provider
from emulator.cli.event_names import EventNames
from emulator.cli.serve import listen_problem
from emulator.client import ControlError, EmulatorClient
from emulator.vocabulary import MODES

if TYPE_CHECKING:
    from emulator.receiver import Received


def add_parsers(sub: Any) -> None:
    """The `receive` and `notification` subcommands."""
    receive = sub.add_parser(
        "receive", help="run a webhook receiver that prints every notification it gets",
        description="Listen on HOST:PORT (default 127.0.0.1:9000, where the README's examples deliver) and print "
                    "one line per request received, answering each with --status, until Ctrl-C or SIGTERM. "
                    "With --provider it checks each notification's signature and prints the verdict (a JWT-signing "
                    "provider's JWK is read from --server, and read again when a notification does not verify); "
                    "with --forward-to it sends each request on, unchanged, to your app and answers with the app's "
                    "answer (printing its status).",
        epilog="example: webhook-emulator receive --provider NAME --secret s3cret "
               "--forward-to http://127.0.0.1:5000/webhooks (`webhook-emulator providers` lists the names)")
    receive.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    receive.add_argument("--port", type=int, default=9000, help="TCP port (default 9000; 0 picks a free one)")
    receive.add_argument("--status", type=int, default=200,
                         help="the status to answer with when not forwarding (default 200)")
    receive.add_argument("--headers", action="store_true",
                         help="also print each request's headers (signatures among them), one per line")
    receive.add_argument("--provider", help="check each notification's signature as this provider signs it")
    receive.add_argument("--secret", help="the webhook's signing secret (a JWK as JSON for JWT-signing providers)")
    receive.add_argument("--server", metavar="URL",
                         help="a running emulator to read a JWT-signing provider's JWK from, when --secret is not "
                              "given; it is read at start and read again when a notification does not verify "
                              "(a reset or state load there changes the JWK)")
    receive.add_argument("--admin-token", dest="admin_token", help="the --server's admin token "
                                                                   "(EMULATOR_ADMIN_TOKEN)")
    receive.add_argument("--fixtures", type=Path, action="append", default=[], metavar="DIR",
                         help="a folder of extra provider fixtures, for --provider (repeatable)")
    receive.add_argument("--forward-to", dest="forward_to", metavar="URL",
                         help="send each request on to this URL (same method, headers and body) and answer with "
                              "the app's answer")
    receive.set_defaults(run=cmd_receive)
    notification = sub.add_parser(
        "notification", help="print a signed notification to hand to a test client, without a server",
        description="Build PROVIDER's notification of EVENT as a delivery would send it and print it as an HTTP "
                    "request (the headers, a blank line, the exact body), or with --json as a JSON object "
                    "(headers, body as text, and the secret it was signed with).",
        epilog="example: webhook-emulator notification NAME EVENT --secret s3cret --data '{\"amount\": \"99.00\"}' "
               "(`webhook-emulator providers` lists the names and their events)")
    notification.add_argument("provider", help="provider name (see `webhook-emulator providers`)")
    notification.add_argument("event", help="event name")
    notification.add_argument("--data", help="JSON object deep-merged into the event's sample payload")
    notification.add_argument("--secret", help="the signing secret (a JWK as JSON for JWT-signing providers); "
                                               "default: a fresh one, shown in the output")
    notification.add_argument("--signature", choices=MODES, default="valid",
                              help="a deliberately bad signature, to test a verifier (default valid)")
    notification.add_argument("--header", action="append", default=[], metavar="NAME:VALUE",
                              help="a custom header of the webhook (where its provider has them)")
    notification.add_argument("--fixtures", type=Path, action="append", default=[], help="extra fixture folders")
    notification.add_argument("--json", action="store_true", help="print JSON instead of the HTTP request")
    notification.set_defaults(run=cmd_notification)



def _secret(text: str | None) -> Any:
    """--secret as given: a JSON object (a JWK) or text. ValueError if it looks like JSON and is not."""
    if text is None:
        return None
    return json.loads(text) if text.lstrip().startswith("{") else text


def cmd_notification(args: argparse.Namespace) -> int:
    from emulator.delivery.notification import notification

    try:
        data = json.loads(args.data) if args.data else None
        secret = _secret(args.secret)
    except ValueError as exc:
        return fail(f"--data and --secret must be valid JSON: {exc}")
    headers = {}
    for header in args.header:
        name, sep, value = header.partition(":")
        if not sep or not name.strip():
            return fail(f"--header {header!r} is not NAME:VALUE")
        headers[name.strip()] = value.strip()
    try:
        built = notification(args.provider, args.event, data, secret=secret, signature=args.signature,
                             headers=headers or None, fixtures=args.fixtures)
    except ValueError as exc:
        return fail(own_provider(str(exc)))
    if args.json:
        print(json.dumps(built.as_json(), indent=2, ensure_ascii=False))
        return 0
    print("\n".join(f"{name}: {value}" for name, value in built.headers.items()))
    print()
    sys.stdout.flush()
    sys.stdout.buffer.write(built.body + b"\n")
    if secret is None and built.secret is not None:
        print(f"secret: {json.dumps(built.secret)}", file=sys.stderr)
    return 0


class Verdicts:
    """The signature check of `receive --provider`: the verdict line for each notification. With
    `reread` (how to read the JWK from a running emulator again), a notification that does not
    verify with the key held is checked once more with the key read afresh: a reset or a state
    load there gives the provider a new JWK."""

    def __init__(self, provider: str, secret: Any, fixtures: list[Path],
                 reread: Callable[[], Any] | None = None) -> None:
        from emulator.delivery.specs import signature_spec
        from emulator.engine.provider import load_providers

        providers = load_providers(fixtures)
        if provider not in providers:
            raise ValueError(own_provider(f"no provider named {provider!r}; the providers are "
                                          f"{', '.join(sorted(providers))}"))
        self.provider = provider
        self.spec = signature_spec(providers[provider])
        self.secret = secret
        self.reread = reread
        if self.signs and secret is None:
            hint = " (or --server for its JWK)" if self.spec.scheme == "jwt" else ""
            raise ValueError(f"{provider} signs its notifications: give --secret{hint}")

    @property
    def signs(self) -> bool:
        return self.spec.scheme != "none"

    def line(self, received: Received) -> str:
        if not self.signs:
            return f"  signature: none ({self.provider} signs nothing)"
        header = str(self.spec.header)
        if header not in received.headers:
            return f"  signature: INVALID (no {header} header)"
        if self._verifies(received):
            return f"  signature: valid ({header})"
        if self.reread is not None:
            try:
                fresh = self.reread()
            except ValueError as exc:
                return f"  signature: INVALID ({header} does not match this body and key; {exc})"
            if fresh != self.secret:
                self.secret = fresh
                if self._verifies(received):
                    return f"  signature: valid ({header}, with the JWK read again from the server)"
        return f"  signature: INVALID ({header} does not match this body and secret, or is not fresh)"

    def _verifies(self, received: Received) -> bool:
        from emulator.delivery.signing import verify

        return verify(self.spec, received.body, received.headers, self.secret, int(time.time()))


def _jwk_reader(server: str, token: str | None, provider: str) -> Callable[[], Any]:
    """How to read `provider`'s JWK from the emulator at `server`; the reading raises ValueError
    saying why it could not."""
    client = EmulatorClient(server, 10, token=token)

    def read() -> Any:
        try:
            return client.jwk(provider)
        except ControlError as exc:
            raise ValueError(f"{server} gave no JWK of {provider}: {exc.message}") from None
        except OSError as exc:
            raise ValueError(f"cannot reach {server}: {exc}") from None

    return read


def _verdicts(args: argparse.Namespace) -> Verdicts | None:
    """The signature checks asked for, or None; ValueError says why they cannot be made."""
    if args.provider is None:
        if args.secret is not None or args.server is not None:
            raise ValueError("--secret and --server need --provider")
        return None
    secret = _secret(args.secret)
    reread = None
    if secret is None and args.server:
        token = args.admin_token or os.environ.get("EMULATOR_ADMIN_TOKEN") or None
        reread = _jwk_reader(args.server, token, args.provider)
        secret = reread()
    return Verdicts(args.provider, secret, args.fixtures, reread)


def _show(args: argparse.Namespace, verdicts: Verdicts | None, events: EventNames, received: Received) -> None:
    body = received.body.decode("utf-8", errors="replace")
    named = events.names(received.body)
    shown = f"event{'s' if len(named) > 1 else ''} {', '.join(named)}  " if named else ""
    lines = [f"{received.method} {received.path} {len(received.body)} B  {shown}{body[:200]}"]
    if args.headers:
        lines += [f"  {name}: {value}" for name, value in received.headers.items()]
    if verdicts is not None:
        lines.append(verdicts.line(received))
    forwarded = received.forwarded
    if forwarded is not None:
        answer = f"HTTP {forwarded.status}" if forwarded.status is not None else f"failed: {forwarded.error}"
        lines.append(f"  forwarded to {forwarded.url}: {answer}")
    print("\n".join(lines), flush=True)


def cmd_receive(args: argparse.Namespace) -> int:
    from emulator.receiver import Receiver

    try:
        verdicts = _verdicts(args)
    except ValueError as exc:
        return fail(f"--secret must be a string or a JWK as JSON: {exc}" if isinstance(exc, json.JSONDecodeError)
                     else str(exc))
    if args.forward_to is not None and not args.forward_to.startswith(("http://", "https://")):
        return fail(f"--forward-to must be an http(s) URL, not {args.forward_to!r}")
    events = EventNames(args.fixtures, args.provider)
    receiver = Receiver(args.host, args.port, status=args.status, forward_to=args.forward_to,
                        on_receive=lambda received: _show(args, verdicts, events, received))
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        receiver.start()
    except OSError as exc:
        return fail(listen_problem(exc, args.host, args.port))
    doing = f"forwarding to {args.forward_to}" if args.forward_to else f"answering {args.status}"
    checking = f", checking {verdicts.provider} signatures" if verdicts is not None else ""
    print(f"receiving on {receiver.url} ({doing}{checking}); Ctrl-C stops", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    receiver.stop()
    return 0
