"""docs/fixtures.md is what its generator writes from the meta-schema and the template contexts
now, and the generator documents any meta-schema shape: nested properties, list items, map values,
alternatives and shared definitions, with their descriptions and defaults."""

from __future__ import annotations

import json
from pathlib import Path

from emulator import fixture_docs
from emulator.engine import fixture_lint
from emulator.engine.provider import data_dir

ROOT = Path(__file__).resolve().parent.parent
META = json.loads((data_dir() / "schemas" / "fixture.schema.json").read_text(encoding="utf-8"))


def test_docs_fixtures_md_is_current() -> None:
    written = (ROOT / "docs" / "fixtures.md").read_text(encoding="utf-8")
    assert written == fixture_docs.current(), "docs/fixtures.md is stale: run python -m emulator.fixture_docs"


def test_every_key_of_the_meta_schema_and_every_placeholder_is_in_it() -> None:
    text = fixture_docs.current()
    for path, _schema, _required in fixture_docs.rows(META, ""):
        assert f"| `{path}`" in text or f"### {path}\n" in text, path
    for name in (*META.get("properties", {}), *META.get("$defs", {})):
        assert f"`{name}`" in text or f"### {name}\n" in text or f"#### {name}\n" in text, name
    for context in fixture_lint.CONTEXTS:
        assert f"### {context.title}\n" in text
        for placeholder in context.names:
            assert f"| `{{{placeholder}}}` |" in text, (context.title, placeholder)
    for key in (*fixture_lint.ENGINE_MESSAGES, *fixture_lint.SCHEMA_KEYWORDS):
        assert f"`{key}`" in text, key
    assert all(f"`[{tag}]`" in text for tag in ("doc", "client", "default"))


def test_any_schema_shape_is_walked_with_descriptions_and_defaults() -> None:
    meta = {
        "description": "A test language.",
        "required": ["top"],
        "properties": {
            "top": {"type": "string", "description": "The top key.", "default": "t"},
            "delivery": {"type": "object", "description": "A section.", "properties": {
                "body": {"$ref": "#/$defs/template", "description": "A body."},
                "retry": {"type": "object", "required": ["retries"], "properties": {
                    "retries": {"type": "integer", "default": 5, "description": "How many."}}}}},
            "routes": {"type": "array", "items": {"type": "object", "properties": {
                "path": {"type": "string", "pattern": "^/", "description": "Where."}}}},
            "fields": {"type": "object", "additionalProperties": {"$ref": "#/$defs/field"}},
            "events": {"type": "object", "properties": {"fresh": {"type": "object", "additionalProperties": {
                "oneOf": [{"enum": ["uuid4"]}, {"type": "object", "properties": {
                    "time": {"type": "string", "description": "A time format."}}}]}}}},
        },
        "$defs": {
            "template": {"description": "Any JSON value."},
            "field": {"type": "object", "properties": {"hidden": {"type": "boolean", "default": False,
                                                                  "description": "Not shown."}}},
        },
    }
    text = fixture_docs.render(meta)
    assert "| `top` (required) | string | `\"t\"` | The top key. |" in text
    assert "| `delivery.retry.retries` (required) | integer | `5` | How many. |" in text
    assert "| `delivery.body` | [template](#template) |  | A body. Placeholders: [Delivery body](#delivery-body). |" \
        in text
    assert "| `routes[].path` | string matching `^/` |  | Where. Placeholders: [Route path](#route-path). |" in text
    assert "| `fields` | map of [field](#field) |" in text
    assert "| `events.fresh.<key>.time` | string |  | A time format. |" in text
    assert "#### field\n" in text and "| `hidden` | boolean | `false` | Not shown. |" in text
    assert "#### template\n\nany JSON value. Any JSON value." in text
    assert "### delivery\n\n`delivery`: object. A section." in text


def test_check_says_when_the_file_is_stale(tmp_path: Path, capsys: object) -> None:
    output = tmp_path / "fixtures.md"
    assert fixture_docs.main(["--check", "--output", str(output)]) == 1
    assert fixture_docs.main(["--output", str(output)]) == 0
    assert fixture_docs.main(["--check", "--output", str(output)]) == 0
    output.write_text(output.read_text() + "edited\n")
    assert fixture_docs.main(["--check", "--output", str(output)]) == 1
