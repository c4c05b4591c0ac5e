"""A body's Content-Type: without --strict every provider reads the body anyway (and the journal's
note says so); with --strict each answers a missing or wrong one as the real service does, as its
fixture's `content_types` word says (DRF's 415, Rails' unread body, a [default] 415)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Api, MakeApi
from tests.providers.clients import auth

ACME = Path(__file__).parent.parent / "examples" / "acme"
HOOK = json.dumps({"url": "https://example.com/h", "events": ["Payout.created"]})
TOKEN_CLIENT = {"grant_type": "client_credentials", "client_id": "my-app", "client_secret": "secret"}


async def send(api: Api, method: str, path: str, body: str | bytes, content_type: str | None,
               headers: dict[str, str]) -> Any:
    """`body` with exactly this Content-Type (None: no Content-Type header at all)."""
    sent = {**headers, **({"Content-Type": content_type} if content_type else {})}
    return await api.request(method, path, data=body, headers=sent, skip_auto_headers=["Content-Type"])


async def last_entry(api: Api) -> dict[str, Any]:
    return (await api.get("/_emulator/requests")).json["requests"][-1]


async def test_without_strict_a_text_plain_body_is_read_and_the_journal_says_so(api: Api) -> None:
    answer = await send(api, "POST", "/v2/webhooks/", HOOK, "text/plain", auth("gigapay", "T"))
    assert answer.status == 201
    assert (await last_entry(api))["note"] == (
        "gigapay reads only application/json, application/x-www-form-urlencoded, multipart/form-data bodies; this "
        "one has Content-Type text/plain: read anyway (--strict answers as gigapay would)")


@pytest.mark.parametrize(("content_type", "shown"), [("text/plain", "text/plain"), (None, ""),
                                                     ("text/plain; charset=utf-8", "text/plain; charset=utf-8")])
async def test_strict_gigapay_answers_drfs_415(make_api: MakeApi, content_type: str | None, shown: str) -> None:
    api = await make_api(strict=True, credentials={"gigapay": ["T"]})
    answer = await send(api, "POST", "/v2/webhooks/", HOOK, content_type, auth("gigapay", "T"))
    assert (answer.status, answer.json) == (415, {"detail": f'Unsupported media type "{shown}" in request.'})
    entry = await last_entry(api)
    sent = f"Content-Type {content_type}" if content_type else "no Content-Type"
    assert entry["reason"] == ("unsupported_media_type: --strict: gigapay reads only application/json, "
                               f"application/x-www-form-urlencoded, multipart/form-data bodies; this one has {sent}")
    assert entry["request_body"] == HOOK


async def test_strict_reads_json_with_a_charset_and_checks_credentials_first(make_api: MakeApi) -> None:
    api = await make_api(strict=True, credentials={"gigapay": ["T"]})
    created = await send(api, "POST", "/v2/webhooks/", HOOK, "Application/JSON; charset=utf-8", auth("gigapay", "T"))
    assert created.status == 201
    assert (await last_entry(api))["note"] is None
    unauthenticated = await send(api, "POST", "/v2/webhooks/", HOOK, "text/plain", {})
    assert unauthenticated.status == 401  # DRF authenticates before it parses the body


async def test_strict_reads_json_labelled_as_a_form_as_a_form(make_api: MakeApi) -> None:
    api = await make_api(strict=True, credentials={"gigapay": ["T"]})
    answer = await send(api, "POST", "/v2/webhooks/", HOOK, "application/x-www-form-urlencoded", auth("gigapay", "T"))
    assert answer.status == 400
    assert answer.json["url"] == ["This field is required."]
    lenient = await make_api()
    read = await send(lenient, "POST", "/v2/webhooks/", HOOK, "application/x-www-form-urlencoded", auth("gigapay", "T"))
    assert read.status == 201  # curl -d's label: read as the JSON it is


async def test_strict_centry_does_not_read_a_body_it_cannot_parse(make_api: MakeApi) -> None:
    api = await make_api(strict=True, credentials={"centry": ["my-app:secret"]})
    token = (await api.post("/oauth/token", json=TOKEN_CLIENT)).json["access_token"]
    body = json.dumps({"callback_url": "https://example.com/c", "on_order_save": True})
    answer = await send(api, "POST", "/conexion/v1/webhooks.json", body, "text/plain",
                        {"Authorization": f"Bearer {token}"})
    assert answer.status == 422 and "callback_url" in answer.json["error"]
    assert (await last_entry(api))["note"] == (
        "--strict: centry reads only application/json, application/x-www-form-urlencoded, multipart/form-data "
        "bodies; this one has Content-Type text/plain: not read, its fields are missing")
    created = await send(api, "POST", "/conexion/v1/webhooks.json", body, "application/json",
                         {"Authorization": f"Bearer {token}"})
    assert created.status == 200


async def test_strict_paybook_reads_json_and_forms_and_refuses_the_rest(make_api: MakeApi) -> None:
    api = await make_api(strict=True, credentials={"paybook": ["K"]})
    form = await send(api, "POST", "/v1/webhooks", "api_key=K&url=https://example.com/p&events=refresh",
                      "application/x-www-form-urlencoded", {})
    assert form.status == 200 and form.json["response"]["url"] == "https://example.com/p"
    body = json.dumps({"url": "https://example.com/p", "events": ["refresh"]})
    refused = await send(api, "POST", "/v1/webhooks", body, "text/plain", auth("paybook", "K"))
    assert refused.status == 415
    assert (refused.json["code"], refused.json["status"], refused.json["message"]) == (415, False,
                                                                                      "Unsupported Media Type")


async def test_strict_shareactor_refuses_a_form(make_api: MakeApi) -> None:
    api = await make_api(strict=True, credentials={"shareactor": ["K"]})
    answer = await send(api, "POST", "/webhooks", "endpoint=https://example.com/s&event_type=order.created",
                        "application/x-www-form-urlencoded", auth("shareactor", "K", jwt="J"))
    assert answer.status == 415 and answer.json["status"] == 415


async def test_strict_leaves_calls_without_a_body_alone(make_api: MakeApi) -> None:
    api = await make_api(strict=True, credentials={"gigapay": ["T"]})
    created = (await api.post("/v2/webhooks/", data=HOOK, headers={**auth("gigapay", "T"),
                                                                    "Content-Type": "application/json"})).json
    assert (await send(api, "GET", "/v2/webhooks/", b"", None, auth("gigapay", "T"))).status == 200
    assert (await send(api, "DELETE", f"/v2/webhooks/{created['id']}/", b"", None, auth("gigapay", "T"))).status == 204


async def test_a_fixture_can_say_its_service_is_lenient(tmp_path: Path, make_api: MakeApi) -> None:
    folder = tmp_path / "acme"
    shutil.copytree(ACME, folder)
    fixture = folder / "acme.yaml"
    text = fixture.read_text()
    fixture.write_text(text.replace("\nauth:\n", "\ncontent_types: {strict_error: lenient}\n\nauth:\n", 1))
    body = json.dumps({"target": "https://x.io/h", "topics": ["anvil.dropped"]})
    headers = {"Authorization": "Bearer acme-key"}
    lenient = await make_api(fixtures=[folder], strict=True, credentials={"acme": ["acme-key"]})
    assert (await send(lenient, "POST", "/acme/hooks", body, "text/plain", headers)).status == 201
    assert (await last_entry(lenient))["note"].endswith("this one has Content-Type text/plain: read anyway")
    fixture.write_text(text)
    default = await make_api(fixtures=[tmp_path / "acme"], strict=True, credentials={"acme": ["acme-key"]})
    refused = await send(default, "POST", "/acme/hooks", body, "text/plain", headers)
    assert (refused.status, refused.json) == (415, {"error": {"code": 415, "message": "Unsupported Media Type"}})


async def test_without_strict_json_labelled_as_a_form_is_read_as_json_and_the_journal_says_so(api: Api) -> None:
    answer = await send(api, "POST", "/v2/webhooks/", HOOK, "application/x-www-form-urlencoded", auth("gigapay", "T"))
    assert answer.status == 201 and answer.json["events"] == ["Payout.created"]
    assert (await last_entry(api))["note"] == (
        "the body is JSON labelled Content-Type application/x-www-form-urlencoded (what curl -d sends): read as "
        "JSON (--strict reads it as a form, as gigapay would)")
    form = await send(api, "POST", "/v2/webhooks/", "url=https://example.com/f&events=Payout.created",
                      "application/x-www-form-urlencoded", auth("gigapay", "T"))
    assert form.status == 201 and (await last_entry(api))["note"] is None


async def test_strict_paybook_answers_415_when_the_key_is_in_a_body_it_does_not_read(make_api: MakeApi) -> None:
    api = await make_api(strict=True, credentials={"paybook": ["PK"]})
    body = json.dumps({"api_key": "PK", "url": "https://example.com/p", "events": ["refresh"]})
    refused = await send(api, "POST", "/v1/webhooks", body, "text/plain", {})
    assert (refused.status, refused.json["message"]) == (415, "Unsupported Media Type")
    assert (await last_entry(api))["reason"] == (
        "unsupported_media_type: --strict: paybook reads only application/json, application/x-www-form-urlencoded "
        "bodies; this one has Content-Type text/plain (the body was not read, so a credential in it, the JSON body "
        "field `api_key`, was not seen)")
    unauthenticated = await send(api, "POST", "/v1/webhooks", b"", None, {})
    assert unauthenticated.status == 401  # no body at all: the usual 401
    wrong_key = await send(api, "POST", "/v1/webhooks", body, "text/plain", {"Authorization": "api_key api_key=X"})
    assert wrong_key.status == 401  # a credential outside the body is checked first, as before


@pytest.mark.parametrize("strict", [False, True])
async def test_a_multipart_form_is_read_with_indexed_lists(make_api: MakeApi, strict: bool) -> None:
    api = await make_api(strict=strict, credentials={"gigapay": ["T"]} if strict else {})
    parts = [("url", "http://app.test:9000/x"), ("events[1]", "Payout.accepted"), ("events[0]", "Payout.created")]
    body = b"".join(b'--B0undary\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (name.encode(),
                    value.encode()) for name, value in parts) + b"--B0undary--\r\n"  # (as curl -F sends it)
    answer = await send(api, "POST", "/v2/webhooks/", body, "multipart/form-data; boundary=B0undary",
                        {**auth("gigapay", "T"), "Integration-ID": "i"})
    assert answer.status == 201, answer.json
    assert (answer.json["url"], answer.json["events"]) == ("http://app.test:9000/x",
                                                           ["Payout.created", "Payout.accepted"])
    entry = await last_entry(api)
    assert entry["note"] is None and entry["request_body"].count("Payout.") == 2


async def test_a_multipart_body_without_its_boundary_is_a_malformed_body(api: Api) -> None:
    answer = await send(api, "POST", "/v2/webhooks/", b"url=x", "multipart/form-data", auth("gigapay", "T"))
    assert answer.status == 400
    assert answer.json["detail"].startswith("JSON parse error - the multipart form body cannot be read: ")
