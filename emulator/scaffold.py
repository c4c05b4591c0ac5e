"""`webhook-emulator new-provider NAME [DIR]`: a working skeleton of a provider (its fixture, its
schema set under the regular names, and a pytest file) that passes `check`, serves its CRUD routes
and fires a signed event. The author replaces each `[default]` with what the provider's docs show."""

from __future__ import annotations

import re
from pathlib import Path

NAME = re.compile(r"^[a-z][a-z0-9_-]*$")  # the meta-schema's pattern for a provider's name
SCHEMA = '"$schema": "https://json-schema.org/draft/2020-12/schema"'

FIXTURE = r"""# @title@: a skeleton written by `webhook-emulator new-provider @name@`. Every choice in it is a
# [default]; replace each with what the provider's public docs show ([doc], citing the repository
# and path or the URL) or what a client of its API relies on ([client]). docs/fixtures.md explains
# every key; `webhook-emulator check` says what is wrong, one line per problem.
name: @name@
title: @title@
prefixes: [/@name@/]
trailing_slash: optional

auth:
  # Any non-empty bearer key is accepted (`--credentials` limits them) [default].
  credentials:
    - {header: Authorization, pattern: '^Bearer\s+(?P<key>\S+)$'}

errors:
  schema: error.json
  body: {error: {status: "{status}", message: "{message}"}}
  kinds:
    unauthorized: {status: 401, message: Missing or invalid API key}
    not_found: {status: 404, message: Not found}
    validation: {status: 422, message: "{detail}"}
  messages:
    required: "{field} is required"
    format: "{field} must be an http(s) URL"
    enum: "{field}: {value} is not an event"

resource:
  name: webhook
  schema: webhook.json
  id: uuid4
  fields:
    id: {from: id}
    url: {}
    events: {}
    secret: {generate: {token: 32, alphabet: hex}, writable: false}
    created_at: {from: created, format: iso_seconds}

list:
  body: {data: "{items}", total: "{count}"}
  paging: {style: offset, offset: offset, limit: limit}

routes:
  - {method: GET, path: /@name@/webhooks, action: list, response: list.json}
  - {method: POST, path: /@name@/webhooks, action: create, status: 201, request: create.json, response: webhook.json}
  - {method: GET, path: "/@name@/webhooks/{id}", action: retrieve, response: webhook.json}
  - {method: PATCH, path: "/@name@/webhooks/{id}", action: update, request: update.json, response: webhook.json}
  - {method: DELETE, path: "/@name@/webhooks/{id}", action: delete, status: 204}

# Each event's sample; `fresh` variables are made anew for every firing.
events:
  id: uuid4
  fresh:
    object_id: uuid4
    now: {time: iso_seconds}
  catalogue:
    example.created: {schema: event-example.json, sample: {id: "{object_id}", created_at: "{now}"}}

# Every webhook whose `events` holds the event gets it, signed with its own secret.
delivery:
  subscribers: {field: events, match: contains}
  url_field: url
  body: {id: "{event_id}", type: "{event}", data: "{payload}"}
  signature: {scheme: hmac-sha256, header: @header@, secret_field: secret, value: "sha256={digest}"}
  retry: {retries: 3, backoff: exponential, initial: 1, factor: 2}
  timeout: 10
"""

TEST = r'''"""@title@ against the emulator: its CRUD routes and a signed event. Written by
`webhook-emulator new-provider @name@`; run it with `pytest @test@` and keep it in step with the
fixture beside it."""

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from pathlib import Path

FIXTURES = Path(__file__).parent
AUTH = {"Authorization": "Bearer any-key"}


def call(emulator, method, path, body=None):
    """One request to the provider's API: (status, parsed JSON or None)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(emulator.url + path, data=data, method=method,
                                     headers={**AUTH, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    return status, json.loads(raw) if raw else None


def test_crud(webhook_emulator_factory):
    emulator = webhook_emulator_factory(fixtures=[FIXTURES])
    status, hook = call(emulator, "POST", "/@name@/webhooks",
                        {"url": "https://example.com/hook", "events": ["example.created"]})
    assert status == 201 and hook["url"] == "https://example.com/hook"
    assert call(emulator, "GET", "/@name@/webhooks") == (200, {"data": [hook], "total": 1})
    path = "/@name@/webhooks/" + hook["id"]
    assert call(emulator, "PATCH", path, {"url": "https://example.com/new"})[1]["url"] == "https://example.com/new"
    assert call(emulator, "DELETE", path) == (204, None)
    assert call(emulator, "GET", path)[0] == 404
    assert call(emulator, "POST", "/@name@/webhooks", {"events": ["nope"]})[0] == 422


def test_a_signed_event(webhook_emulator_factory, webhook_receiver):
    emulator = webhook_emulator_factory(fixtures=[FIXTURES])
    status, hook = call(emulator, "POST", "/@name@/webhooks",
                        {"url": webhook_receiver.url_for("/hook"), "events": ["example.created"]})
    assert status == 201
    [delivery] = emulator.fire("@name@", "example.created", wait=True)
    [received] = webhook_receiver.wait_for(1)
    assert delivery["status"] == "delivered" and received.json["type"] == "example.created"
    headers = {k.lower(): v for k, v in received.headers.items()}
    expected = "sha256=" + hmac.new(hook["secret"].encode(), received.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["@header_lower@"], expected)
'''


