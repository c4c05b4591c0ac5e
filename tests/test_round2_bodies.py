"""Hostile bodies and headers, round two: a body whose Content-Encoding does not decode, custom
notification headers that would change the framing or routing of what the receiver gets."""

from __future__ import annotations

import pytest

from tests.conftest import Api

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
