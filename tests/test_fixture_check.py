"""`webhook-emulator check` (and start-up) catches what a provider author gets wrong beyond the
fixture's shape: a template placeholder its place does not offer, an `errors.messages` key the
engine never uses, an event catalogue that disagrees with events.json. Each problem is one line;
any problem is exit 2. And what the check accepts, the engine really fills."""

from __future__ import annotations

import dataclasses
import json
import shutil
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import UnionType

import pytest

from emulator.cli import main
from emulator.engine import fixture_lint
from emulator.engine.errors import DEFAULT_MESSAGE
from emulator.engine.model import Fixture, yaml_key
from emulator.engine.provider import FixtureError, read_yaml
from emulator.engine.validation import DEFAULT_MESSAGES
from emulator.receiver import Receiver
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
    assert line.startswith(f"{fixture}: at $.errors.messages.requird: unknown message key 'requird' "
                           "(did you mean 'required'?); known: ")
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
                                                          receiver: Receiver) -> None:
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
    url = receiver.url_for("/hook")
    created = await api.post("/acme/hooks", json={"target": url, "topics": ["anvil.dropped"]}, headers=AUTH,
                             validate=False)
    answers = [created, await api.get("/acme/hooks", headers=AUTH, validate=False),
               await api.get("/acme/hooks/nope", headers=AUTH, validate=False),
               await api.post("/acme/hooks", json={"topics": "x"}, headers=AUTH, validate=False),
               await api.post("/acme/hooks", json=[], headers=AUTH, validate=False)]
    # (the sample names no anvil: the data gives the fields its object needs, or the firing is refused)
    fired = await api.post("/_emulator/events", json={"provider": "acme", "event": "anvil.dropped", "wait": True,
                                                      "data": {"anvil": "a1", "weight_kg": 50}})
    assert [a.status for a in answers] == [201, 200, 404, 422, 422]
    assert fired.json["deliveries"][0]["status"] == "delivered"
    [received] = receiver.received
    assert [leftovers(a.raw) for a in answers] == [[]] * 5 and leftovers(received.body) == []
    assert "{" not in received.headers["Acme-Signature"]
    assert received.json["webhook"] == url and json.loads(answers[2].raw)["message"] == "GET "


# -- what used to pass the check and fail later --------------------------------------------------------

def schema(folder: Path, name: str, old: str, new: str) -> Path:
    """Replace `old` (which must be there) in one of the folder's acme schemas."""
    path = folder / "schemas" / "acme" / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return path


