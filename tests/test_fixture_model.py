"""The fixture language itself: schemas without `$schema`, the typed model parsed at load and the
meta-schema that documents it, `extends`, and the order every built-in fixture is written in."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from types import UnionType
from typing import Any

import pytest

from emulator.cli import main
from emulator.engine.model import Fixture, FreshTime, FreshValue, Token, parse, yaml_key
from emulator.engine.provider import load_providers, read_yaml
from tests.conftest import MakeApi

ACME = Path(__file__).parent.parent / "examples" / "acme"
AUTH = {"Authorization": "Bearer acme-key"}


def _without_dollar_schema(tmp_path: Path) -> Path:
    """A copy of the acme provider whose schemas name no `$schema`."""
    folder = tmp_path / "acme"
    shutil.copytree(ACME, folder)
    for path in (folder / "schemas").rglob("*.json"):
        schema = json.loads(path.read_text())
        schema.pop("$schema", None)
        path.write_text(json.dumps(schema))
    return folder


def test_check_reads_a_schema_without_dollar_schema_as_draft_2020_12(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _without_dollar_schema(tmp_path)
    code = main(["check", str(folder)])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert any(line.split()[:2] == ["ok", "acme"] for line in out.splitlines())


async def test_a_provider_whose_schemas_name_no_dialect_serves_and_validates(
        tmp_path: Path, make_api: MakeApi) -> None:
    api = await make_api(fixtures=[_without_dollar_schema(tmp_path)])
    created = await api.post("/acme/hooks", json={"target": "https://x.io/h", "topics": ["anvil.dropped"]},
                             headers=AUTH, validate=False)
    assert created.status == 201
    refused = await api.post("/acme/hooks", json={"target": "https://x.io/h", "topics": "no"}, headers=AUTH,
                             validate=False)
    assert refused.status == 422 and "topics" in refused.json["error"]["message"]


def test_a_schema_file_that_is_not_an_object_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _without_dollar_schema(tmp_path)
    (folder / "schemas" / "acme" / "hook.json").write_text("[]")
    code = main(["check", str(folder)])
    err = capsys.readouterr().err
    assert code != 0 and err.count("\n") == 1 and "hook.json: a JSON Schema file must hold an object" in err



# -- the model and the meta-schema agree --------------------------------------------------------------

META = json.loads((Path(__file__).parent.parent / "schemas" / "fixture.schema.json").read_text())


def _node(node: dict[str, Any]) -> dict[str, Any]:
    """A meta-schema node with its `$ref` followed, and of alternatives (an id generator: a name or
    an object) the one with keys."""
    while "$ref" in node:
        node = META["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return next((_node(b) for b in node.get("oneOf", []) if "properties" in _node(b)), node)


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _members(tp: Any) -> list[tuple[str, Any]]:
    """The dataclasses inside a field's type, with how the meta-schema reaches them from its node."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (UnionType, typing.Union):  # (an id generator: a name or a Token)
        return [m for arg in args for m in _members(arg)]
    if dataclasses.is_dataclass(tp):
        return [("", tp)]
    if typing.get_origin(tp) is tuple and dataclasses.is_dataclass(args[0]):
        return [("items", args[0])]
    if typing.get_origin(tp) is Mapping and dataclasses.is_dataclass(args[1]):
        return [("additionalProperties", args[1])]
    if typing.get_origin(tp) is Mapping and typing.get_origin(args[1]) is tuple:  # objects.events: lists of effects
        return [(f"additionalProperties.{step}", member) for step, member in _members(args[1])]
    return []


