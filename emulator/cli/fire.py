"""`webhook-emulator fire`: send one provider's event notification, signed like the provider,
in-process or through a running emulator; a line per delivery."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from emulator.cli.common import admin_token_option, ask, control_client, fail, json_option, print_json, secret_option
from emulator.settings import Settings, SettingsError
from emulator.vocabulary import MODES, ORDERS

# How an option's value goes into the control API's body (POST /_emulator/events).
ALWAYS, IF_GIVEN, JSON, SECRET, NOT_SENT = "always", "if given", "json", "secret", "not sent"
# Every option of `fire`: its argparse keywords and how it reaches the body, declared once.
OPTIONS: dict[str, tuple[dict[str, Any], str]] = {
    "url": ({"help": "send to this URL only (required without --server)"}, IF_GIVEN),
    "secret": ({"help": "the signing secret for --url (a JWK as JSON for JWT-signing providers); default: a fresh "
                        "one, shown in the output"}, SECRET),
    "data": ({"help": "JSON object deep-merged into the event's sample payload"}, JSON),
    "tenant": ({"help": "with --server: only this tenant's webhooks (its API key or token)"}, IF_GIVEN),
    "signature": ({"choices": MODES, "default": "valid",
                   "help": "send a deliberately bad signature to test a verifier (default valid), where the "
                           "provider's scheme has that forgery (stale_timestamp needs a timed signature; "
                           "providers that sign nothing take only valid)"}, ALWAYS),
    "server": ({"help": "base URL of a running emulator, e.g. http://127.0.0.1:8080"}, NOT_SENT),
    "timeout": ({"type": float, "default": 30.0,
                 "help": "seconds to wait for every delivery's final outcome (default 30, at most 3600)"}, ALWAYS),
    "time_scale": ({"type": float, "help": "in-process only: multiply retry intervals, e.g. 0.001 "
                                           "(EMULATOR_TIME_SCALE)"}, NOT_SENT),
    "fixtures": ({"type": Path, "action": "append", "help": "in-process only: extra fixture folders"}, NOT_SENT),
    "json": ({"action": "store_true", "help": "print the deliveries as JSON instead of a line each"}, NOT_SENT),
    "duplicate": ({"type": int, "nargs": "?", "const": 1,
                   "help": "send each notification again (N more times) once it was delivered"}, IF_GIVEN),
    "delay": ({"type": float, "help": "hold each notification back this many seconds (times the time scale)"},
              IF_GIVEN),
    "order": ({"choices": ORDERS, "help": "send one after the other, in the order given or reversed"}, IF_GIVEN),
}


def add_parser(sub: Any) -> None:
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
    for name, (words, _) in OPTIONS.items():
        fire.add_argument("--" + name.replace("_", "-"), dest=name, **words)
    admin_token_option(fire)
    fire.set_defaults(run=cmd_fire)


def fire_body(args: argparse.Namespace) -> dict[str, Any]:
    """The body of POST /_emulator/events the options make; SettingsError on an unreadable JSON option."""
    body: dict[str, Any] = {"provider": args.provider, "event": args.event if len(args.event) > 1 else args.event[0],
                            "wait": True}
    for name, (_, sent) in OPTIONS.items():
        value = getattr(args, name)
        if sent == ALWAYS or (value and sent == IF_GIVEN):
            body[name] = value
        elif value and sent == SECRET:
            body[name] = secret_option(value)
        elif value and sent == JSON:
            body[name] = json_option(f"--{name}", value)
    return body


def cmd_fire(args: argparse.Namespace) -> int:
    try:
        body = fire_body(args)
    except SettingsError as exc:
        return fail(str(exc))
    if not args.server and not args.url:
        return fail("fire needs --url (or --server to use a running emulator's webhooks)")
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
        print_json(answer)
    else:
        for delivery in deliveries:
            print(delivery_line(delivery))
        if args.url and not args.secret and deliveries and deliveries[0]["secret"] is not None:
            print(f"secret: {json.dumps(deliveries[0]['secret'])}")
    if not deliveries:
        _say_why_nothing_was_sent(answer)
        return 1
    return 0 if all(d["status"] == "delivered" for d in deliveries) else 1


def _say_why_nothing_was_sent(answer: dict[str, Any]) -> None:
    print(f"webhook-emulator: nothing sent: {answer.get('reason', 'no webhook wanted the event')}", file=sys.stderr)
    for webhook in answer.get("webhooks", []):
        print(f"  {webhook_line(webhook)}", file=sys.stderr)
    if answer.get("webhooks_total", 0) > len(answer.get("webhooks", [])):
        print(f"  ... {answer['webhooks_total'] - len(answer['webhooks'])} more", file=sys.stderr)


def _post_events(url: str, args: argparse.Namespace, body: dict[str, Any]) -> dict[str, Any] | int:
    """POST the firing to the emulator at `url`: its answer, or the exit status after saying why not."""
    return ask(url, lambda: control_client(url, args, args.timeout + 5).request("POST", "/_emulator/events", body),
               local=not args.server)


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
