"""The command line: `webhook-emulator serve|fire|check|new-provider|providers|health ...` (also
`python -m emulator`)."""

from __future__ import annotations

import argparse
import errno
import gc
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from emulator import __version__
from emulator.cli_consumer import add_parsers as add_consumer_parsers
from emulator.cli_consumer import cmd_notification, cmd_receive
from emulator.client import ControlError, EmulatorClient
from emulator.settings import LOG_LEVELS, Settings, SettingsError, local_url, parse_credentials, parse_list
from emulator.vocabulary import MODES, ORDERS

# Commands import the engine (aiohttp, jsonschema...) when they run, so `--help` and `health`
# (the Docker HEALTHCHECK, every few seconds) stay light.

log = logging.getLogger("emulator")
T = TypeVar("T")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

DESCRIPTION = """\
A local emulator of providers' webhook APIs (the five built-in ones and any you add with
--fixtures; `webhook-emulator providers` lists them): their webhook-management endpoints, with
state, auth and validation, and their signed event notifications. Every option can also be set
with an EMULATOR_* environment variable (for example EMULATOR_PORT=9000); a flag wins over the
variable."""


def _serve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="interface to bind (EMULATOR_HOST; default 127.0.0.1; "
                        "use 0.0.0.0 in a container)")
    parser.add_argument("--port", type=int, help="TCP port (EMULATOR_PORT; default 8080; 0 picks a free one)")
    parser.add_argument("--seed", type=int, help="make ids, secrets and timestamps reproducible "
                        "(EMULATOR_SEED)")
    parser.add_argument("--time-scale", type=float, dest="time_scale",
                        help="multiply every delivery delay and retry interval, e.g. 0.001 "
                        "(EMULATOR_TIME_SCALE; default 1)")
    parser.add_argument("--delivery-timeout", type=float, dest="delivery_timeout",
                        help="seconds a receiver has to answer each delivery attempt (EMULATOR_DELIVERY_TIMEOUT; "
                        "default: each provider's own, from its fixture)")
    parser.add_argument("--header-timeout", type=float, dest="header_timeout",
                        help="seconds a client has to send a request's headers; also how long an idle keep-alive "
                        "connection stays open (EMULATOR_HEADER_TIMEOUT; default 10)")
    parser.add_argument("--body-timeout", type=float, dest="body_timeout",
                        help="seconds a client has to send a request's body, else 408 (EMULATOR_BODY_TIMEOUT; "
                        "default 30)")
    parser.add_argument("--max-connections", type=int, dest="max_connections",
                        help="client connections open at once; one more is answered 503 and closed "
                        "(EMULATOR_MAX_CONNECTIONS; default 512)")
    parser.add_argument("--delivery-connections", type=int, dest="delivery_connections",
                        help="connections open at once for deliveries; more attempts wait (untimed) for a free one "
                        "(EMULATOR_DELIVERY_CONNECTIONS; default 100)")
    parser.add_argument("--fixtures", type=Path, action="append",
                        help="a folder of extra provider fixtures (*.yaml, with schemas/ beside them); "
                        "repeatable (EMULATOR_FIXTURES, separated by ':')")
    parser.add_argument("--journal-size", type=int, dest="journal_size",
                        help="requests kept in the request journal (EMULATOR_JOURNAL_SIZE; default 1000)")
    parser.add_argument("--delivery-log-size", type=int, dest="delivery_log_size",
                        help="deliveries kept in the delivery log (EMULATOR_DELIVERY_LOG_SIZE; default 1000)")
    parser.add_argument("--delivery-log-bytes", type=int, dest="delivery_log_bytes",
                        help="bytes of bodies the delivery log holds in all; the oldest deliveries go first "
                        "(EMULATOR_DELIVERY_LOG_BYTES; default 67108864, 64 MiB)")
    parser.add_argument("--delivery-body-limit", type=int, dest="delivery_body_limit",
                        help="bytes of each body the delivery log keeps, then a truncation marker "
                        "(EMULATOR_DELIVERY_BODY_LIMIT; default 65536)")
    parser.add_argument("--delivery-attempts-kept", type=int, dest="delivery_attempts_kept",
                        help="attempts the delivery log keeps per delivery, the most recent; the count stays exact "
                        "(EMULATOR_DELIVERY_ATTEMPTS_KEPT; default 20)")
    parser.add_argument("--strict", action="store_true", default=None,
                        help="accept only configured credentials (and tokens the emulator issued) "
                        "(EMULATOR_STRICT)")
    parser.add_argument("--credentials", type=parse_credentials,
                        help="accepted keys per provider, 'NAME=k1,k2;OTHER=t1'; a provider with "
                        "keys listed accepts only those; for an OAuth provider, 'NAME=CLIENT_ID:SECRET' is a client "
                        "allowed tokens (EMULATOR_CREDENTIALS)")
    parser.add_argument("--admin-token", dest="admin_token",
                        help="require 'Authorization: Bearer TOKEN' on every /_emulator/ endpoint but health "
                        "(EMULATOR_ADMIN_TOKEN; default: none, the control API is open)")
    parser.add_argument("--allow-targets", dest="allow_targets", type=parse_list,
                        help="where notifications may go: comma-separated hosts, host:port or CIDR ranges, e.g. "
                        "'127.0.0.0/8,::1,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16' (EMULATOR_ALLOW_TARGETS; "
                        "default: anywhere); a delivery elsewhere fails at once with the reason")
    parser.add_argument("--allowed-hosts", dest="allowed_hosts", type=parse_list,
                        help="while listening on a loopback address, Host names served besides localhost and "
                        "loopback addresses, comma-separated (EMULATOR_ALLOWED_HOSTS; default: none)")
    parser.add_argument("--log-level", dest="log_level", choices=LOG_LEVELS,
                        help="logging detail (EMULATOR_LOG_LEVEL; default info: a line per API call and per "
                        "delivery attempt; warning: problems only)")

    parser.add_argument("--state", type=Path, help="a state file (YAML or JSON: provider -> tenant -> webhooks "
                        "in the provider's create shape) loaded at start-up into an empty emulator (EMULATOR_STATE)")
    parser.add_argument("--data-dir", type=Path, dest="data_dir",
                        help="keep webhooks, tokens and pending deliveries in SQLite in this folder, across "
                        "restarts (EMULATOR_DATA_DIR; default: in memory only)")

    parser.add_argument("--skip-corrupt-rows", action="store_true", default=None, dest="skip_corrupt_rows",
                        help="start even when rows of the --data-dir file cannot be read: leave them out, logging "
                        "each (EMULATOR_SKIP_CORRUPT_ROWS; default: refuse to start, naming the row)")
    parser.add_argument("--faults", type=Path, help="a YAML or JSON file of fault rules to load at start-up "
                        "(EMULATOR_FAULTS; see `webhook-emulator fault add --help`)")


