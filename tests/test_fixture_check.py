"""`webhook-emulator check` (and start-up) catches what a provider author gets wrong beyond the
fixture's shape: a template placeholder its place does not offer, an `errors.messages` key the
engine never uses, an event catalogue that disagrees with events.json. Each problem is one line;
any problem is exit 2. And what the check accepts, the engine really fills."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web

from emulator.cli import main
from emulator.engine import fixture_lint
from emulator.engine.errors import DEFAULT_MESSAGE
from emulator.engine.provider import FixtureError
from emulator.engine.validation import DEFAULT_MESSAGES
from emulator.settings import Settings
from tests.conftest import MakeApi

EXAMPLE = Path(__file__).parent.parent / "examples" / "acme"
AUTH = {"Authorization": "Bearer acme-key"}


@pytest.fixture
def acme(tmp_path: Path) -> Path:
    """A copy of the example provider to break."""
    shutil.copytree(EXAMPLE, tmp_path / "acme")
    return tmp_path / "acme"


def edit(folder: Path, old: str, new: str) -> Path:
    """Replace `old` (which must be there) in the folder's acme.yaml."""
    fixture = folder / "acme.yaml"
    text = fixture.read_text()
    assert old in text
    fixture.write_text(text.replace(old, new, 1))
    return fixture


