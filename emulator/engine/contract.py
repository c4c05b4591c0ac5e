"""A JSON body's schema as its one contract: validated with the two-tier validator the providers'
bodies use, and each problem said in the schema's own words. Every property of the schema may
carry an `x-message` (e.g. "provider must name one of {providers}", a `{name}` filled from the
values given): what
is wrong with that field, whatever its error; a field the schema does not declare is named in
"unknown field(s) ...; the fields are ..."."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import ValidationError

from emulator.engine.fast_validation import two_tier
from emulator.engine.formats import FORMAT_CHECKER

MESSAGE = "x-message"


class Contract:
    """A body schema (an object's) compiled once, with the message of its first problem."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.fields: list[str] = list(schema.get("properties", {}))
        self.validator = two_tier(schema, checker=FORMAT_CHECKER)

    def problem(self, body: Any, values: Mapping[str, str] | None = None) -> str | None:
        """What is wrong with `body`, or None: unknown fields first, then the first field (in the
        schema's order) with an error; `values` fill the messages' templates."""
        if self.validator.is_valid(body):
            return None
        errors = list(self.validator.exact.iter_errors(body))
        if not errors:  # (the exact tier decides where the two differ)
            return None
        return min((self._said(error, body, values or {}) for error in errors), key=lambda found: found[0])[1]

    def _said(self, error: ValidationError, body: Any, values: Mapping[str, str]) -> tuple[int, str]:
        """(its rank, its message) for one error."""
        if not error.absolute_path and error.validator == "additionalProperties" and isinstance(body, dict):
            unknown = sorted(str(k) for k in set(body) - set(self.fields))
            return -1, f"unknown field(s) {', '.join(unknown)}; the fields are {', '.join(self.fields)}"
        field: Any = error.absolute_path[0] if error.absolute_path else None
        if field is None and error.validator == "required" and isinstance(body, dict):
            field = next((name for name in error.validator_value if name not in body), None)
        if field not in self.fields:
            return len(self.fields), error.message if field is None else f"{field}: {error.message}"
        template = self.schema["properties"][field].get(MESSAGE)
        message = template or f"{field}: {error.message}"
        for name, value in values.items():
            message = message.replace(f"{{{name}}}", value)
        return self.fields.index(field), message