SERVER_HELP = "base URL of the running emulator (default: from EMULATOR_HOST and EMULATOR_PORT, http://127.0.0.1:8080)"


def _admin_token_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--admin-token", dest="admin_token",
                        help="the running emulator's admin token, if it has one (EMULATOR_ADMIN_TOKEN)")


def default_server() -> str:
    """The emulator this machine's EMULATOR_HOST and EMULATOR_PORT describe (127.0.0.1:8080 unset)."""
    settings = Settings.from_env()
    return local_url(settings.host, settings.port)


def control_client(url: str, args: argparse.Namespace, timeout: float) -> EmulatorClient:
    """A client of the emulator at `url`, with the admin token from --admin-token or the environment."""
    return EmulatorClient(url, timeout, token=args.admin_token or os.environ.get("EMULATOR_ADMIN_TOKEN") or None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="webhook-emulator", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the emulator until SIGTERM or Ctrl-C",
                           description="Run the emulator. It logs 'listening on http://HOST:PORT' when ready.")
    _serve_options(serve)
    check = sub.add_parser("check", help="validate fixture folders and exit non-zero on problems",
                           description="Load the built-in fixtures and each FOLDER's (*.yaml and *.yml, with "
                           "schemas/ beside them), print every problem found as one line naming the file and "
                           "the place in it, and exit 2 if there is any (a FOLDER with no fixture is one). Besides "
                           "each fixture's shape, it checks every template's {placeholders} against those its place "
                           "offers, the errors.messages keys, and that the event catalogue and "
                           "schemas/NAME/events.json agree.")
    check.add_argument("folders", nargs="*", type=Path, metavar="FOLDER")
    new = sub.add_parser("new-provider", help="write a working skeleton of a new provider",
                         description="Write NAME.yaml, schemas/NAME/*.json (create, update, webhook, list, error, "
                         "events, event-example) and test_NAME.py into DIR (default: the current folder): a "
                         "provider that passes `check`, serves its CRUD routes (serve --fixtures DIR) and fires a "
                         "signed event. An existing file is refused unless --force.")
    new.add_argument("name", metavar="NAME", help="the provider's name: lowercase letters, digits, _ and -")
    new.add_argument("folder", nargs="?", type=Path, default=Path("."), metavar="DIR")
    new.add_argument("--force", action="store_true", help="overwrite files that exist")
    providers = sub.add_parser("providers", help="list the providers, their routes and events",
                               description="List every provider with its routes (and events).")
    providers.add_argument("--fixtures", type=Path, action="append", default=[])
    providers.add_argument("--json", action="store_true", help="print JSON instead of text")
    health = sub.add_parser("health", help="exit 0 if a running emulator answers healthy",
                            description="Ask http://HOST:PORT/_emulator/health (from EMULATOR_HOST and "
                            "EMULATOR_PORT, or --url) and exit 0 when it answers ok.")
    health.add_argument("--url", help="base URL of the emulator (default from EMULATOR_HOST/EMULATOR_PORT)")
    health.add_argument("--timeout", type=float, default=3.0, help="seconds to wait (default 3)")
    openapi = sub.add_parser("openapi", help="print an OpenAPI 3.1 document of every route and the control API",
                             description="Print the OpenAPI 3.1 document generated from the fixtures and schemas "
                             "(the same one a running emulator serves at /_emulator/openapi.json).")
    openapi.add_argument("--fixtures", type=Path, action="append", default=[], help="extra fixture folders")
    fire = sub.add_parser(
        "fire", help="send one provider's event notification, signed like the provider",
        description="Build, sign and send a notification of EVENT to --url (in-process), or with --server ask "
                    "a running emulator to fire it at its registered webhooks (or at --url). Prints a line per "
                    "delivery (--json: the whole record); exits 0 when every one was delivered, 1 when one "
                    "was not or when no webhook wanted the event, 2 on a usage or connection error.",
        epilog="example: webhook-emulator fire PROVIDER EVENT --url http://127.0.0.1:9000/hook "
               "--secret s3cret --data '{\"amount\": \"99.00\"}'  (`providers` lists each one's events)")
    fire.add_argument("provider", help="provider name (see `webhook-emulator providers`)")
    fire.add_argument("event", nargs="+",
                      help="event name(s); several are one trigger (one notification where a webhook groups events)")
    fire.add_argument("--url", help="send to this URL only (required without --server)")
    fire.add_argument("--secret", help="the signing secret for --url (a JWK as JSON for JWT-signing providers); "
                      "default: a fresh one, shown in the output")
    fire.add_argument("--data", help="JSON object deep-merged into the event's sample payload")
    fire.add_argument("--tenant", help="with --server: only this tenant's webhooks (its API key or token)")
    fire.add_argument("--signature", choices=MODES, default="valid",
                      help="send a deliberately bad signature to test a verifier (default valid)")
    fire.add_argument("--server", help="base URL of a running emulator, e.g. http://127.0.0.1:8080")
    _admin_token_option(fire)
    fire.add_argument("--timeout", type=float, default=30.0,
                      help="seconds to wait for every delivery's final outcome (default 30, at most 3600)")
    fire.add_argument("--time-scale", type=float, dest="time_scale",
                      help="in-process only: multiply retry intervals, e.g. 0.001 (EMULATOR_TIME_SCALE)")
    fire.add_argument("--fixtures", type=Path, action="append", help="in-process only: extra fixture folders")
    fire.add_argument("--json", action="store_true", help="print the deliveries as JSON instead of a line each")
    fire.add_argument("--duplicate", type=int, nargs="?", const=1,
                      help="send each notification again (N more times) once it was delivered")
    fire.add_argument("--delay", type=float,
                      help="hold each notification back this many seconds (times the time scale)")
    fire.add_argument("--order", choices=ORDERS,
                      help="send one after the other, in the order given or reversed")
    add_consumer_parsers(sub)
    _state_parser(sub)
    _fault_parser(sub)
    _audit_parser(sub)
    return parser


