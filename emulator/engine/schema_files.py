"""What is wrong with a provider's JSON Schema files, one line each at a JSONPath place: a dialect
other than draft 2020-12 (nothing is ever fetched), a `$ref` that names no schema of the provider,
a regular expression either validation tier cannot compile, a `format` that is not enforced.
`at` writes the places, here and in every fixture problem, as jsonschema writes its error paths."""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import jsonschema_rs
from referencing import Registry
from referencing.exceptions import Unresolvable

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
DIALECTS = (DRAFT_2020_12, DRAFT_2020_12 + "#")
# Keywords whose values are data, not schemas: nothing under them is a `$ref`, a pattern or a format.
_DATA = frozenset({"enum", "const", "default", "examples"})
_PATH_WORD = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]*$")


def at(where: str, key: str | int) -> str:
    """`where` one step down, written as jsonschema writes its error paths (`$.a[0]['b.c']`)."""
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if _PATH_WORD.match(key) else f"{where}['{key}']"


def place(path: Any) -> str:
    """A sequence of keys and indexes (jsonschema's `absolute_path`) as a JSONPath place."""
    where = "$"
    for key in path:
        where = at(where, key if isinstance(key, int) else str(key))
    return where


def keywords(schema: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str, Any]]:
    """Each (path, keyword, value) of a schema document, skipping the values of data keywords."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            key = str(key)
            yield (*path, key), key, value
            if key not in _DATA:
                yield from keywords(value, (*path, key))
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from keywords(value, (*path, index))


def dialect_problem(path: Path, contents: dict[str, Any]) -> str | None:
    """A `$schema` other than draft 2020-12's, in one line (a remote meta-schema is never fetched)."""
    dialect = contents.get("$schema")
    if dialect is None or dialect in DIALECTS:
        return None
    return (f"{path}: at $['$schema']: unknown dialect {dialect!r}: write \"$schema\": \"{DRAFT_2020_12}\" or leave "
            "it out (a schema without one is read as draft 2020-12; nothing is fetched)")


@functools.cache
def python_regex_problem(text: str, flags: int = 0) -> str | None:
    """Why `text` is not a regular expression Python compiles, or None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (a FutureWarning for `[[`: still a regular expression)
            re.compile(text, flags)
    except re.error as exc:
        return f"not a regular expression: {exc}"
    return None


@functools.cache
def regex_problem(text: str) -> str | None:
    """Why `text` is not a regular expression both tiers compile (Python's `re` for the exact
    one, jsonschema-rs for the fast one), or None."""
    problem = python_regex_problem(text)
    if problem is not None:
        return problem
    try:
        jsonschema_rs.validator_for({"pattern": text})
    except ValueError as exc:
        return f"not a regular expression the fast validator compiles: {str(exc).splitlines()[0]}"
    return None


def content_problems(path: Path, contents: Any, formats: Collection[str]) -> list[str]:
    """Every pattern neither tier compiles and every `format` outside `formats` (those enforced)."""
    problems = []
    for where, keyword, value in keywords(contents):
        if keyword == "pattern" and isinstance(value, str):
            texts = [(where, value)]
        elif keyword == "patternProperties" and isinstance(value, dict):
            texts = [((*where, str(key)), str(key)) for key in value]
        else:
            texts = []
        problems += [f"{path}: at {place(p)}: {why}" for p, text in texts if (why := regex_problem(text))]
        if keyword == "format" and isinstance(value, str) and value not in formats:
            problems.append(f"{path}: at {place(where)}: format {value!r} is not enforced; the enforced formats: "
                            + ", ".join(sorted(formats)))
    return problems


def unresolved_refs(path: Path, uri: str, contents: Any, registry: Registry, root: str,
                    files: Mapping[str, Path]) -> list[str]:
    """One line per `$ref` of the schema at `uri` that names nothing in `registry` (`root`: the
    URI its provider's schemas are under; `files`: each schema's file by URI)."""
    problems = []
    for where, base, ref in _refs(contents, uri, ()):
        try:
            registry.resolver(base).lookup(ref)
        except Unresolvable:
            target, _, fragment = urljoin(base, ref).partition("#")
            if target in files:
                why = f"{files[target].name} has no {'#' + fragment!r}"
            elif target.startswith(root):
                known = ", ".join(sorted(u.removeprefix(root) for u in files if u.startswith(root)))
                why = f"there is no {target.removeprefix(root)} beside it (the provider's schemas: {known})"
            else:
                why = "it is not one of the provider's schema files (schemas are never fetched)"
            problems.append(f"{path}: at {place(where)}: the $ref {ref!r} names nothing: {why}")
    return problems


def _refs(schema: Any, base: str, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str, str]]:
    """Each (path, base URI, `$ref`) of a schema document."""
    if isinstance(schema, dict):
        if isinstance(schema.get("$id"), str):
            base = urljoin(base, schema["$id"])
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str):
                yield (*path, key), base, value
            elif key not in _DATA:
                yield from _refs(value, base, (*path, str(key)))
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from _refs(value, base, (*path, index))