def _disagreements(cls: type, node: dict[str, Any], where: str) -> list[str]:
    """Every key one of the model and the meta-schema has and the other lacks, a default that differs,
    an order that differs, and a key with no description."""
    node = _node(node)
    props = node.get("properties", {})
    hints = typing.get_type_hints(cls)
    fields = [f for f in dataclasses.fields(cls) if not f.metadata.get("from_key")]
    keys = [yaml_key(f) for f in fields]
    found = [f"{where}.{k}: in the model, not the meta-schema" for k in keys if k not in props]
    found += [f"{where}.{k}: in the meta-schema, not the model" for k in props if k not in keys]
    if [k for k in keys if k in props] != [k for k in props if k in keys]:
        found.append(f"{where}: the model's order {keys} is not the meta-schema's {list(props)}")
    if node.get("additionalProperties") is not False:
        found.append(f"{where}: the meta-schema lets unknown keys in")
    required = set(node.get("required", []))
    for f, key in zip(fields, keys, strict=True):
        prop = props.get(key)
        if prop is None:
            continue
        if not prop.get("description"):
            found.append(f"{where}.{key}: no description")
        model, documented = _default(f), prop.get("default", dataclasses.MISSING)
        if dataclasses.is_dataclass(model) and documented is not dataclasses.MISSING:
            documented = parse(type(model), documented)
        if isinstance(model, tuple):
            model = list(model)
        if key not in required and model not in (None, dataclasses.MISSING) and documented != model:
            found.append(f"{where}.{key}: the model's default is {model!r}, the meta-schema's {documented!r}")
        elif documented is not dataclasses.MISSING and documented != model:
            found.append(f"{where}.{key}: the meta-schema's default {documented!r} is not the model's {model!r}")
        for step, member in _members(hints[f.name]):
            inner = prop
            for part in step.split(".") if step else ():
                inner = _node(inner)[part]
            found += _disagreements(member, inner, f"{where}.{key}")
        if f.metadata.get("each"):  # events.fresh: a generator, a time or a value
            branches = {_node(b).get("required", [None])[0]: _node(b) for b in prop["additionalProperties"]["oneOf"]}
            found += _disagreements(FreshTime, branches["time"], f"{where}.{key}.*")
            found += _disagreements(FreshValue, branches["value"], f"{where}.{key}.*")
            found += _disagreements(Token, branches["token"], f"{where}.{key}.*")
    return found


def test_the_model_and_the_meta_schema_have_the_same_keys_defaults_and_order() -> None:
    assert _disagreements(Fixture, META, "$") == []


def test_every_meta_schema_key_is_described() -> None:
    def undescribed(node: Any, where: str) -> list[str]:
        if isinstance(node, list):
            return [p for i, n in enumerate(node) for p in undescribed(n, f"{where}[{i}]")]
        if not isinstance(node, dict):
            return []
        missing = [f"{where}.{k}" for k, v in node.get("properties", {}).items() if not v.get("description")]
        return missing + [p for k, v in node.items() if k != "if" for p in undescribed(v, f"{where}/{k}")]

    assert undescribed(META, "$") == []


# -- words that were quirks in code ------------------------------------------------------------------

def _acme(tmp_path: Path, edit: Callable[[str], str]) -> Path:
    folder = tmp_path / "acme"
    shutil.copytree(ACME, folder)
    fixture = folder / "acme.yaml"
    fixture.write_text(edit(fixture.read_text()))
    return folder


async def test_soft_delete_sets_the_field_it_names(tmp_path: Path, make_api: MakeApi) -> None:
    created = "    created: {from: created, format: unix}\n"
    folder = _acme(tmp_path, lambda text: text.replace("  id: uuid4\n", "  id: uuid4\n  soft_delete: removed\n", 1)
                   .replace(created, created + "    removed: {default: false, writable: false}\n")
                   .replace("action: delete, status: 204}", "action: delete}"))
    api = await make_api(fixtures=[folder])
    hook = (await api.post("/acme/hooks", json={"target": "https://x.io/h", "topics": ["anvil.dropped"]},
                           headers=AUTH, validate=False)).json
    assert hook["removed"] is False
    deleted = await api.delete(f"/acme/hooks/{hook['id']}", headers=AUTH, validate=False)
    assert (deleted.status, deleted.json) == (200, {**hook, "removed": True})
    assert (await api.get(f"/acme/hooks/{hook['id']}", headers=AUTH, validate=False)).status == 404


def test_soft_delete_must_name_a_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _acme(tmp_path, lambda text: text.replace("  id: uuid4\n", "  id: uuid4\n  soft_delete: gone\n", 1))
    assert main(["check", str(folder)]) != 0
    assert "at $.resource.soft_delete: no field named 'gone'" in capsys.readouterr().err