def _state_parser(sub: Any) -> None:
    state = sub.add_parser("state", help="export or import a running emulator's state (webhooks, tokens, JWKs)",
                           description="Export a running emulator's state as a state document (what --state "
                           "reads), or replace its state with one.")
    actions = state.add_subparsers(dest="action", metavar="ACTION", required=True)
    export = actions.add_parser("export", help="print the state document (or write it to --output)")
    export.add_argument("--server", default=None, help=SERVER_HELP)
    export.add_argument("--output", "-o", type=Path, help="write to this file (YAML if it ends .yaml/.yml, else JSON)")
    _admin_token_option(export)
    load = actions.add_parser("import", help="replace the state with a state file (YAML or JSON); like a reset, "
                              "it also empties the delivery log, the request journal and the fault rules")
    load.add_argument("file", type=Path, help="a state file, as --state reads or export writes")
    load.add_argument("--server", default=None, help=SERVER_HELP)
    _admin_token_option(load)


def cmd_state(args: argparse.Namespace) -> int:
    server = args.server or default_server()
    client = control_client(server, args, 30.0)
    if args.action == "import":
        answer = ask(server, lambda: client.load_state(args.file))
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
        webhooks = sum(len(hooks) for name, tenants in document.items() if name != "$emulator"
                       for hooks in tenants.values())
        print(f"exported {webhooks} webhook(s) from {server} to {args.output}")
    return 0


