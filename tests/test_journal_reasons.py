"""Why was my call refused? The request journal (GET /_emulator/requests) and the debug log say
why, in the words of the fixture (the credential it wants, the field that failed, the header that
is missing, --strict, a fault rule), and the journal keeps each call's bodies, bounded."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from tests.conftest import Api, MakeApi
from tests.providers.clients import auth

GIGAPAY_HOOK = {"url": "https://example.com/h", "events": ["Payout.created"]}


async def last_entry(api: Api) -> dict[str, Any]:
    return (await api.get("/_emulator/requests")).json["requests"][-1]


@pytest.mark.parametrize(("provider", "path", "headers", "reason"), [
    ("gigapay", "/v2/webhooks/", {}, "unauthorized: no credentials: send the header `Authorization: Token <key>`"),
    ("gigapay", "/v2/webhooks/", {"Authorization": "Bearer abc"},
     "invalid_credentials: the Authorization header is not of the form `Token <key>`: send the header "
     "`Authorization: Token <key>`"),
    ("centry", "/conexion/v1/webhooks.json", {},
     "unauthorized: no credentials: send the header `Authorization: Bearer <key>` or the query parameter "
     "`access_token=<key>`"),
    ("paybook", "/v1/webhooks", {},
     "unauthorized: no credentials: send the header `Authorization: api_key api_key=<key>`, the query parameter "
     "`api_key=<key>` or the JSON body field `api_key`"),
])
async def test_a_missing_or_malformed_credential_says_what_the_provider_expects(
        api: Api, provider: str, path: str, headers: dict[str, str], reason: str) -> None:
    answer = await api.get(path, headers=headers)
    entry = await last_entry(api)
    assert (answer.status, entry["provider"], entry["status"]) == (401, provider, 401)
    assert entry["reason"] == reason


async def test_the_reason_is_logged_at_debug_level(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="emulator.access")
    await api.get("/v2/webhooks/")
    refused = [r for r in caplog.records if r.name == "emulator.access" and r.levelno == logging.DEBUG]
    assert [r.getMessage() for r in refused] == [
        "GET /v2/webhooks/ -> 401 refused: unauthorized: no credentials: send the header `Authorization: Token <key>`"]


async def test_no_debug_line_for_a_call_that_was_served(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="emulator.access")
    await api.get("/v2/webhooks/", headers=auth("gigapay", "T"))
    assert [r for r in caplog.records if r.name == "emulator.access" and r.levelno == logging.DEBUG] == []
    assert (await last_entry(api))["reason"] is None


async def test_a_validation_error_names_the_failed_field(api: Api) -> None:
    answer = await api.post("/v2/webhooks/", json={**GIGAPAY_HOOK, "url": "not a url"}, headers=auth("gigapay", "T"))
    assert answer.status == 400
    assert (await last_entry(api))["reason"] == "validation: url: Enter a valid URL."


async def test_a_missing_scope_header_is_named(api: Api) -> None:
    headers = {"Authorization": "Token T"}  # no Integration-ID, which Payout webhooks need
    answer = await api.post("/v2/webhooks/", json=GIGAPAY_HOOK, headers=headers)
    assert answer.status == 400
    assert (await last_entry(api))["reason"] == \
        "validation: Integration-ID header is required for Employee, Payout and Payrun webhooks."


async def test_strict_without_credentials_for_that_provider_says_so(make_api: MakeApi) -> None:
    api = await make_api(strict=True)
    assert (await api.get("/v2/webhooks/", headers=auth("gigapay", "T"))).status == 401
    assert (await last_entry(api))["reason"] == (
        "invalid_credentials: --strict: gigapay accepts only keys given with --credentials (none are given for it) "
        "and tokens the emulator issued")


async def test_a_key_that_is_not_among_the_configured_ones_says_how_many_there_are(make_api: MakeApi) -> None:
    api = await make_api(credentials={"gigapay": ["good-1", "good-2"]})
    assert (await api.get("/v2/webhooks/", headers=auth("gigapay", "bad"))).status == 401
    assert (await last_entry(api))["reason"] == (
        "invalid_credentials: the key is neither one of the 2 given for gigapay with --credentials nor a token the "
        "emulator issued")


async def test_strict_names_the_second_credential_it_wants(make_api: MakeApi) -> None:
    api = await make_api(strict=True, credentials={"shareactor": ["K"]})
    assert (await api.get("/webhooks", headers=auth("shareactor", "K"))).status == 401
    assert (await last_entry(api))["reason"] == \
        "unauthorized: --strict: shareactor also needs the header `Authorization: Bearer <key>`"


async def test_a_fault_rule_is_the_reason_of_the_answer_it_made(api: Api) -> None:
    rule = (await api.post("/_emulator/faults", json={"provider": "gigapay", "status": 503})).json
    assert (await api.get("/v2/webhooks/", headers=auth("gigapay", "T"))).status == 503
    entry = await last_entry(api)
    assert (entry["fault"], entry["reason"]) == (rule["id"], f"fault rule {rule['id']}")


async def test_a_path_no_provider_serves_is_the_reason(api: Api) -> None:
    await api.get("/nothing/here")
    assert (await last_entry(api))["reason"] == "not_found: no provider serves /nothing/here"


async def test_the_journal_keeps_the_request_and_response_bodies(api: Api) -> None:
    sent = json.dumps(GIGAPAY_HOOK).encode()
    answer = await api.post("/v2/webhooks/", data=sent, headers={**auth("gigapay", "T"),
                                                                  "Content-Type": "application/json"})
    entry = await last_entry(api)
    assert entry["request_body"] == sent.decode()
    assert json.loads(entry["response_body"]) == answer.json
    listed = await api.get("/v2/webhooks/", headers=auth("gigapay", "T"))
    entry = await last_entry(api)
    assert entry["request_body"] is None and json.loads(entry["response_body"]) == listed.json


async def test_a_refusals_answer_is_kept_beside_its_reason(api: Api) -> None:
    answer = await api.get("/v2/webhooks/")
    entry = await last_entry(api)
    assert json.loads(entry["response_body"]) == answer.json
    assert answer.json == {"detail": "Authentication credentials were not provided."}


async def test_bodies_are_kept_up_to_4_kib_with_a_marker(api: Api) -> None:
    big = json.dumps({**GIGAPAY_HOOK, "metadata": {"note": "x" * 10_000}}).encode()
    await api.post("/v2/webhooks/", data=big, headers={**auth("gigapay", "T"), "Content-Type": "application/json"})
    kept = (await last_entry(api))["request_body"]
    assert kept == big[:4096].decode() + f"... [truncated: {len(big)} bytes in all]"