async def test_range_filters_use_the_fixtures_suffixes(tmp_path: Path, make_api: MakeApi) -> None:
    folder = _acme(tmp_path, lambda text: text.replace(
        "  paging: {style: offset, offset: offset, limit: limit}\n",
        "  paging: {style: offset, offset: offset, limit: limit}\n  filters: {since: created}\n"
        "  filter_suffixes: {gte: .from, lt: .until}\n").replace(
        "      not_found: no such anvil\n", "      not_found: no such anvil\n      times: {created: dropped_at}\n"))
    api = await make_api(fixtures=[folder])
    await api.post("/acme/hooks", json={"target": "https://x.io/h", "topics": ["anvil.dropped"]}, headers=AUTH,
                   validate=False)

    async def listed(query: str) -> int:
        return int((await api.get(f"/acme/hooks?{query}", headers=AUTH, validate=False)).json["total"])

    assert await listed("since.from=2000-01-01T00:00:00Z") == 1
    assert await listed("since.until=2000-01-01T00:00:00Z") == 0
    assert await listed("since_lt=2000-01-01T00:00:00Z") == 1  # not a word of this provider: no filter


async def test_the_token_answer_is_the_fixtures_template(tmp_path: Path, make_api: MakeApi) -> None:
    folder = _acme(tmp_path, lambda text: text.replace(
        "\nerrors:", '\noauth:\n  expires_in: 60\n  answer: {token: "{access_token}", ttl: "{expires_in}"}\nerrors:', 1)
        .replace("routes:\n", "routes:\n  - {method: POST, path: /acme/token, action: oauth_token}\n", 1))
    api = await make_api(fixtures=[folder])
    answer = await api.post("/acme/token", json={"grant_type": "client_credentials", "client_id": "me",
                                                 "client_secret": "s"}, validate=False)
    assert answer.status == 200 and sorted(answer.json) == ["token", "ttl"] and answer.json["ttl"] == 60
    listed = await api.get("/acme/hooks", headers={"Authorization": f"Bearer {answer.json['token']}"}, validate=False)
    assert listed.status == 200


def test_the_engine_names_no_provider() -> None:
    names = {path.stem for path in (Path(__file__).parent.parent / "fixtures").glob("*.yaml")}
    package = Path(__file__).parent.parent / "emulator"
    found = [(str(path.relative_to(package)), name) for path in package.rglob("*") if path.is_file()
             and path.suffix in (".py", ".js", ".html", ".css") and "_data" not in path.parts
             for name in names if name in path.read_text(encoding="utf-8").lower()]
    assert found == []


# -- extends --------------------------------------------------------------------------------------------

def test_paybook_and_syncfy_share_one_base() -> None:
    providers = load_providers([])
    paybook, syncfy = providers["paybook"], providers["syncfy"]
    assert paybook.raw["extends"] == syncfy.raw["extends"] == "paybook-v1"
    assert paybook.auth == syncfy.auth and paybook.envelope == syncfy.envelope
    assert paybook.listing.paging == syncfy.listing.paging
    assert syncfy.listing.equals == {"id_environment": "id_environment"}
    assert paybook.errors.kinds == syncfy.errors.kinds and paybook.errors.messages != syncfy.errors.messages
    # Each keeps what is its own, laid over the base key by key.
    assert paybook.delivery and paybook.delivery.subscribers.skip_when == {"is_disabled": 1}
    assert syncfy.delivery and syncfy.delivery.subscribers.skip_when == {}
    assert paybook.delivery.subscribers.field == syncfy.delivery.subscribers.field == "events"