async def _serve(settings: Settings) -> None:
    import asyncio

    from emulator.app import create_app
    from emulator.server import start_site

    # Handlers first: a signal that arrives as soon as the "listening" line is out stops cleanly.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    app = create_app(settings)
    runner, port = await start_site(app, settings.host, settings.port)
    tune_garbage_collector()
    for line in loaded_summary(app):
        log.info("%s", line)
    # The one line shown at every --log-level (made at info, handed to the handlers whatever the
    # level lets through), so that `--port 0` always tells the port; an IPv6 host in brackets.
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, "listening on http://%s:%s", (host, port), None))
    await stop.wait()
    log.info("shutting down")
    await runner.cleanup()


def loaded_summary(app: Any) -> list[str]:
    """What a started emulator loaded, a line each: its providers (and which folders added some),
    the webhooks of a state file or a data dir, the deliveries a data dir restored, the fault rules."""
    from emulator.control.faults import FAULTS
    from emulator.engine.state import STATE

    state = app[STATE]
    settings = state.settings
    extra = [p for p in state.providers.values()
             if any(p.source.resolve().is_relative_to(f.resolve()) for f in settings.fixtures)]
    lines = [f"providers: {', '.join(state.providers)}" +
             (f" ({', '.join(f'{p.name} from {p.source}' for p in extra)})" if extra else "")]
    webhooks = sum(len(c.records) for c in state.store.collections.values())
    if state.extras.get("state_file_loaded"):
        lines.append(f"loaded {webhooks} webhook(s) from the state file {settings.state}")
    elif settings.data_dir is not None:
        lines.append(f"restored {webhooks} webhook(s) from the data dir {settings.data_dir}" +
                     (f" (the state file {settings.state} seeds only an empty data dir)" if settings.state else ""))
    if settings.data_dir is not None:
        deliveries = state.dispatcher.log.find() if state.dispatcher is not None else []
        pending = sum(d.status == "pending" for d in deliveries)
        lines.append(f"restored {len(deliveries)} delivery(ies) from the data dir, {pending} of them pending "
                     "(their retries carry on)")
    if settings.faults is not None:
        lines.append(f"loaded {len(app[FAULTS].rules)} fault rule(s) from {settings.faults}")
    return lines


