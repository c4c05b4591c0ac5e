"""The fixture language itself: schemas without `$schema`, the typed model parsed at load and the
meta-schema that documents it, `extends`, and the order every built-in fixture is written in."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from emulator.cli import main
from tests.conftest import MakeApi

ACME = Path(__file__).parent / "data" / "acme"
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

