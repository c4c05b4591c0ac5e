"""The endpoint table of docs/control-api.md, generated from the control API's route table (the
ControlRoute registry that also registers the routes and documents them in the OpenAPI document),
so the page cannot drift from what is served. `python -m emulator.control_docs` rewrites the table
between its markers; `--check` exits 1 when it is stale."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emulator.control.api import all_routes  # (the one place this module learns the routes)

PAGE = Path(__file__).resolve().parent.parent / "docs" / "control-api.md"
BEGIN = "<!-- Generated from the route table by `python -m emulator.control_docs` (a test checks it). -->"
END = "<!-- End of the generated table. -->"


def _body(schema: dict[str, Any] | None) -> str:
    """A request body's keys as the table shows them: `{"provider", "event", "data"?}` (? optional)."""
    if not schema or not schema.get("properties"):
        return ""
    required = schema.get("required", [])
    keys = [*required, *sorted(k for k in schema["properties"] if k not in required)]
    return "`{" + ", ".join(f'"{k}"' + ("" if k in required else "?") for k in keys) + "}`"


def markdown_table() -> str:
    """Every control route, a row each: endpoint, what it does, its query filters, its body, its status."""
    rows = ["| endpoint | what it does | query | body | status |", "| --- | --- | --- | --- | --- |"]
    for route in all_routes():
        query = ", ".join(f"`{q}`" for q in route.query)
        summary = route.summary.replace("|", "\\|")
        rows.append(f"| `{route.method} {route.path}` | {summary} | {query} | {_body(route.body)} | {route.status} |")
    return "\n".join(rows)


def current(text: str) -> str:
    """The page `text` with the table between its markers made current."""
    head, found, rest = text.partition(BEGIN)
    _, ended, tail = rest.partition(END)
    if not found or not ended:
        raise ValueError(f"{PAGE.name} has lost its table markers")
    return f"{head}{BEGIN}\n{markdown_table()}\n{END}{tail}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator.control_docs", description=__doc__)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the table is not current")
    args = parser.parse_args(argv)
    text = PAGE.read_text(encoding="utf-8")
    made = current(text)
    if args.check:
        if made != text:
            print(f"{PAGE} is stale: run python -m emulator.control_docs", file=sys.stderr)
        return 1 if made != text else 0
    PAGE.write_text(made, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