# Allocations between young collections (CPython's default is 700), and how many collections of each
# generation make one of the next: fewer, larger collections for a server whose heap only grows.
GC_THRESHOLDS = (20_000, 20, 20)


def tune_garbage_collector() -> None:
    """For `serve`, which owns its process (an in-process Emulator leaves its host's collector
    alone): what exists once the app is up (modules, fixtures, schemas) lives as long as the process,
    so it is frozen out of every later collection, and collections come less often. A webhook's
    objects are freed by reference counting; the cycle collector's full passes over a growing store
    were the long pauses behind the p99 latency of creates."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _listen_problem(exc: OSError, host: str, port: int) -> str:
    """One line saying why the server cannot listen, and what to do about it."""
    if exc.errno == errno.EADDRINUSE:
        return f"cannot listen on {host}:{port}: the port is in use (choose another with --port, or --port 0 " \
               "for any free one)"
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}"


def cmd_serve(args: argparse.Namespace) -> int:
    import asyncio

    settings = Settings.from_env(
        host=args.host, port=args.port, seed=args.seed, time_scale=args.time_scale,
        delivery_timeout=args.delivery_timeout, delivery_connections=args.delivery_connections,
        fixtures=args.fixtures, journal_size=args.journal_size,
        delivery_log_size=args.delivery_log_size, delivery_log_bytes=args.delivery_log_bytes,
        delivery_body_limit=args.delivery_body_limit, delivery_attempts_kept=args.delivery_attempts_kept,
        strict=args.strict, credentials=args.credentials, log_level=args.log_level, admin_token=args.admin_token,
        allow_targets=args.allow_targets, state=args.state, data_dir=args.data_dir, faults=args.faults,
        allowed_hosts=args.allowed_hosts, header_timeout=args.header_timeout, body_timeout=args.body_timeout,
        max_connections=args.max_connections, skip_corrupt_rows=args.skip_corrupt_rows,
    )
    logging.basicConfig(level=settings.log_level.upper(), format=LOG_FORMAT, stream=sys.stderr)
    try:
        asyncio.run(_serve(settings))
    except OSError as exc:
        print(f"webhook-emulator: {_listen_problem(exc, settings.host, settings.port)}", file=sys.stderr)
        return 2
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from emulator.engine.provider import FixtureError, load_providers

    try:
        providers = load_providers(args.folders)
    except FixtureError as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 2
    for provider in providers.values():
        print(f"ok  {provider.name:<12} {provider.source}")
    return 0


def cmd_new_provider(args: argparse.Namespace) -> int:
    from emulator.scaffold import ScaffoldError, write_skeleton

    try:
        written = write_skeleton(args.name, args.folder, args.force)
    except ScaffoldError as exc:
        print(f"webhook-emulator: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    print(f"next: webhook-emulator check {args.folder}; webhook-emulator serve --fixtures {args.folder}; "
          f"pytest {written[1]}")
    return 0


def cmd_providers(args: argparse.Namespace) -> int:
    from emulator.control.api import describe_provider
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


def _fire_body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"provider": args.provider, "event": args.event if len(args.event) > 1 else args.event[0],
                            "signature": args.signature, "wait": True, "timeout": args.timeout}
    for name in ("url", "tenant", "duplicate", "delay", "order"):
        if getattr(args, name):
            body[name] = getattr(args, name)
    if args.secret:
        body["secret"] = json_option("--secret", args.secret) if args.secret.lstrip().startswith("{") else args.secret
    if args.data:
        body["data"] = json_option("--data", args.data)
    return body


def json_option(flag: str, text: str) -> Any:
    """The JSON value of an option, or SettingsError naming the option and where the JSON breaks."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise SettingsError(f"{flag} must be valid JSON: {exc}") from None


