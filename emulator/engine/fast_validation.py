"""Two-tier JSON Schema validation: jsonschema-rs decides whether an instance is valid (about a
microsecond for a webhook body, against some fifty in jsonschema), and only an invalid one goes
through jsonschema, whose errors make the exact messages the providers' styles are built from.

Both tiers read the same schemas, the same `$ref` registry and the same format checks (the fast
tier calls back into jsonschema's FormatChecker), so they agree on what is valid;
tests/test_fast_validation.py checks that they do, schema by schema. Data the fast tier cannot
take (a lone surrogate, a non-string key) goes to the exact tier, which decides."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from referencing import Registry


class TwoTierValidator:
    """`iter_errors` and `is_valid` as jsonschema's validator has them, decided by the fast tier."""

    def __init__(self, exact: Draft202012Validator, fast: Any) -> None:
        self.exact = exact
        self.fast = fast

    def is_valid(self, instance: Any) -> bool:
        try:
            return bool(self.fast.is_valid(instance))
        except (ValueError, TypeError, UnicodeError, OverflowError):  # data Rust cannot take
            return not any(True for _ in self.exact.iter_errors(instance))

    def iter_errors(self, instance: Any) -> Iterator[ValidationError]:
        """Every error of `instance` (none, without asking jsonschema, when the fast tier finds it valid)."""
        if self.is_valid(instance):
            return iter(())
        return self.exact.iter_errors(instance)


def fast_formats(checker: FormatChecker) -> dict[str, Any]:
    """jsonschema-rs format callbacks that ask `checker`, so both tiers judge formats alike."""
    return {name: partial(_conforms, checker, name) for name in checker.checkers}


def _conforms(checker: FormatChecker, name: str, value: Any) -> bool:
    return checker.conforms(value, name)


def no_retrieval(uri: str) -> Any:
    """The fast tier's retriever: a schema that is not in the registry is never fetched."""
    raise ValueError(f"{uri} is not one of the loaded schemas (schemas are never fetched)")


def fast_registry(resources: Iterable[tuple[str, Any]]) -> Any:
    """A jsonschema-rs registry of (uri, schema) pairs, which fetches nothing."""
    return jsonschema_rs.Registry(list(resources), retriever=no_retrieval)


def two_tier(schema: Any, *, registry: Any = None, exact_registry: Any = None,
             checker: FormatChecker | None = None) -> TwoTierValidator:
    """A two-tier validator of `schema` (draft 2020-12); `registry` is the fast tier's,
    `exact_registry` jsonschema's (a `referencing.Registry`)."""
    # An empty registry where none is given: jsonschema's default one would fetch remote `$ref`s.
    exact = Draft202012Validator(schema, format_checker=checker,
                                 registry=exact_registry if exact_registry is not None else Registry())
    fast_options: dict[str, Any] = {"retriever": no_retrieval}
    if registry is not None:
        fast_options["registry"] = registry
    if checker is not None:
        fast_options.update(formats=fast_formats(checker), validate_formats=True)
    return TwoTierValidator(exact, jsonschema_rs.Draft202012Validator(schema, **fast_options))


def schema_is_valid(schema: Any) -> bool:
    """Whether `schema` is a valid draft 2020-12 schema (the fast tier; explain with check_schema)."""
    try:
        return bool(jsonschema_rs.meta.is_valid(schema))
    except (ValueError, TypeError, UnicodeError, OverflowError):
        return False
