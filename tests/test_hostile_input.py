"""Hostile input never gets a 5xx: each provider answers deep nesting, invalid Unicode, NaN, huge
arrays, header injection, odd methods and paths in its own error style, and the request journal,
the delivery log and the state dump stay valid JSON in UTF-8 whatever bytes arrived."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from emulator import Emulator
from emulator.engine import validation
from emulator.engine.errors import ProviderError
from emulator.engine.validation import parse_json
from emulator.receiver import Receiver
from tests.conftest import Api, MakeApi

AUTH = {
    "gigapay": {"Authorization": "Token t", "Integration-ID": "i"},
    "paybook": {"Authorization": "api_key api_key=k"},
    "syncfy": {"Authorization": "api_key api_key=k"},
    "shareactor": {"X-Share-Api-Key": "k"},
    "centry": {"Authorization": "Bearer k"},
}
CREATE = {"gigapay": "/v2/webhooks/", "paybook": "/v1/webhooks", "syncfy": "/v1/webhooks/subscriptions",
          "shareactor": "/webhooks", "centry": "/conexion/v1/webhooks.json"}
ITEM = {"gigapay": "/v2/webhooks/{id}/", "paybook": "/v1/webhooks/{id}", "syncfy": "/v1/webhooks/subscriptions/{id}",
        "shareactor": "/webhooks/{id}", "centry": "/conexion/v1/webhooks/{id}.json"}
PROVIDERS = sorted(AUTH)
HOSTILE_BODIES: dict[str, tuple[bytes, int]] = {
    "nested-arrays": (b"[" * 5000 + b"]" * 5000, 400),
    "nested-objects": (b'{"url":' * 3000 + b"1" + b"}" * 3000, 400),
    "nested-65": (b'{"a":' * 65 + b"1" + b"}" * 65, 400),
    "lone-surrogate": (b'{"url": "https://x.io/\\ud800", "description": "\\udfff"}', 400),
    "nan": (b'{"url": NaN}', 400),
    "infinity": (b'{"delay": 1e999}', 400),
    "huge-integer": (b'{"delay": ' + b"9" * 5000 + b"}", 400),
    "not-utf8": (b'{"url": "\xff\xfe"}', 400),
    "huge-array": (b'{"events": [' + b'"x",' * 20000 + b'"x"]}', 413),
    "truncated": (b'{"url": "https://x', 400),
}


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
async def test_hostile_bodies_get_the_providers_4xx(api: Api, provider: str, name: str) -> None:
    raw, status = HOSTILE_BODIES[name]
    headers = {**AUTH[provider], "Content-Type": "application/json"}
    answer = await api.post(CREATE[provider], data=raw, headers=headers)  # the body is checked against error.json
    assert answer.status == status, answer.json
    assert (await api.get("/_emulator/state")).json[provider]["tenants"] == {}


@pytest.mark.parametrize("value", ["%7B%22a%22%3A" * 3000, "%7B%22a%22%3ANaN%7D", "%5B%22%5Cud800%22%5D",
                                   "%5B" + "0%2C" * 20000 + "0%5D"])
async def test_json_in_a_form_field_is_refused_like_a_json_body(api: Api, value: str) -> None:
    body = f"url=https://x.se/&events=Payout.created&metadata={value}".encode()
    headers = {**AUTH["gigapay"], "Content-Type": "application/x-www-form-urlencoded"}
    answer = await api.post(CREATE["gigapay"], data=body, headers=headers)
    assert answer.status in (400, 413)
    assert (await api.get("/_emulator/state")).json["gigapay"]["tenants"] == {}


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_url_with_control_characters_is_refused(api: Api, provider: str) -> None:
    body = {"url": "https://x.io/\u0000", "endpoint": "https://x.io/\r\nHost: evil", "callback_url": "https://x.io/\x7f",
            "events": ["refresh", "credentials.created", "Payout.created"], "event_type": "order.created"}
    body = {k: v for k, v in body.items() if k in {"url", "endpoint", "callback_url"} or provider != "centry"}
    answer = await api.post(CREATE[provider], json=body, headers=AUTH[provider])
    assert answer.status in (400, 422)
    assert (await api.get("/_emulator/state")).json[provider]["tenants"] == {}


@pytest.mark.parametrize("provider", ["paybook", "syncfy"])
async def test_custom_headers_cannot_inject_headers(api: Api, provider: str) -> None:
    body = {"url": "https://x.io/", "events": ["refresh" if provider == "paybook" else "credentials.created"],
            "headers": {"X-A\r\nB": "v", "X-Ok": "v\r\nInjected: 1"}}
    answer = await api.post(CREATE[provider], json=body, headers=AUTH[provider])
    assert answer.status == 400
    assert answer.json["message"] == ("Bad Request: headers: X-A\r\nB is not a valid header name; "
                                      "headers.X-Ok must not contain control characters")


async def test_a_field_with_its_own_and_its_members_problems_keeps_both_in_drf_shape(api: Api) -> None:
    from emulator.engine.errors import Issue, issues_as_fields

    issues = [Issue(("headers",), "bad name"), Issue(("headers", "X"), "bad value"), Issue(("url",), "bad url")]
    assert issues_as_fields(issues, "non_field_errors") == {
        "headers": {"non_field_errors": ["bad name"], "X": ["bad value"]}, "url": ["bad url"]}


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("method", ["PROPFIND", "TRACE", "OPTIONS", "PURGE"])
async def test_unknown_methods_are_the_providers_405(api: Api, provider: str, method: str) -> None:
    answer = await api.request(method, CREATE[provider], headers=AUTH[provider])
    if method == "OPTIONS" and provider in ("gigapay", "paybook", "syncfy"):  # they answer it (issue 17)
        assert answer.status == 200
        return
    assert answer.status == 405
    assert answer.json is not None


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("record_id", ["..%2F..%2Fetc%2Fpasswd", "%2e%2e", "x" * 6000, "%00%01%1b", "%ED%A0%80",
                                       "%FF%FE", "a%0D%0AX-Injected:%201"])
async def test_odd_ids_in_paths_are_the_providers_404(api: Api, provider: str, record_id: str) -> None:
    answer = await api.delete(ITEM[provider].replace("{id}", record_id), headers=AUTH[provider])
    assert answer.status == 404


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("query", ["page=%00", "size=%ED%A0%80", "limit=" + "9" * 5000, "skip=%FF", "sort=%0D%0A",
                                   "offset=1e9", "created_at_gt=%00", "after=%FF%FE", "page=1&page=x&page=-1"])
async def test_absurd_query_values_never_get_a_5xx(api: Api, provider: str, query: str) -> None:
    answer = await api.get(f"{CREATE[provider]}?{query}", headers=AUTH[provider])
    assert answer.status in (200, 400, 404, 422)


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "multipart/form-data; boundary=x",
                                          "application/x-www-form-urlencoded", "application/json; charset=latin-1",
                                          None])
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_wrong_or_missing_content_types_never_get_a_5xx(api: Api, provider: str, content_type: str | None
                                                              ) -> None:
    headers = dict(AUTH[provider])
    if content_type:
        headers["Content-Type"] = content_type
    for raw in (b"--x\r\nContent-Disposition: form-data\r\n\r\n\xff\r\n--x--", b"\x00\x01", b"<a/>", b"url=%ff&events"):
        answer = await api.post(CREATE[provider], data=raw, headers=headers)
        assert 400 <= answer.status < 500


@pytest.mark.parametrize("path", ["/_emulator/events", "/_emulator/reset", "/_emulator/providers/syncfy/jwk"])
@pytest.mark.parametrize("name", ["nested-arrays", "lone-surrogate", "nan", "not-utf8", "huge-integer"])
async def test_the_control_api_refuses_hostile_bodies_with_a_json_400(api: Api, path: str, name: str) -> None:
    method = "PUT" if path.endswith("jwk") else "POST"
    answer = await api.request(method, path, data=HOSTILE_BODIES[name][0], headers={"Content-Type": "application/json"})
    assert answer.status == 400
    assert answer.json["error"] == "malformed_body"


async def raw_request(api: Api, request: bytes) -> bytes:
    """Send bytes no HTTP client library would, and return the whole response."""
    server = api.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(request)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


def strict_json(raw: bytes) -> Any:
    """JSON as a strict consumer reads it: UTF-8, no NaN, no \\u escape of a lone surrogate."""
    def no_constant(name: str) -> Any:
        raise ValueError(name)
    value = json.loads(raw.decode("utf-8"), parse_constant=no_constant)
    json.dumps(value, ensure_ascii=False).encode("utf-8")  # raises on a lone surrogate
    return value


async def test_journal_state_and_delivery_log_stay_valid_json_whatever_bytes_arrived(make_api: MakeApi) -> None:
    api = await make_api(time_scale=1e-6)
    requests = [
        b"GET /v2/webhooks/%ED%A0%80/?page=%ED%A0%80&x=%FF HTTP/1.1\r\nHost: localhost\r\n"
        b"Authorization: Token t\xff\xfe\r\nIntegration-ID: \xff\r\nConnection: close\r\n\r\n",
        b"POST /v2/webhooks/ HTTP/1.1\r\nHost: localhost\r\nAuthorization: Token \xed\xa0\x80\r\n"
        b"Integration-ID: \xc3\r\n"
        b"Content-Type: application/json\r\nContent-Length: 51\r\nConnection: close\r\n\r\n"
        b'{"url":"https://x.se/","events":["Payout.created"]}',
        b"GET /webhooks?sort=%ED%A0%80&%FF=%FE HTTP/1.1\r\nHost: localhost\r\nX-Share-Api-Key: k\xe9\r\n"
        b"Connection: close\r\n\r\n",
        b"GET /v1/webhooks/%2e%2e/%2e%2e/etc/passwd?api_key=%ff%ED%A0%80 HTTP/1.1\r\nHost: localhost\r\n"
        b"Connection: close\r\n\r\n",
    ]
    for request in requests:
        response = await raw_request(api, request)
        status = int(response.split(b" ", 2)[1])
        assert status < 500, response
        strict_json(response.split(b"\r\n\r\n", 1)[1])
    created = await api.post("/v2/webhooks/", json={"url": "https://127.0.0.1:9/x", "events": ["Payout.created"]},
                             headers={"Authorization": "Token t", "Integration-ID": "i"})
    assert created.status == 201
    fired = await api.post("/_emulator/events", json={"provider": "gigapay", "event": "Payout.created",
                                                      "data": {"description": "\u0000\u2028\ufffe"}})
    assert fired.status == 202
    state = strict_json((await api.get("/_emulator/state")).raw)
    records = [r for tenant in state["gigapay"]["tenants"].values() for r in tenant["records"]]
    assert sorted(r["url"] for r in records) == ["https://127.0.0.1:9/x", "https://x.se/"]
    journal = strict_json((await api.get("/_emulator/requests")).raw)
    assert len(journal["requests"]) == len(requests) + 1
    strict_json((await api.get("/_emulator/deliveries")).raw)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_reads_and_rejected_requests_of_a_new_tenant_leave_the_state_as_it_was(api: Api, provider: str
                                                                                     ) -> None:
    headers = AUTH[provider]
    item = ITEM[provider].replace("{id}", "nope")
    for method, path in [("GET", item), ("DELETE", item), ("POST", CREATE[provider]), ("GET", CREATE[provider]),
                         ("GET", CREATE[provider] + "?limit=-1&skip=x&size=x&page=x&created_at_gt=x&after=x")]:
        answer = await api.request(method, path, json={"url": "x"}, headers=headers)
        assert answer.status < 500
    assert (await api.get("/_emulator/state")).json[provider]["tenants"] == {}


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_very_long_ids_query_values_and_headers_get_the_providers_answer(api: Api, provider: str) -> None:
    path = ITEM[provider].replace("{id}", "i" * 20000) + "?q=" + "v" * 20000
    answer = await api.delete(path, headers={**AUTH[provider], "X-Long": "h" * 20000})
    assert answer.status == 404  # checked against the provider's error schema


@pytest.mark.parametrize(("extra", "problem"), [
    ({"provider": "paybook", "event": "refresh", "headers": {"X-A\r\nB": "v"}}, "headers must be"),
    ({"provider": "paybook", "event": "refresh", "headers": {"X-A": "v\r\nInjected: 1"}}, "headers must be"),
    ({"provider": "syncfy", "event": "credentials.created", "secret": {"k": "@@@"}}, "secret must be"),
    ({"provider": "syncfy", "event": "credentials.created", "secret": {"k": "a"}}, "secret must be"),
    ({"provider": "syncfy", "event": "credentials.created", "secret": {"k": "c2VjcmV0", "kid": 5}}, "secret must be"),
])
async def test_firing_refuses_headers_and_keys_that_could_not_be_sent(api: Api, extra: dict[str, Any],
                                                                      problem: str) -> None:
    answer = await api.post("/_emulator/events", json={"url": "http://127.0.0.1:9/x", **extra})
    assert answer.status == 400
    assert answer.json["message"].startswith(problem)
    assert (await api.get("/_emulator/deliveries")).json["deliveries"] == []


async def test_a_jwk_without_kid_signs_without_one(make_api: MakeApi) -> None:
    api = await make_api(time_scale=1e-6)
    with Receiver() as receiver:
        answer = await api.post("/_emulator/events", json={
            "provider": "syncfy", "event": "credentials.created", "url": receiver.url_for("/s"),
            "secret": {"kty": "oct", "k": "YS0zMi1ieXRlLXNlY3JldC1mb3ItdGhlLXRlc3Qtb2s"}, "wait": True, "timeout": 10})
        assert answer.status == 200 and answer.json["complete"] is True
        [delivery] = answer.json["deliveries"]
        assert delivery["status"] == "delivered"


@pytest.mark.parametrize("k", ["é", "a", "a b", "@@"])
async def test_a_jwk_must_be_base64url(api: Api, k: str) -> None:
    answer = await api.put("/_emulator/providers/syncfy/jwk", json={"kty": "oct", "kid": "1", "k": k})
    assert answer.status == 400


@pytest.mark.parametrize("request_bytes", [
    b"BREW /v2/webhooks/ HTTP/1.1\r\nHost: localhost\r\n\r\n",  # a method name the HTTP parser does not know
    b"GET /v2/webhooks/ HTTP/1.1\r\nX-Evil: a\x01b\r\n\r\n",  # a control byte in a header value
    b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n",  # a request line over the 64 KiB aiohttp reads
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # TLS spoken to a plain HTTP port
])
def test_what_the_http_parser_refuses_is_answered_in_json(request_bytes: bytes) -> None:
    with Emulator() as emulator, socket.create_connection(("127.0.0.1", emulator.port), timeout=10) as sock:
        sock.sendall(request_bytes)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    assert re.fullmatch(r"HTTP/1\.[01] 4\d\d .*", status_line), status_line
    assert headers["content-type"].startswith("application/json")
    assert strict_json(body)["error"] == "malformed_request"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(["\ud800", "\udfff", "\\", '"']), max_size=8),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=3), inner, max_size=6),
    max_leaves=80,
)


@settings(max_examples=300, deadline=None, derandomize=True)
@example(value=["\ud800"], max_values=validation.MAX_VALUES, depth=1)  # a lone surrogate, escaped
@example(value=[], max_values=validation.MAX_VALUES, depth=63)  # 64 arrays deep: usable
@example(value=[], max_values=validation.MAX_VALUES, depth=64)  # 65: too deep
@example(value=[1, 2], max_values=3, depth=0)  # as many values as allowed
@example(value=[1, 2, 3], max_values=3, depth=0)  # one more
@given(value=JSON_VALUES, max_values=st.integers(1, 200) | st.just(validation.MAX_VALUES), depth=st.integers(0, 70))
def test_the_short_way_through_parse_json_refuses_exactly_what_the_full_check_refuses(
        value: Any, max_values: int, depth: int) -> None:
    """Short plain bodies skip the walk that counts values and depth and looks for lone
    surrogates; whatever the body, parse_json must refuse it exactly when that walk would."""
    text = "[" * depth + json.dumps(value, ensure_ascii=bool(depth % 2)) + "]" * depth
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate written as itself: not UTF-8, refused before parsing
        return

    def outcome(check: Any) -> str | None:
        try:
            check()
        except ProviderError as error:
            return error.kind
        return None

    expected = outcome(lambda: validation._check_parsed(json.loads(text), max_values))
    assert outcome(lambda: parse_json(raw, max_values)) == expected


@pytest.mark.parametrize("request_bytes", [
    b"OPTIONS * HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",  # asterisk form: no path at all
    b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nConnection: close\r\n\r\n",  # authority
])
def test_a_request_target_that_is_no_path_gets_a_json_404_and_a_journal_entry(request_bytes: bytes) -> None:
    with Emulator() as emulator:
        with socket.create_connection(("127.0.0.1", emulator.port), timeout=10) as sock:
            sock.sendall(request_bytes)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        [entry] = emulator.client.requests()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 404 ")
    assert strict_json(body)["error"] == "not_found"
    assert (entry["method"], entry["status"]) == (request_bytes.split()[0].decode(), 404)


async def test_json_in_a_form_field_decoded_by_an_odd_charset_is_still_checked_for_lone_surrogates(api: Api) -> None:
    """A form's text is decoded with the charset the client names, so it can hold a lone surrogate
    that no \\u escape made; it must be refused as in a JSON body."""
    body = b'url=https://x.se/&events=Payout.created&metadata={"k":"\\ud800"}'
    headers = {**AUTH["gigapay"], "Content-Type": "application/x-www-form-urlencoded; charset=unicode_escape"}
    answer = await api.post(CREATE["gigapay"], data=body, headers=headers)
    assert answer.status == 400, answer.json
    assert (await api.get("/_emulator/state")).json["gigapay"]["tenants"] == {}