def delivery_line(delivery: dict[str, Any]) -> str:
    """One delivery as one line: outcome, events, target, and the last attempt or why it ended."""
    attempts = delivery["attempts"]
    last = attempts[-1] if attempts else None
    if last is None:
        detail = "no attempt yet"
    elif last["status"] is not None:
        detail = f"HTTP {last['status']}"
    else:
        detail = last["error"]
    made = delivery.get("attempt_count", len(attempts))
    duplicates = min(delivery.get("duplicates", 0), max(made - 1, 0)) if delivery["status"] == "delivered" else 0
    counted = f"{made} attempt{'s' if made != 1 else ''}"
    ending = f"{detail} ({counted}{f', {duplicates} of them a duplicate' if duplicates else ''})"
    error = delivery["error"]
    if delivery["status"] == "failed" and error and not error.startswith("gave up") and error != detail:
        ending += f"; {error}"
    if delivery["status"] == "pending" and delivery["next_attempt_at"]:
        ending += f"; next attempt at {delivery['next_attempt_at']}"
    return f"{delivery['status']:<9} {','.join(delivery['events'])} -> {delivery['url']}  {ending}"


def webhook_line(webhook: dict[str, Any]) -> str:
    """A webhook of a firing's explanation as one line: id, tenant, URL, the events it wants."""
    wants = ", ".join(webhook["events"]) or "no event"
    return f"webhook {webhook['id']} of tenant {webhook['tenant']!r} -> {webhook['url']} wants {wants}" + \
        (" (disabled)" if webhook["disabled"] else "")


def cmd_fire(args: argparse.Namespace) -> int:
    try:
        body = _fire_body(args)
    except SettingsError as exc:
        print(f"webhook-emulator: {exc}", file=sys.stderr)
        return 2
    if not args.server and not args.url:
        print("webhook-emulator: fire needs --url (or --server to use a running emulator's webhooks)",
              file=sys.stderr)
        return 2
    if args.server:
        answer = _post_events(args.server, args, body)
    else:
        from emulator.server import Emulator

        settings = Settings.from_env(host="127.0.0.1", port=0, time_scale=args.time_scale, fixtures=args.fixtures)
        with Emulator(settings) as emulator:
            answer = _post_events(emulator.url, args, body)
    if isinstance(answer, int):
        return answer
    deliveries = answer.get("deliveries", [])
    if args.json:
        print(json.dumps(answer, indent=2, ensure_ascii=False))
    else:
        for delivery in deliveries:
            print(delivery_line(delivery))
        if args.url and not args.secret and deliveries and deliveries[0]["secret"] is not None:
            print(f"secret: {json.dumps(deliveries[0]['secret'])}")
    if not deliveries:
        print(f"webhook-emulator: nothing sent: {answer.get('reason', 'no webhook wanted the event')}",
              file=sys.stderr)
        for webhook in answer.get("webhooks", []):
            print(f"  {webhook_line(webhook)}", file=sys.stderr)
        if answer.get("webhooks_total", 0) > len(answer.get("webhooks", [])):
            print(f"  ... {answer['webhooks_total'] - len(answer['webhooks'])} more", file=sys.stderr)
        return 1
    return 0 if all(d["status"] == "delivered" for d in deliveries) else 1


def _post_events(url: str, args: argparse.Namespace, body: dict[str, Any]) -> dict[str, Any] | int:
    """POST the firing to the emulator at `url`: its answer, or the exit status after saying why not."""
    return ask(url, lambda: control_client(url, args, args.timeout + 5).request("POST", "/_emulator/events", body))


def ask(url: str, call: Callable[[], T]) -> T | int:
    """What `call` (control-API calls to the emulator at `url`) answers, or exit status 2 after
    saying in one line why there is no answer."""
    try:
        return call()
    except SettingsError:  # a bad argument (an unreadable file): main() reports it
        raise
    except ControlError as exc:
        hint = " (give it with --admin-token or EMULATOR_ADMIN_TOKEN)" if exc.status == 401 else ""
        print(f"webhook-emulator: {exc.message}{hint}", file=sys.stderr)
    except (OSError, ValueError) as exc:
        print(f"webhook-emulator: cannot reach {url}: {exc}", file=sys.stderr)
    return 2


