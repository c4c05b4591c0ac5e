"""A sixth provider from data alone (examples/acme: one YAML file and its schemas): served
beside the built-in five, with CRUD, its own errors, and signed deliveries; and broken fixtures
stop start-up with one clear line."""

from __future__ import annotations

import hashlib
import hmac
import shutil
from pathlib import Path

import pytest

from emulator import create_app
from emulator.engine.provider import FixtureError, load_providers
from emulator.receiver import Receiver
from emulator.settings import Settings
from tests.conftest import Api, MakeApi

ACME = Path(__file__).parent.parent / "examples" / "acme"
AUTH = {"Authorization": "Bearer acme-key"}


@pytest.fixture
async def acme(make_api: MakeApi) -> Api:
    return await make_api(fixtures=[ACME], time_scale=1e-6)


async def test_health_lists_the_sixth_provider(acme: Api) -> None:
    assert "acme" in (await acme.get("/_emulator/health")).json["providers"]


async def test_crud_from_data_alone(acme: Api) -> None:
    created = await acme.post("/acme/hooks", json={"target": "https://x.io/h", "topics": ["anvil.dropped"]},
                              headers=AUTH)
    assert created.status == 201
    hook = created.json
    assert list(hook) == ["id", "target", "topics", "secret", "created"]
    assert (await acme.get("/acme/hooks", headers=AUTH)).json == {"data": [hook], "total": 1}
    path = f"/acme/hooks/{hook['id']}"
    patched = await acme.patch(path, json={"target": "https://x.io/new"}, headers=AUTH)
    assert patched.json == {**hook, "target": "https://x.io/new"}
    assert (await acme.delete(path, headers=AUTH)).status == 204
    missing = await acme.get(path, headers=AUTH)
    assert (missing.status, missing.json) == (404, {"error": {"code": 404, "message": "no such hook"}})


async def test_its_own_errors(acme: Api) -> None:
    unauthorized = await acme.get("/acme/hooks")
    assert unauthorized.json == {"error": {"code": 401, "message": "missing key"}}
    invalid = await acme.post("/acme/hooks", json={"target": "https://x.io/h", "topics": ["x"]}, headers=AUTH)
    assert invalid.status == 422 and "topics.0" in invalid.json["error"]["message"]


async def test_its_deliveries_are_signed_as_its_fixture_says(acme: Api, receiver: Receiver) -> None:
    hook = (await acme.post("/acme/hooks", json={"target": receiver.url_for("/hook"), "topics": ["anvil.dropped"]},
                            headers=AUTH)).json
    [delivery] = (await acme.post("/_emulator/events", json={"provider": "acme", "event": "anvil.dropped",
                                                             "wait": True})).json["deliveries"]
    assert delivery["status"] == "delivered"
    [received] = receiver.received
    expected = "sha256=" + hmac.new(hook["secret"].encode(), received.body, hashlib.sha256).hexdigest()
    assert received.headers["Acme-Signature"] == expected
    assert received.body.startswith(b'{"id":"' + delivery["event_ids"][0].encode())


def test_built_in_providers_stay_alongside() -> None:
    providers = load_providers([ACME])
    assert set(providers) == {"acme", "paybook", "syncfy", "shareactor", "gigapay", "centry"}


@pytest.mark.parametrize(("edit", "message"), [
    (lambda text: text.replace("action: list", "action: lsit"), "at $.routes[0].action: 'lsit' is not one of"),
    (lambda text: text.replace("response: webhook.json}", "response: nope.json}", 1), "schema 'nope.json' not found"),
    (lambda text: text.replace("prefixes: [/acme/]\n", ""), "'prefixes' is a required property"),
    (lambda text: text + "  : [\n", "invalid YAML"),
    (lambda text: text[:text.index("\nevents:")] + text[text.index("\ndelivery:"):],
     "'events' is a dependency of 'delivery'"),
    (lambda text: text[:text.index("\ndelivery:")].replace("action: delete,", "action: simulate,"),
     "'simulate' needs a delivery section"),
])
def test_a_broken_fixture_stops_start_up_with_one_line(tmp_path: Path, edit: object, message: str) -> None:
    broken = tmp_path / "acme"
    shutil.copytree(ACME, broken)
    fixture = broken / "acme.yaml"
    fixture.write_text(edit(fixture.read_text()))  # type: ignore[operator]
    with pytest.raises(FixtureError) as raised:
        create_app(Settings(fixtures=[broken]))
    first, *others = str(raised.value).splitlines()
    assert first.startswith(str(fixture)) and message in first
    # Only the fixture without events has other problems, and says them too: its objects section
    # and events.json name an event it no longer has.
    assert sorted(others) == (sorted([
        f"{fixture}: at $.objects.events['anvil.dropped']: no event 'anvil.dropped' in the catalogue (name it by "
        "its canonical name)",
        f"{broken}/schemas/acme/events.json: event 'anvil.dropped' is not in the catalogue (or aliases) of {fixture}",
    ]) if "dependency" in message else [])


def test_a_broken_schema_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "acme"
    shutil.copytree(ACME, broken)
    (broken / "schemas" / "acme" / "webhook.json").write_text('{"type": "nonsense"}')
    with pytest.raises(FixtureError, match=r"webhook\.json: at \$\.type: invalid JSON Schema: "):
        load_providers([broken])


def test_a_missing_fixtures_dir_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="fixtures directory not found"):
        load_providers([tmp_path / "nowhere"])


@pytest.mark.parametrize("envelope", [
    '{request_id: "req-{rid}", code: "{status}", data: "{body}"}',  # a placeholder inside a longer string
    '{total: "{body.total}", data: "{body}"}',  # a dotted one
    '{rid: "{rid}", data: "{body}"}',  # whole values only (written from parts made once)
])
async def test_an_envelope_wraps_every_answer_the_same_for_programs_and_people(
        tmp_path: Path, make_api: MakeApi, envelope: str) -> None:
    wrapped = tmp_path / "acme"
    shutil.copytree(ACME, wrapped)
    fixture = wrapped / "acme.yaml"
    fixture.write_text(fixture.read_text().replace("\nerrors:", f"\nenvelope: {envelope}\nerrors:", 1))
    api = await make_api(fixtures=[wrapped])
    created = await api.post("/acme/hooks", json={"target": "https://x.io/h", "topics": ["anvil.dropped"]},
                             headers=AUTH, validate=False)
    assert created.status == 201, created.json
    answers = [await api.get("/acme/hooks", headers={**AUTH, **extra}, validate=False)
               for extra in ({}, {}, {"User-Agent": "curl/8.5.0"})]
    assert [a.status for a in answers] == [200, 200, 200]
    shown = [{k: v for k, v in a.json.items() if k not in ("rid", "request_id")} for a in answers]
    assert shown[0] == shown[1] == shown[2]
    assert shown[0]["data"]["total"] == 1
    if "total" in shown[0]:
        assert shown[0]["total"] == 1
    if "request_id" in answers[0].json:
        assert answers[0].json["request_id"].startswith("req-") and answers[0].json["code"] == 200
