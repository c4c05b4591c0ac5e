"""The two tiers of validation agree: for every schema of every provider, an instance built from
the schema and hundreds of variations of it (each field removed, replaced by values of every
type and odd strings, unknown fields added, and random JSON from hypothesis) are valid for
jsonschema-rs exactly when jsonschema finds no error. So the fast tier is as strict as the
exact one, and every message still comes from jsonschema."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.engine.fast_validation import TwoTierValidator, schema_is_valid
from emulator.engine.provider import Provider, load_providers

PROVIDERS = load_providers([])
SCHEMAS = [(p, uri) for p in PROVIDERS.values() for uri in p.registry if "/common/" not in uri]
ODD_VALUES: list[Any] = [None, True, False, 0, -1, 1.5, 2**70, "", "x", "x" * 5000, "http://127.0.0.1:9/ok",
                         "https://example.com/a b", "not a url", "\x00", "\ud800", "Payout.created", [], [None],
                         ["x"], {}, {"a": 1}, 1e308, -0.0]
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)


def example(schema: Any, depth: int = 0) -> Any:
    """A plausible instance of a (dereferenced) schema: valid for most, and a starting point."""
    if not isinstance(schema, dict) or depth > 8:
        return None
    for key in ("const", "default"):
        if key in schema:
            return copy.deepcopy(schema[key])
    if schema.get("examples"):  # (a schema's own sample: an object's documented one)
        return copy.deepcopy(schema["examples"][0])
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("allOf", "anyOf", "oneOf"):
        if schema.get(key):
            return example(schema[key][0], depth + 1)
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object" or "properties" in schema:
        return {k: example(v, depth + 1) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [example(schema.get("items", {}), depth + 1)]
    formats = {"http-url": "http://127.0.0.1:9/hook", "uuid": "11111111-1111-4111-8111-111111111111",
               "date-time": "2024-01-02T03:04:05Z", "header-name": "X-Custom", "header-value": "v"}
    if kind == "string":
        return formats.get(schema.get("format", ""), "x" * max(1, schema.get("minLength", 1)))
    return {"integer": schema.get("minimum", 0), "number": 1.5, "boolean": True, "null": None}.get(kind)


def variations(instance: Any) -> Iterator[Any]:
    """The instance, then each of its fields removed or replaced, then unknown fields added."""
    yield instance
    yield from ODD_VALUES
    if isinstance(instance, dict):
        for key in instance:
            yield {k: v for k, v in instance.items() if k != key}
            for odd in ODD_VALUES:
                yield {**instance, key: odd}
            for inner in variations(instance[key]) if isinstance(instance[key], dict | list) else ():
                yield {**instance, key: inner}
        yield {**instance, "unknown_field": 1}
    if isinstance(instance, list) and instance:
        for odd in ODD_VALUES:
            yield [odd]
        yield instance * 3


def agree(validator: TwoTierValidator, instance: Any) -> None:
    exact = not any(True for _ in validator.exact.iter_errors(instance))
    assert validator.is_valid(instance) == exact, f"the tiers disagree on {instance!r:.300}"
    assert (not any(True for _ in validator.iter_errors(instance))) == exact


@pytest.mark.parametrize(("provider", "uri"), SCHEMAS, ids=[uri.split("/schemas/")[1] for _, uri in SCHEMAS])
def test_the_tiers_agree_on_an_example_and_its_variations(provider: Provider, uri: str) -> None:
    validator = provider.validator(uri.split(f"/{provider.name}/", 1)[1])
    schema = jsonschema_rs.dereference({"$ref": uri}, registry=provider.fast_registry)
    base = example(schema)
    checked = 0
    for instance in variations(base):
        agree(validator, instance)
        checked += 1
    assert checked > len(ODD_VALUES)


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_the_tiers_agree_on_random_json_in_every_create_body(name: str) -> None:
    provider = PROVIDERS[name]
    route = next(r for r in provider.routes if r.action == "create")
    assert route.request is not None
    base = example(jsonschema_rs.dereference({"$ref": provider.schema_uri(route.request_schema or "")},
                                             registry=provider.fast_registry))

    @settings(max_examples=150, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
    @given(key=st.sampled_from([*base, "other"]), value=JSON)
    def check(key: str, value: Any) -> None:
        agree(route.request, {**base, key: value})  # type: ignore[arg-type]

    check()


def test_an_invalid_schema_is_caught_by_the_fast_check_and_explained_by_the_exact_one() -> None:
    assert schema_is_valid({"type": "object", "properties": {"url": {"type": "string"}}})
    assert not schema_is_valid({"type": 5})
    assert not schema_is_valid({"properties": {"a": {"minLength": "three"}}})


def test_the_examples_exercise_valid_instances_too() -> None:
    """Agreement on invalid instances alone would prove little: many built examples are valid."""
    valid = sum(p.validator(uri.split(f"/{p.name}/", 1)[1]).is_valid(
        example(jsonschema_rs.dereference({"$ref": uri}, registry=p.fast_registry))) for p, uri in SCHEMAS)
    assert valid >= len(SCHEMAS) // 4