def _schemas(name: str) -> dict[str, str]:
    """The schema set, by file name: create, update, the object, the list page, the error, the
    event names, and one event's payload."""
    events = '{"type": "array", "minItems": 1, "items": {"$ref": "events.json"}}'
    url = '{"type": "string", "format": "http-url"}'
    return {
        "create.json": f'{{{SCHEMA}, "title": "{name} webhook: create body", "type": "object",\n'
                       f' "required": ["url", "events"],\n "properties": {{"url": {url}, "events": {events}}}}}\n',
        "update.json": f'{{{SCHEMA}, "title": "{name} webhook: update body", "type": "object",\n'
                       f' "properties": {{"url": {url}, "events": {events}}}}}\n',
        "webhook.json": f'{{{SCHEMA}, "title": "{name} webhook", "type": "object",\n'
                        ' "required": ["id", "url", "events", "secret", "created_at"], "additionalProperties": false,\n'
                        ' "properties": {"id": {"type": "string"}, "url": {"type": "string"}, '
                        '"events": {"type": "array", "items": {"$ref": "events.json"}},\n'
                        '                "secret": {"type": "string", "pattern": "^[0-9a-f]{32}$"}, '
                        '"created_at": {"type": "string", "format": "date-time"}}}\n',
        "list.json": f'{{{SCHEMA}, "title": "{name} webhooks: a list page", "type": "object",\n'
                     ' "required": ["data", "total"],\n'
                     ' "properties": {"data": {"type": "array", "items": {"$ref": "webhook.json"}}, '
                     '"total": {"type": "integer"}}}\n',
        "error.json": f'{{{SCHEMA}, "title": "{name} error", "type": "object", "required": ["error"],\n'
                      ' "properties": {"error": {"type": "object", "required": ["status", "message"],\n'
                      '  "properties": {"status": {"type": "integer"}, "message": {"type": "string"}}}}}\n',
        "events.json": f'{{{SCHEMA}, "title": "{name} event name", "enum": ["example.created"]}}\n',
        "event-example.json": f'{{{SCHEMA}, "title": "{name} example.created payload", "type": "object",\n'
                              ' "required": ["id", "created_at"],\n'
                              ' "properties": {"id": {"type": "string"}, "created_at": {"type": "string"}}}\n',
    }


def skeleton(name: str, folder: Path) -> dict[Path, str]:
    """Every file of a new provider `name` in `folder`, with its text."""
    title = name.replace("_", " ").replace("-", " ").title()
    header = f"X-{title.replace(' ', '-')}-Signature"
    test = folder / f"test_{name.replace('-', '_')}.py"
    words = {"@name@": name, "@title@": title, "@header@": header, "@header_lower@": header.lower(),
             "@test@": str(test)}
    files = {folder / f"{name}.yaml": FIXTURE, test: TEST}
    files.update({folder / "schemas" / name / file: text for file, text in _schemas(name).items()})
    for path, text in files.items():
        for word, value in words.items():
            text = text.replace(word, value)
        files[path] = text
    return files


def built_in_names() -> set[str]:
    """The names of the built-in providers."""
    from emulator.engine.provider import data_dir, fixture_files, read_yaml

    docs = (read_yaml(path, ScaffoldError) for path in fixture_files(data_dir() / "fixtures"))
    return {doc["name"] for doc in docs if isinstance(doc, dict) and isinstance(doc.get("name"), str)}


class ScaffoldError(Exception):
    """The skeleton cannot be written; the message is one line."""


def write_skeleton(name: str, folder: Path, force: bool = False) -> list[Path]:
    """Write a new provider's skeleton into `folder`; ScaffoldError for a bad name, and for a built-in
    provider's name or a file that exists already unless `force`. Returns the files written."""
    if not NAME.match(name):
        raise ScaffoldError(f"{name!r} is not a provider name: lowercase letters, digits, _ and -, "
                            "starting with a letter")
    if name in built_in_names() and not force:
        raise ScaffoldError(f"{name!r} is the name of a built-in provider: a provider of that name would replace it "
                            "(choose another name, or --force to replace it)")
    files = skeleton(name, folder)
    existing = [path for path in files if path.exists()]
    if existing and not force:
        raise ScaffoldError(f"{existing[0]} exists already (--force overwrites it)")
    for path, text in files.items():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ScaffoldError(f"{path}: cannot write: {exc.strerror or exc}") from None
    return list(files)
