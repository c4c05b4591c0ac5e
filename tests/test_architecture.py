"""Structural promises of the package: its public API ships its types, the async client is
written out (so type checkers and IDEs see it), aiohttp's internals are reached only through
emulator/aiohttp_internals.py, and aiohttp is bounded below the major version they belong to."""

from __future__ import annotations

import inspect
import re
import tomllib
from pathlib import Path

from emulator.client import AsyncEmulatorClient, EmulatorClient

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# How code reaches past aiohttp's public API (app._handle, PlainResource._match, the server class
# swap, RequestHandler construction, and a handler's and a server's private fields).
INTERNALS = re.compile(r"\bapp\._handle\b|def _match\(|\.__class__ = |RequestHandler\(|\._manager\b|"
                       r"\._connections\b|\._kwargs\b")


def test_the_package_ships_its_types_and_ci_checks_them() -> None:
    assert (ROOT / "emulator" / "py.typed").is_file()
    assert PROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["emulator"]  # (all its files)
    assert any(r.startswith("mypy") for r in PROJECT["project"]["optional-dependencies"]["test"])
    assert PROJECT["tool"]["mypy"]["disallow_untyped_defs"] is True
    assert "&& mypy emulator &&" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_the_async_client_writes_out_every_method_of_the_blocking_one() -> None:
    public = {name for name, _ in inspect.getmembers(EmulatorClient, inspect.isfunction)
              if not name.startswith("_") and not name.endswith("_async")}
    assert public - set(vars(AsyncEmulatorClient)) == set()


def test_only_the_fence_reaches_into_aiohttp() -> None:
    fence = ROOT / "emulator" / "aiohttp_internals.py"
    assert INTERNALS.search(fence.read_text(encoding="utf-8"))
    reaching = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
                for path in sorted((ROOT / "emulator").rglob("*.py")) if path != fence
                for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if INTERNALS.search(line)]
    assert reaching == []


def test_aiohttp_is_bounded_below_its_next_major_version() -> None:
    [aiohttp] = [r for r in PROJECT["project"]["dependencies"] if r.startswith("aiohttp")]
    assert aiohttp == "aiohttp>=3.12,<4"