def check(folder: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """`webhook-emulator check FOLDER`: its exit status and its error lines (without `error: `)."""
    code = main(["check", str(folder)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert all(line.startswith("error: ") for line in lines)
    return code, [line.removeprefix("error: ") for line in lines]


def test_the_built_in_fixtures_and_the_example_pass(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(EXAMPLE)])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert [line.split()[1] for line in out.splitlines()] == ["centry", "gigapay", "paybook", "shareactor",
                                                              "syncfy", "acme"]


def test_a_typo_in_the_delivery_body_is_one_line(acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixture = edit(acme, 'data: "{payload}"', 'data: "{paylod}"')
    assert check(acme, capsys) == (2, [
        f"{fixture}: at $.delivery.body.data: unknown placeholder {{paylod}}; known: {{event}}, {{event_id}}, "
        "{rid}, {webhook.<field>}, {payload}, {anvil_id}"])


def test_a_typo_in_an_error_message_is_one_line(acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixture = edit(acme, "message: no such hook", 'message: "no such {hok}"')
    assert check(acme, capsys) == (2, [
        f"{fixture}: at $.errors.kinds.not_found.message: unknown placeholder {{hok}}; known: {{detail}}, {{method}}"])


def test_a_bad_errors_messages_key_is_one_line(acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixture = edit(acme, "\nresource:", "  messages: {requird: is needed, required: '{field} is needed'}\n\nresource:")
    code, [line] = check(acme, capsys)
    assert code == 2
    assert line.startswith(f"{fixture}: at $.errors.messages.requird: unknown message key 'requird'; known: ")
    assert {"required", "minItems", "type:array", "format:http-url", "unique", "sort"} <= set(
        line.split("; known: ")[1].split(", "))


def test_the_catalogue_and_events_json_must_agree(acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixture = edit(acme, "    anvil.dropped:", "    anvil.lifted: {sample: {weight_kg: 50}}\n    anvil.dropped:")
    events = acme / "schemas" / "acme" / "events.json"
    events.write_text(json.dumps({"$schema": "https://json-schema.org/draft/2020-12/schema",
                                  "enum": ["anvil.dropped", "anvil.painted"]}))
    assert check(acme, capsys) == (2, [
        f"{fixture}: at $.events.catalogue['anvil.lifted']: event 'anvil.lifted' is not in {events}",
        f"{events}: event 'anvil.painted' is not in the catalogue (or aliases) of {fixture}"])


def test_every_problem_of_a_folder_is_a_line_and_start_up_refuses_the_same(
        acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(acme, 'data: "{payload}"', 'data: "{paylod}", to: "{webhook.tagret}", all: "{entries}"')
    edit(acme, 'total: "{count}"', 'total: "{count}", next: "{next}"')
    edit(acme, 'path: "/acme/hooks/{id}", action: retrieve', 'path: "/acme/hooks/{hook_id}", action: retrieve')
    edit(acme, 'anvil: "{anvil_id}"', 'anvil: "{anvil}", at: "{now}"')
    edit(acme, 'value: "sha256={digest}"', 'value: "sha256={digest}", message: "{timestamp}.{body}.{digest}"')
    edit(acme, "  fresh:", "  aliases: {anvil.fell: anvil.fallen}\n  fresh:")
    code, lines = check(acme, capsys)
    assert code == 2
    assert [line.split(": at ")[1].split(": ")[0] for line in lines] == [
        "$.list.body.next", "$.routes[2].path", "$.events.catalogue['anvil.dropped'].sample.anvil",
        "$.events.catalogue['anvil.dropped'].sample.at", "$.events.aliases['anvil.fell']",
        "$.delivery.body.data", "$.delivery.body.to", "$.delivery.body.all", "$.delivery.signature.message",
        "$.events.aliases['anvil.fell']"]
    assert "unknown placeholder {webhook.tagret}; the webhook's fields: id, target, topics, secret, created" in lines[6]
    assert lines[-1].endswith("event 'anvil.fell' is not in " + str(acme / "schemas" / "acme" / "events.json"))
    with pytest.raises(FixtureError) as refused:
        from emulator import create_app
        create_app(Settings(fixtures=[acme]))
    assert str(refused.value).splitlines() == lines
    assert main(["serve", "--fixtures", str(acme), "--port", "0"]) == 2
    served = capsys.readouterr().err
    assert all(line in served for line in lines) and "Traceback" not in served


def test_the_engine_s_own_defaults_pass_the_check() -> None:
    """The check's lists and the engine's defaults agree: every default message's key is a known
    key, and its placeholders are among those the key offers."""
    for key, template in DEFAULT_MESSAGES.items():
        names = fixture_lint.message_names(key)
        assert names is not None, key
        assert {m.group(1) for m in fixture_lint.PLACEHOLDER.finditer(template)} <= set(names), key
    for template in DEFAULT_MESSAGE.values():
        used = {m.group(1) for m in fixture_lint.PLACEHOLDER.finditer(template)}
        assert used <= set(fixture_lint.ERROR_MESSAGE.names)


def leftovers(answer: bytes) -> list[str]:
    """The placeholders left in a JSON answer's strings."""
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            found.extend(m.group(0) for m in fixture_lint.PLACEHOLDER.finditer(value))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(json.loads(answer))
    return found


def every(names: object, skip: tuple[str, ...] = ()) -> str:
    """A YAML mapping that uses each name once (`webhook` as `{webhook.target}`)."""
    return "{" + ", ".join(f"{n}: '{{{n}.target}}'" if n == "webhook" else f"{n}: '{{{n}}}'"
                           for n in names if n not in skip) + "}"  # type: ignore[attr-defined]


def uses(names: tuple[str, ...]) -> str:
    """A message that uses each name once."""
    return " ".join(f"{{{n}}}" for n in names)


async def test_every_placeholder_the_check_offers_is_filled(acme: Path, make_api: MakeApi,
                                                          aiohttp_server: Callable[..., object]) -> None:
    """Templates that use every name the check offers in their place come out with none left."""
    lint = fixture_lint
    edit(acme, 'body: {error: {code: "{status}", message: "{message}"}}', f"body: {every(lint.ERROR_BODY.names)}")
    edit(acme, "message: no such hook", 'message: "{method} {detail}"')
    edit(acme, "\nresource:", f"  messages: {{required: '{uses(lint.SCHEMA_VALUES)}', 'type:array': "
         f"'{uses(lint.TYPE_VALUES)}', not_object: '{uses(lint.ENGINE_MESSAGES['not_object'])}'}}\nresource:")
    edit(acme, 'body: {data: "{items}", total: "{count}"}', f"body: {every(lint.LIST_BODY.names, lint.LINK_NAMES)}")
    edit(acme, "\nerrors:", f"\nenvelope: {every(lint.ENVELOPE.names)}\nerrors:")
    edit(acme, 'sample: {type: "{event}", anvil: "{anvil_id}", weight_kg: 50}',
         f"sample: {every([*lint.EVENT_SAMPLE.names, 'anvil_id'])}")
    edit(acme, 'body: {id: "{event_id}", data: "{payload}"}',
         f"entry: {every([*lint.DELIVERY_ENTRY.names, 'anvil_id'])}\n"
         f"  body: {every([*lint.DELIVERY_BODY.names, 'anvil_id'])}")
    edit(acme, 'value: "sha256={digest}"', "value: '{timestamp} {rid} {body_sha256} {digest}', "
         "message: '{timestamp} {rid} {body_sha256} {body}'")
    api = await make_api(fixtures=[acme], time_scale=1e-6)
    received: list[web.Request] = []
    bodies: list[bytes] = []

    async def handle(request: web.Request) -> web.Response:
        received.append(request)
        bodies.append(await request.read())
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", handle)
    server = await aiohttp_server(app)  # type: ignore[operator]
    url = str(server.make_url("/hook"))  # type: ignore[attr-defined]
    created = await api.post("/acme/hooks", json={"target": url, "topics": ["anvil.dropped"]}, headers=AUTH,
                             validate=False)
    answers = [created, await api.get("/acme/hooks", headers=AUTH, validate=False),
               await api.get("/acme/hooks/nope", headers=AUTH, validate=False),
               await api.post("/acme/hooks", json={"topics": "x"}, headers=AUTH, validate=False),
               await api.post("/acme/hooks", json=[], headers=AUTH, validate=False)]
    fired = await api.post("/_emulator/events", json={"provider": "acme", "event": "anvil.dropped", "wait": True})
    assert [a.status for a in answers] == [201, 200, 404, 422, 422]
    assert fired.json["deliveries"][0]["status"] == "delivered"
    assert [leftovers(a.raw) for a in answers] == [[]] * 5 and leftovers(bodies[0]) == []
    assert "{" not in received[0].headers["Acme-Signature"]
    assert json.loads(bodies[0])["webhook"] == url and json.loads(answers[2].raw)["message"] == "GET "