def serve_refuses(folder: Path, lines: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """`serve --fixtures FOLDER` refuses with the check's lines, each prefixed alike, and exit 2."""
    assert main(["serve", "--fixtures", str(folder), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.splitlines() == [f"error: {line}" for line in lines]


def test_a_ref_to_a_missing_file_is_one_line_naming_the_file_and_the_ref(
        acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    create = schema(acme, "create.json", '"items": {"$ref": "events.json"}', '"items": {"$ref": "event.json"}')
    lines = [f"{create}: at $.properties.topics.items['$ref']: the $ref 'event.json' names nothing: there is no "
             "event.json beside it (the provider's schemas: create.json, error.json, events.json, list.json, "
             "object-anvil-list.json, object-anvil.json, update.json, webhook.json)"]
    assert check(acme, capsys) == (2, lines)
    serve_refuses(acme, lines, capsys)


def test_a_ref_elsewhere_or_into_nothing_is_never_fetched(acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    create = schema(acme, "create.json", '"items": {"$ref": "events.json"}',
                    '"items": {"$ref": "https://example.com/events.json"}')
    update = schema(acme, "update.json", '"items": {"$ref": "events.json"}', '"items": {"$ref": "events.json#/no"}')
    assert check(acme, capsys) == (2, [
        f"{create}: at $.properties.topics.items['$ref']: the $ref 'https://example.com/events.json' names nothing: "
        "it is not one of the provider's schema files (schemas are never fetched)",
        f"{update}: at $.properties.topics.items['$ref']: the $ref 'events.json#/no' names nothing: events.json "
        "has no '#/no'"])


def test_an_unknown_dialect_is_one_line_and_nothing_is_fetched(acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    update = schema(acme, "update.json", "https://json-schema.org/draft/2020-12/schema", "https://example.com/my-schema")
    assert check(acme, capsys) == (2, [
        f"{update}: at $['$schema']: unknown dialect 'https://example.com/my-schema': write \"$schema\": "
        "\"https://json-schema.org/draft/2020-12/schema\" or leave it out (a schema without one is read as draft "
        "2020-12; nothing is fetched)"])


def test_every_key_that_names_a_field_names_one(acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixture = edit(acme, "  url_field: target", "  url_field: tagret\n  headers_field: headers\n  group_field: target")
    edit(acme, "subscribers: {field: topics, match: contains}",
         "subscribers: {field: topic, match: contains, skip_when: {disabled: true}}")
    edit(acme, "secret_field: secret", "secret_field: secrets")
    edit(acme, "  retry:", "  failure_counter: {field: failures, limit: 3, then: {paused: true}}\n  retry:")
    edit(acme, "  paging:", "  sort: {param: order, default: -made, keys: {made: created, aim: target, x: nope}}\n"
         "  paging:")
    edit(acme, "\nlist:", "\nviews:\n  short: {omit: [secret, secrte], fields: {creatd: {format: unix_ms}}}\n\nlist:")
    edit(acme, "  id: uuid4\n", "  id: uuid4\n  scope: {field: topix, unscoped: x}\n")
    code, lines = check(acme, capsys)
    fields = "; its fields: id, target, topics, secret, created"
    assert code == 2
    assert [line.removeprefix(f"{fixture}: at ") for line in lines] == [
        f"$.resource.scope.field: no field named 'topix' in $.resource.fields (did you mean 'topics'?){fields}",
        f"$.views.short.omit[1]: no field named 'secrte' in $.resource.fields (did you mean 'secret'?){fields}",
        f"$.views.short.fields.creatd: no field named 'creatd' in $.resource.fields (did you mean 'created'?)"
        f"{fields}",
        f"$.list.sort.keys.x: no field named 'nope' in $.resource.fields{fields}, created, updated",
        f"$.delivery.subscribers.field: no field named 'topic' in $.resource.fields (did you mean 'topics'?)"
        f"{fields}",
        f"$.delivery.subscribers.skip_when.disabled: no field named 'disabled' in $.resource.fields{fields}",
        f"$.delivery.url_field: no field named 'tagret' in $.resource.fields (did you mean 'target'?){fields}",
        f"$.delivery.headers_field: no field named 'headers' in $.resource.fields{fields}",
        f"$.delivery.signature.secret_field: no field named 'secrets' in $.resource.fields (did you mean "
        f"'secret'?){fields}",
        f"$.delivery.failure_counter.field: no field named 'failures' in $.resource.fields{fields}",
        f"$.delivery.failure_counter.then.paused: no field named 'paused' in $.resource.fields{fields}"]


def _model_keys(cls: type, prefix: str) -> Iterator[tuple[str, str]]:
    """Each (key path in FIELD_KEYS' form, model field name) under a model dataclass."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        path = f"{prefix}.{yaml_key(f)}".removeprefix(".")
        yield path, f.name
        tp = hints[f.name]
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if typing.get_origin(tp) in (UnionType, typing.Union):
            tp, args = args[0], [a for a in typing.get_args(args[0]) if a is not type(None)]
        if dataclasses.is_dataclass(tp):
            yield from _model_keys(tp, path)  # type: ignore[arg-type]
        elif typing.get_origin(tp) is tuple and dataclasses.is_dataclass(args[0]):
            yield from _model_keys(args[0], path + ".[]")
        elif typing.get_origin(tp) is Mapping and dataclasses.is_dataclass(args[1]):
            yield from _model_keys(args[1], path + ".*")


def test_every_key_of_the_model_that_names_a_field_is_checked() -> None:
    naming = {path for path, name in _model_keys(Fixture, "") if name == "field" or name.endswith("_field")}
    assert naming and naming <= {key.removesuffix(".<key>") for key in fixture_lint.FIELD_KEYS}


def test_regexes_and_time_zones_are_compiled_at_load(acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixture = edit(acme, r"pattern: '^Bearer\s+(?P<key>\S+)$'", r"pattern: '^Key (?P<ky>.+'")
    edit(acme, "\n    - {header: Authorization", "\n    - {query: key, pattern: '^(?P<ky>.+)$'}\n"
         "    - {header: Authorization")
    edit(acme, "format: unix}", "format: unix, tz: Europe/Paaris}")
    edit(acme, "fresh: {anvil_id: uuid4}", "fresh: {anvil_id: uuid4, at: {time: iso_seconds, tz: Mars/Olympus}}")
    edit(acme, "  id: uuid4\n", "  id: uuid4\n  scope: {field: topics, unscoped: '[a-'}\n")
    webhook = schema(acme, "webhook.json", '"pattern": "^[0-9a-f]{16}$"', '"pattern": "^([0-9a-f]{16}$"')
    lines = [
        f"{webhook}: at $.properties.secret.pattern: not a regular expression: missing ), unterminated subpattern "
        "at position 1",
        f"{fixture}: at $.auth.credentials[0].pattern: no (?P<key>...) group: the credential is what that group "
        "matches",
        f"{fixture}: at $.auth.credentials[1].pattern: not a regular expression: missing ), unterminated subpattern "
        "at position 5",
        f"{fixture}: at $.resource.scope.unscoped: not a regular expression: unterminated character set at "
        "position 0",
        f"{fixture}: at $.resource.fields.created.tz: no time zone named 'Europe/Paaris' (an IANA name such as "
        "Europe/Madrid, or UTC)",
        f"{fixture}: at $.events.fresh.at.tz: no time zone named 'Mars/Olympus' (an IANA name such as "
        "Europe/Madrid, or UTC)"]
    assert check(acme, capsys) == (2, lines)
    serve_refuses(acme, lines, capsys)


def test_a_shape_error_hides_no_other_problem(acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixture = edit(acme, "trailing_slash: optional", "trailing_slash: sometimes")
    edit(acme, "message: no such hook", 'message: "no such {hok}"')
    edit(acme, "  kinds:", "  messages: {requird: x}\n  kinds:")
    edit(acme, "    anvil.dropped:", "    anvil.lifted: {sample: {}}\n    anvil.dropped:")
    code, lines = check(acme, capsys)
    assert code == 2
    assert [line.removeprefix(f"{fixture}: ").split(": ")[0] for line in lines] == [
        "at $.trailing_slash", "at $.errors.kinds.not_found.message", "at $.errors.messages.requird",
        "at $.events.catalogue['anvil.lifted']"]


@pytest.mark.parametrize("section", ["auth", "errors", "resource", "list", "routes", "events", "delivery", "views"])
@pytest.mark.parametrize("value", ["x", 1, [], [1, "x"], {"a": 1}, None])
def test_a_section_of_any_shape_is_reported_not_a_crash(acme: Path, section: str, value: object) -> None:
    """Every part of the check reads a malformed section as nothing to check (the meta-schema says what is wrong)."""
    raw = {**read_yaml(acme / "acme.yaml", ValueError), section: value}
    for key in ("credentials", "kinds", "messages", "fields", "sort", "catalogue", "fresh", "subscribers",
                "signature", "failure_counter"):
        broken = {**raw, section: {key: value}}
        fixture_lint.fixture_problems(acme / "acme.yaml", broken, acme / "schemas" / "acme")
    fixture_lint.fixture_problems(acme / "acme.yaml", raw, acme / "schemas" / "acme")


def test_an_event_sample_that_breaks_its_own_schema_is_one_line(acme: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    fixture = edit(acme, 'anvil.dropped: {sample:', "anvil.dropped: {schema: event-anvil.json, sample:")
    (acme / "schemas" / "acme" / "event-anvil.json").write_text(json.dumps({
        "type": "object", "required": ["anvil", "weight_kg", "to"],
        "properties": {"anvil": {"type": "string", "format": "uuid"}, "weight_kg": {"type": "string"},
                       "to": {"type": "string", "format": "http-url"}}}))
    edit(acme, 'weight_kg: 50}', 'weight_kg: 50, to: "{webhook.target}"}')
    where = f"{fixture}: at $.events.catalogue['anvil.dropped'].sample: filled as a firing fills it, it breaks"
    # The fresh uuid is a uuid; the number is not a string; a new webhook's target is null (it has no default).
    assert check(acme, capsys) == (2, [f"{where} event-anvil.json at $.weight_kg: 50 is not of type 'string'",
                                       f"{where} event-anvil.json at $.to: None is not of type 'string'"])


def test_routes_outside_the_prefixes_twice_served_and_names_used_twice(
        acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixture = edit(acme, "  - {method: DELETE,", "  - {method: GET, path: /other/hooks, action: list}\n"
                   "  - {method: GET, path: /acme/hooks, action: list}\n  - {method: DELETE,")
    assert check(acme, capsys) == (2, [
        f"{fixture}: at $.routes[4].path: /other/hooks is under none of the prefixes (/acme/): requests to it would "
        "never reach this provider",
        f"{fixture}: at $.routes[5]: GET /acme/hooks is served already by $.routes[0]"])
    edit(acme, "  - {method: GET, path: /other/hooks, action: list}\n  - {method: GET, path: /acme/hooks, action: "
         "list}\n", "")
    shutil.copy(fixture, acme / "acme-copy.yaml")
    assert check(acme, capsys) == (2, [
        f"{fixture}: at $.name: 'acme' is the name of {acme / 'acme-copy.yaml'} already (one of them would replace "
        "the other): give each provider its own name"])


async def test_the_standard_uri_format_is_enforced(acme: Path, make_api: MakeApi) -> None:
    schema(acme, "create.json", '"format": "http-url"', '"format": "uri"')
    api = await make_api(fixtures=[acme])
    body = {"topics": ["anvil.dropped"]}
    refused = await api.post("/acme/hooks", json={**body, "target": "not a url at all"}, headers=AUTH, validate=False)
    created = await api.post("/acme/hooks", json={**body, "target": "urn:acme:hook"}, headers=AUTH, validate=False)
    assert (refused.status, created.status) == (422, 201)
    assert refused.json["error"]["message"].startswith("target ")


def test_a_format_that_is_not_enforced_is_refused(acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    create = schema(acme, "create.json", '"format": "http-url"', '"format": "colour"')
    assert check(acme, capsys) == (2, [
        f"{create}: at $.properties.target.format: format 'colour' is not enforced; the enforced formats: date, "
        "date-time, django-url, email, header-name, header-value, hostname, http-url, idn-email, "
        "ipv4, ipv6, regex, time, uri, uri-reference, uuid"])


def test_a_placeholder_a_pattern_is_made_of_is_used_once(acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixture = edit(acme, 'path: "/acme/hooks/{id}", action: retrieve',
                   'path: "/acme/hooks/{id}/{id}", action: retrieve')
    edit(acme, 'value: "sha256={digest}"', 'value: "t={timestamp},sha256={digest},again={digest}"')
    assert check(acme, capsys) == (2, [
        f"{fixture}: at $.delivery.signature.value: {{digest}} more than once: a receiver could not read the header "
        "back",
        f"{fixture}: at $.routes[2].path: {{id}} more than once: a path names the webhook's id once"])


def test_the_built_in_fixtures_pass_every_check_that_serving_them_skips() -> None:
    # Serving reads the built-in fixtures without the lint, the schema files' checks and the
    # samples (start-up stays quick); this is where they are held to all of them.
    from emulator.engine.provider import load_providers

    thorough = load_providers([], check_builtin=True)
    assert sorted(thorough) == sorted(load_providers([])) == ["centry", "gigapay", "paybook", "shareactor", "syncfy"]


def test_an_object_list_under_time_filters_must_know_where_its_times_are(acme: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    fixture = edit(acme, "  paging: {style: offset, offset: offset, limit: limit}\n",
                   "  paging: {style: offset, offset: offset, limit: limit}\n  filters: {since: created}\n")
    assert check(acme, capsys) == (2, [
        f"{fixture}: at $.objects.kinds.anvil.times: the kind's lists take the provider's time filters: name the "
        "field that holds its 'created' time"])
    edit(acme, "      not_found: no such anvil\n",
         "      not_found: no such anvil\n      times: {created: dropped_at}\n")
    assert check(acme, capsys)[0] == 0


@pytest.mark.parametrize(("fmt", "bad", "message"), [
    ("http-url", "ftp://x.io/h", "target must be a valid http(s) URL"),
    ("uri", "not a url at all", "target must be a valid URI"),
    ("email", "nobody", "target must be a valid email"),
    ("date-time", "yesterday", "target must be a valid date-time"),
])
async def test_each_format_has_its_own_default_message(acme: Path, make_api: MakeApi, fmt: str, bad: str,
                                                       message: str) -> None:
    """A provider that words no `format` message gets one that names the format, not a URL's for all."""
    schema(acme, "create.json", '"format": "http-url"', f'"format": "{fmt}"')
    api = await make_api(fixtures=[acme])
    refused = await api.post("/acme/hooks", json={"topics": ["anvil.dropped"], "target": bad}, headers=AUTH,
                             validate=False)
    assert (refused.status, refused.json["error"]["message"]) == (422, message)