def _fault_parser(sub: Any) -> None:
    fault = sub.add_parser("fault", help="add, list or clear fault rules of a running emulator",
                           description="Make a running emulator's provider API misbehave: answer an error in the "
                           "provider's own style, answer late, or drop the connection.",
                           epilog="example: webhook-emulator fault add --server http://127.0.0.1:8080 "
                           "--provider PROVIDER --status 429 --times 2")
    actions = fault.add_subparsers(dest="fault_action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add a rule; prints it with its id")
    add.add_argument("--provider", help="only this provider's calls")
    add.add_argument("--method", help="only calls with this method (GET, POST...)")
    add.add_argument("--path", help="only paths matching this glob, e.g. '/v2/webhooks/*'")
    add.add_argument("--tenant", help="only calls with this credential (API key or token)")
    add.add_argument("--status", type=int, help="answer this HTTP status with the provider's error body")
    add.add_argument("--retry-after", type=float, dest="retry_after",
                     help="seconds in Retry-After (default 1 for 429 and 503)")
    add.add_argument("--latency", type=float, help="seconds to wait before answering")
    add.add_argument("--drop", action="store_true", default=None, help="drop the connection without an answer")
    add.add_argument("--times", type=int, help="hit only the next N matching calls")
    add.add_argument("--probability", type=float, help="hit each matching call with this chance (seeded by --seed)")
    actions.add_parser("list", help="print the rules with their hit counts")
    clear = actions.add_parser("clear", help="remove one rule (by id) or every rule")
    clear.add_argument("id", nargs="?", help="the rule to remove (default: all)")
    for each in actions.choices.values():
        each.add_argument("--server", default=None, help=SERVER_HELP)
        each.add_argument("--json", action="store_true", help="print JSON (the rule, the rules, or the removed "
                          "ids) instead of text")
        _admin_token_option(each)


def cmd_fault(args: argparse.Namespace) -> int:
    server = args.server or default_server()
    client = control_client(server, args, 30.0)
    fields = ("provider", "method", "path", "tenant", "status", "retry_after", "latency", "drop", "times",
              "probability")

    def act() -> Any:
        if args.fault_action == "add":
            return client.add_fault(**{k: getattr(args, k) for k in fields if getattr(args, k) is not None})
        if args.fault_action == "clear":
            removed = [args.id] if args.id else [rule["id"] for rule in client.faults()]
            client.clear_faults(args.id)
            return {"removed": removed}
        return client.faults()

    answer = ask(server, act)
    if isinstance(answer, int):
        return answer
    if args.json:
        print(json.dumps(answer, indent=2, ensure_ascii=False))
    elif args.fault_action == "add":
        print(f"added fault {answer['id']}: {fault_text(answer)}")
    elif args.fault_action == "clear":
        removed = answer["removed"]
        print(f"removed fault {args.id}" if args.id else
              f"removed {len(removed)} fault rule(s){': ' + ', '.join(removed) if removed else ''}")
    else:
        print(fault_table(answer))
    return 0


def fault_text(rule: dict[str, Any]) -> str:
    """A fault rule in words: which calls, what it does to them, and how often."""
    return f"{_fault_matches(rule)} -> {_fault_does(rule)}, {_fault_limit(rule)}"


def _fault_matches(rule: dict[str, Any]) -> str:
    found = [f"{key}={rule[key]}" for key in ("provider", "method", "path", "tenant") if rule.get(key)]
    return " ".join(found) or "every call"


def _fault_does(rule: dict[str, Any]) -> str:
    does = []
    if rule.get("latency"):
        does.append(f"wait {rule['latency']:g} s")
    if rule.get("drop"):
        does.append("drop the connection")
    elif rule.get("status") is not None:
        retry = f" (Retry-After {rule['retry_after']:g} s)" if rule.get("retry_after") is not None else ""
        does.append(f"answer {rule['status']}{retry}")
    return ", then ".join(does) or "nothing"


