"""Hostile bodies and headers, round two: a body whose Content-Encoding does not decode, custom
notification headers that would change the framing or routing of what the receiver gets."""

from __future__ import annotations

import gzip
import json
import logging
import zlib

import pytest
import requests

from emulator import Emulator
from emulator.receiver import Receiver
from tests.conftest import Api
from tests.providers.clients import auth

GIGAPAY = {"Authorization": "Token t", "Integration-ID": "i", "Content-Type": "application/json"}


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_body_that_does_not_decode_is_the_providers_400(api: Api, encoding: str) -> None:
    answer = await api.post("/v2/webhooks/", data=b"not compressed at all",
                            headers={**GIGAPAY, "Content-Encoding": encoding})
    assert answer.status == 400
    assert "content-encoding" in answer.json["detail"].lower()


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_control_body_that_does_not_decode_is_a_json_400(api: Api, encoding: str) -> None:
    answer = await api.post("/_emulator/reset", data=b"\x1f\x8b broken",
                            headers={"Content-Type": "application/json", "Content-Encoding": encoding})
    assert answer.status == 400
    assert answer.json["error"] == "malformed_body"


PAYBOOK = auth("paybook", "k")
SYNCFY = auth("syncfy", "k")
HOOK = json.dumps({"url": "https://x.mx/", "events": ["refresh"]}).encode()
UNDECODABLE = {
    "gzip": b"not compressed at all",
    "deflate": b"not compressed either",
    "gzip ": gzip.compress(HOOK) + b"trailing garbage",
    "br": b"\x0b\x02\x80brotli?",
    "zstd": b"\x28\xb5\x2f\xfdzstd?",
}


def test_undecodable_bodies_get_the_providers_400_over_http_and_log_no_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with Emulator() as emulator:
        for coding, body in UNDECODABLE.items():
            headers = {**PAYBOOK, "Content-Type": "application/json", "Content-Encoding": coding}
            answer = requests.post(emulator.url + "/v1/webhooks", data=body, headers=headers, timeout=10)
            assert answer.status_code == 400 and answer.raw.version == 11, coding
            assert answer.json()["code"] == 400 and answer.json()["status"] is False, coding  # Paybook's envelope
        for coding, body in {"gzip": gzip.compress(HOOK), "deflate": zlib.compress(HOOK),
                             "identity": HOOK}.items():
            headers = {**PAYBOOK, "Content-Type": "application/json", "Content-Encoding": coding}
            assert requests.post(emulator.url + "/v1/webhooks", data=body, headers=headers,
                                 timeout=10).status_code == 200, coding
        bomb = {**PAYBOOK, "Content-Type": "application/json", "Content-Encoding": "gzip"}
        assert requests.post(emulator.url + "/v1/webhooks", data=gzip.compress(b" " * (2 << 20)), headers=bomb,
                             timeout=10).status_code == 413
    assert [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING] == []
FRAMING = ["Content-Length", "transfer-encoding", "Host", "Expect", "Connection", "Upgrade"]


@pytest.mark.parametrize("name", FRAMING)
async def test_custom_headers_may_not_frame_or_route_the_notification(api: Api, name: str) -> None:
    hook = {"url": "https://x.mx/", "events": ["refresh"], "headers": {name: "1"}}
    answer = await api.post("/v1/webhooks", json=hook, headers=PAYBOOK)
    assert answer.status == 400 and name in json.dumps(answer.json)
    answer = await api.post("/v1/webhooks/subscriptions", headers=SYNCFY,
                            json={"url": "https://s.mx/", "events": ["credentials.created"], "headers": {name: "1"}})
    assert answer.status == 400
    fire = {"provider": "gigapay", "event": "Payout.created", "url": "https://x.se/", "headers": {name: "1"}}
    answer = await api.post("/_emulator/events", json=fire)
    assert answer.status == 400 and "frames or routes" in answer.json["message"]
    state = {"paybook": {"k": [hook]}}
    assert (await api.put("/_emulator/state", json=state)).status == 400
    assert (await api.get("/_emulator/deliveries")).json["deliveries"] == []


def test_a_custom_header_named_like_the_signature_is_logged_as_sent() -> None:
    with Receiver() as receiver, Emulator() as emulator:
        [sent] = emulator.client.fire("gigapay", "Payout.created", url=receiver.url_for("/"), secret="s", wait=True,
                                      headers={"gigapay-signature": "forged", "X-Team": "a"})
        [received] = receiver.received
    recorded = sent["attempts"][0]["request_headers"]
    assert len([k for k in recorded if k.lower() == "gigapay-signature"]) == 1
    assert recorded["X-Team"] == "a"
    signature = next(v for k, v in recorded.items() if k.lower() == "gigapay-signature")
    assert signature != "forged" and received.headers["Gigapay-Signature"] == signature