async def test_a_fixture_extends_another_and_changes_what_it_says(tmp_path: Path, make_api: MakeApi) -> None:
    folder = tmp_path / "fixtures"
    shutil.copytree(ACME, folder)
    (folder / "beta.yaml").write_text(
        "name: beta\nextends: acme\nprefixes: [/beta/]\n"
        "errors:\n  kinds:\n    not_found: {message: no such beta hook}\n"
        "routes:\n  - {method: GET, path: \"/beta/hooks/{id}\", action: retrieve}\n"
        "  - {method: POST, path: /beta/hooks, action: create, status: 201, request: create.json}\n")
    shutil.copytree(folder / "schemas" / "acme", folder / "schemas" / "beta")
    api = await make_api(fixtures=[folder])
    created = await api.post("/beta/hooks", json={"target": "https://x.io/h", "topics": ["anvil.dropped"]},
                             headers=AUTH, validate=False)
    assert created.status == 201 and list(created.json) == ["id", "target", "topics", "secret", "created"]
    missing = await api.get("/beta/hooks/nope", headers=AUTH, validate=False)
    # The kind's status is acme's (merged key by key), its message beta's own; the list is beta's.
    assert (missing.status, missing.json) == (404, {"error": {"code": 404, "message": "no such beta hook"}})
    assert (await api.get("/beta/hooks", headers=AUTH, validate=False)).status == 405
    assert (await api.get("/acme/hooks", headers=AUTH, validate=False)).status == 200


@pytest.mark.parametrize(("extends", "message"), [
    ("nowhere", "at $.extends: cannot extend 'nowhere': no such fixture"),
    ("loop", "at $.extends: cannot extend 'loop': it extends itself"),
])
def test_a_bad_extends_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], extends: str,
                                   message: str) -> None:
    folder = _acme(tmp_path, lambda text: text.replace("name: acme\n", f"name: acme\nextends: {extends}\n"))
    (folder / "common").mkdir()
    (folder / "common" / "loop.yaml").write_text("extends: loop\n")
    assert main(["check", str(folder)]) != 0
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


# -- one order ------------------------------------------------------------------------------------------

def _out_of_order(doc: Any, node: dict[str, Any], where: str) -> list[str]:
    """Every mapping of a fixture document whose keys do not come in the meta-schema's order."""
    node = _node(node)
    if isinstance(doc, list):
        return [p for i, item in enumerate(doc) for p in _out_of_order(item, node.get("items", {}), f"{where}[{i}]")]
    if not isinstance(doc, dict):
        return []
    props = node.get("properties")
    found = []
    if props:
        keys = [k for k in doc if k in props]
        if keys != sorted(keys, key=list(props).index):
            found.append(f"{where}: {keys} is not in the order {[k for k in props if k in doc]}")
        found += [p for k in keys for p in _out_of_order(doc[k], props[k], f"{where}.{k}")]
    elif isinstance(node.get("additionalProperties"), dict):
        found += [p for k, v in doc.items() for p in _out_of_order(v, node["additionalProperties"], f"{where}.{k}")]
    return found


FIXTURE_FILES = sorted((Path(__file__).parent.parent / "fixtures").rglob("*.yaml"))


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[p.stem for p in FIXTURE_FILES])
def test_every_built_in_fixture_writes_its_keys_in_the_meta_schemas_order(path: Path) -> None:
    assert _out_of_order(read_yaml(path, ValueError), META, "$") == []


SCHEMA_NAME = re.compile(r"(create|update|webhook|list|error|notification|events"
                         r"|(event|view|response|object)-[a-z0-9_-]+)\.json")


def test_every_provider_names_its_schemas_for_their_roles() -> None:
    schemas = Path(__file__).parent.parent / "schemas"
    odd = [str(p.relative_to(schemas)) for p in schemas.glob("*/*.json")
           if p.parent.name != "common" and not SCHEMA_NAME.fullmatch(p.name)]
    assert odd == []


def test_an_id_generator_is_parsed_with_its_default_alphabet() -> None:
    from emulator.engine.clock import Clock
    from emulator.engine.ids import IdSource
    from emulator.engine.model import FieldSpec

    spec = parse(FieldSpec, {"generate": {"token": 8}}, "secret")
    assert spec.generate == Token(token=8, alphabet="hex")
    made = IdSource(Clock(), seed=1).generate(spec.generate)
    assert len(made) == 8 and set(made) <= set("0123456789abcdef")
