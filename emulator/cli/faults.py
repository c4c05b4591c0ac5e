"""`webhook-emulator fault add|list|clear`: a running emulator's fault rules, and their words."""

from __future__ import annotations

import argparse
from typing import Any

from emulator.cli.common import SERVER_HELP, admin_token_option, ask, control_client, default_server, print_json

# The options of `fault add`, each a field of the rule it adds (POST /_emulator/faults), declared once.
RULE_OPTIONS: dict[str, dict[str, Any]] = {
    "provider": {"help": "only this provider's calls"},
    "method": {"help": "only calls with this method (GET, POST...)"},
    "path": {"help": "only paths matching this glob, e.g. '/v2/webhooks/*'"},
    "tenant": {"help": "only calls with this credential (API key or token)"},
    "status": {"type": int, "help": "answer this HTTP status with the provider's error body"},
    "retry_after": {"type": float, "help": "seconds in Retry-After (default 1 for 429 and 503)"},
    "latency": {"type": float, "help": "seconds to wait before answering"},
    "drop": {"action": "store_true", "default": None, "help": "drop the connection without an answer"},
    "times": {"type": int, "help": "hit only the next N matching calls"},
    "probability": {"type": float, "help": "hit each matching call with this chance (seeded by --seed)"},
}


def add_parser(sub: Any) -> None:
    fault = sub.add_parser("fault", help="add, list or clear fault rules of a running emulator",
                           description="Make a running emulator's provider API misbehave: answer an error in the "
                           "provider's own style, answer late, or drop the connection.",
                           epilog="example: webhook-emulator fault add --server http://127.0.0.1:8080 "
                           "--provider PROVIDER --status 429 --times 2")
    actions = fault.add_subparsers(dest="fault_action", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add", help="add a rule; prints it with its id",
        description="Add a fault rule: it matches provider API calls (by --provider, --method, --path and --tenant; "
                    "each left out matches every call) and answers them --status in the provider's own error style "
                    "(with --retry-after), waits --latency seconds first, or drops the connection (--drop); for "
                    "the next --times matching calls, each with --probability, or every one. `serve --faults FILE` "
                    "loads the same rules at start-up from a YAML or JSON list of objects (or {faults: [...]}) keyed "
                    f"by these options' names with _ for -: {', '.join(RULE_OPTIONS)}.",
        epilog="example: webhook-emulator fault add --provider PROVIDER --method POST --status 429 --retry-after 2 "
               "--times 2; the same rule in a --faults file: "
               "[{provider: PROVIDER, method: POST, status: 429, retry_after: 2, times: 2}]")
    for name, words in RULE_OPTIONS.items():
        add.add_argument("--" + name.replace("_", "-"), dest=name, **words)
    actions.add_parser("list", help="print the rules with their hit counts",
                       description="Print the running emulator's fault rules, a row each: its id, the calls it "
                       "matches, what it does to them, how often, its hits so far and the hits it has left.")
    clear = actions.add_parser("clear", help="remove one rule (by id) or every rule",
                               description="Remove the fault rule ID (as `fault add` and `fault list` show it), "
                               "or every rule when no ID is given.")
    clear.add_argument("id", nargs="?", help="the rule to remove (default: all)")
    for each in actions.choices.values():
        each.add_argument("--server", default=None, help=SERVER_HELP)
        each.add_argument("--json", action="store_true", help="print JSON (the rule, the rules, or the removed "
                          "ids) instead of text")
        admin_token_option(each)
    fault.set_defaults(run=cmd_fault)


def cmd_fault(args: argparse.Namespace) -> int:
    server = args.server or default_server()
    client = control_client(server, args, 30.0)

    def act() -> Any:
        if args.fault_action == "add":
            return client.add_fault(**{k: getattr(args, k) for k in RULE_OPTIONS if getattr(args, k) is not None})
        if args.fault_action == "clear":
            removed = [args.id] if args.id else [rule["id"] for rule in client.faults()]
            client.clear_faults(args.id)
            return {"removed": removed}
        return client.faults()

    answer = ask(server, act)
    if isinstance(answer, int):
        return answer
    if args.json:
        print_json(answer)
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