def _fault_limit(rule: dict[str, Any]) -> str:
    limit = f"the next {rule['times']} call(s)" if rule.get("times") is not None else "every matching call"
    return limit + (f" with probability {rule['probability']:g}" if rule.get("probability") is not None else "")


def fault_table(rules: list[dict[str, Any]]) -> str:
    """The fault rules as a table (ID, MATCHES, DOES, HOW OFTEN, HITS, REMAINING), or a line saying there are none."""
    if not rules:
        return "no fault rules"
    rows = [("ID", "MATCHES", "DOES", "HOW OFTEN", "HITS", "REMAINING")] + [
        (r["id"], _fault_matches(r), _fault_does(r), _fault_limit(r), str(r["hits"]),
         "-" if r.get("remaining") is None else str(r["remaining"])) for r in rules]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]])
                     for row in rows)


def _audit_parser(sub: Any) -> None:
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
    _admin_token_option(audit)
    audit.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    audit.add_argument("--junit", type=Path, metavar="FILE", help="also write the report as JUnit XML to FILE")
    audit.add_argument("--fixtures", type=Path, action="append", help="in-process only: extra fixture folders")


def _audit_body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"provider": args.provider}
    if args.url:
        body["url"] = args.url
    if args.tenant:
        body["tenant"] = args.tenant
    if args.secret:
        body["secret"] = json_option("--secret", args.secret) if args.secret.lstrip().startswith("{") else args.secret
    if args.header:
        pairs = [h.partition(":") for h in args.header]
        if not all(sep and name.strip() for name, sep, _ in pairs):
            raise ValueError("--header is 'NAME: VALUE'")
        body["headers"] = {name.strip(): value.strip() for name, _, value in pairs}
    return body


def cmd_audit(args: argparse.Namespace) -> int:
    if bool(args.url) == bool(args.webhooks) or (args.webhooks and not args.server):
        print("webhook-emulator: audit needs --url, or --webhooks with --server", file=sys.stderr)
        return 2
    try:
        body = _audit_body(args)
    except ValueError as exc:
        print(f"webhook-emulator: {exc}", file=sys.stderr)
        return 2
    if args.server:
        report = ask(args.server, lambda: control_client(args.server, args, 3600).request(
            "POST", "/_emulator/audit", body))
    else:
        from emulator.server import Emulator

        settings = Settings.from_env(host="127.0.0.1", port=0, fixtures=args.fixtures)
        with Emulator(settings) as emulator:
            client = EmulatorClient(emulator.url, 3600, token=settings.admin_token)
            if args.secret is None and _signs(client, args.provider):
                print(f"webhook-emulator: {args.provider} signs its notifications: give --secret, the secret your "
                      "consumer verifies with (a JWK as JSON for a JWT-signing provider), or audit through "
                      "--server with its registered webhooks", file=sys.stderr)
                return 2
            report = ask(emulator.url, lambda: client.request("POST", "/_emulator/audit", body))
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
        print(json.dumps(report, indent=2, ensure_ascii=False))
    elif len(unreached) < len(report["endpoints"]):
        print(render_table(report))
    for endpoint in unreached:
        print(f"webhook-emulator: {unreachable_line(endpoint)}", file=sys.stderr)
    return 2 if unreached else 0 if report["passed"] else 1


COMMANDS = {"serve": cmd_serve, "fire": cmd_fire, "receive": cmd_receive, "check": cmd_check,
            "new-provider": cmd_new_provider,
            "providers": cmd_providers, "openapi": cmd_openapi, "health": cmd_health, "state": cmd_state,
            "fault": cmd_fault, "audit": cmd_audit, "notification": cmd_notification}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command](args)
    except SettingsError as exc:
        print(f"webhook-emulator: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from emulator.engine.provider import FixtureError  # imported here: most commands never load fixtures

        if not isinstance(exc, FixtureError):
            raise
        print(f"webhook-emulator: {exc}", file=sys.stderr)
        return 2
