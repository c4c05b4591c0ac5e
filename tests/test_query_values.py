"""Unusable paging values follow one rule per provider, written in its fixture (`paging.unusable`):
an error naming the parameter in the provider's style, or the parameter's default."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.providers.clients import auth

GIGAPAY = auth("gigapay", "t", integration="i")
PAYBOOK = auth("paybook", "k")
SHAREACTOR = auth("shareactor", "k")
CENTRY = auth("centry", "k")


def envelope(message: str) -> dict[str, Any]:
    return {"code": 400, "errors": None, "status": False, "message": message, "response": None}


REJECTED: list[tuple[str, dict[str, str], int, Any]] = [
    ("/v2/webhooks/?page=abc", GIGAPAY, 404, {"detail": "Invalid page."}),
    ("/v2/webhooks/?page=0", GIGAPAY, 404, {"detail": "Invalid page."}),
    ("/v2/webhooks/?page=2", GIGAPAY, 404, {"detail": "Invalid page."}),
    ("/webhooks?size=abc", SHAREACTOR, 400, {"message": "size must be an integer >= 1", "status": 400}),
    ("/webhooks?size=0", SHAREACTOR, 400, {"message": "size must be an integer >= 1", "status": 400}),
    ("/webhooks?size=2.5&page=0", SHAREACTOR, 400, {"message": "size must be an integer >= 1", "status": 400}),
    ("/webhooks?page=-1", SHAREACTOR, 400, {"message": "page must be an integer >= 0", "status": 400}),
    ("/webhooks?page=x&size=5", SHAREACTOR, 400, {"message": "page must be an integer >= 0", "status": 400}),
    ("/v1/webhooks?skip=x", PAYBOOK, 400, envelope("Bad Request: skip must be an integer >= 0")),
    ("/v1/webhooks?limit=-1", PAYBOOK, 400, envelope("Bad Request: limit must be an integer >= 0")),
    ("/v1/webhooks/subscriptions?limit=ten", PAYBOOK, 400, envelope("Bad Request: limit must be an integer >= 0")),
    ("/v1/webhooks/subscriptions?skip=-3", PAYBOOK, 400, envelope("Bad Request: skip must be an integer >= 0")),
    ("/conexion/v1/webhooks.json?limit=abc", CENTRY, 422, {"error": "limit must be an integer >= 0"}),
    ("/conexion/v1/webhooks.json?offset=-1", CENTRY, 422, {"error": "offset must be an integer >= 0"}),
]


@pytest.mark.parametrize(("path", "headers", "status", "error"), REJECTED, ids=[r[0] for r in REJECTED])
async def test_unusable_paging_values_are_rejected_in_the_provider_style(
        api: Api, path: str, headers: dict[str, str], status: int, error: Any) -> None:
    answer = await api.get(path, headers=headers)
    assert answer.status == status
    body = dict(answer.json)
    if "rid" in body:
        assert isinstance(body.pop("rid"), str)
    assert body == error


@pytest.mark.parametrize(("path", "headers"), [
    ("/webhooks?size=&page=", SHAREACTOR), ("/v1/webhooks?skip=&limit=", PAYBOOK),
    ("/conexion/v1/webhooks.json?offset=&limit=", CENTRY), ("/v2/webhooks/?page=", GIGAPAY),
])
async def test_an_empty_paging_value_means_its_default(api: Api, path: str, headers: dict[str, str]) -> None:
    assert (await api.get(path, headers=headers)).status == 200
