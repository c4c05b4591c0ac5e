"""The code blocks of the README and of docs/*.md, found by the name in their fence (```sh quick-start),
never by their position: a block moves between pages, or gets a neighbour, and the tests still find it.
`sh` blocks are run by tests/test_readme.py; `shell` blocks are shown, not run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w+)(?: (\S+))?\n(.*?)^```", flags=re.M | re.S)


def fenced(page: str) -> list[tuple[str, str | None, str]]:
    """Every fenced block of a page (`README.md`, `docs/firing.md`): (language, name or None, text)."""
    return [(lang, name or None, text) for lang, name, text in FENCE.findall((ROOT / page).read_text(encoding="utf-8"))]


def block(page: str, name: str, language: str | None = None) -> str:
    """The one block of `page` whose fence names it `name` (in `language`, if given)."""
    found = [text for lang, named, text in fenced(page) if named == name and language in (None, lang)]
    assert len(found) == 1, f"{page} has {len(found)} blocks named {name!r}"
    return found[0]


def page_name(path: Path) -> str:
    return str(path.relative_to(ROOT))
