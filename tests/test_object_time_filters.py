"""The lists of the objects notifications point to take the time filters the provider's lists
take, on each object's own times (its kind's `times`): Centry's `created_at_gte=...` family
(CentryCL/centry-rest-api-docs:source/includes/_filters.md, whose examples are products.json
lists) and ShareActor's `from_date` / `to_date` / `date_filter` (kvassAI/slate _intro.md)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, MakeApi

CENTRY = {"Authorization": "Bearer CE"}
SHAREACTOR = {"X-Share-Api-Key": "SA"}
# Three Centry products made an hour apart around the docs' example instant (21:00 at -03:00).
PRODUCTS = {"597644781d41c846ea000001": "2017-09-13T20:00:00.000-03:00",
            "597644781d41c846ea000002": "2017-09-13T21:00:00.000-03:00",
            "597644781d41c846ea000003": "2017-09-14T01:00:00.000Z"}  # (22:00 at -03:00)
# Three ShareActor orders: created at these epoch milliseconds, the last one modified much later.
ORDERS = {"57ee9c72d76d431f85110001": (1_600_000_000_000, 1_600_000_000_000),
          "57ee9c72d76d431f85110002": (1_600_000_100_000, 1_600_000_100_000),
          "57ee9c72d76d431f85110003": (1_600_000_200_000, 1_700_000_000_000)}


@pytest.fixture
async def api(make_api: MakeApi) -> Api:
    made = await make_api()
    for oid, created in PRODUCTS.items():
        product = {"_id": oid, "created_at": created, "updated_at": created}
        put = await made.put("/_emulator/providers/centry/objects/product", json={"tenant": "CE", "object": product})
        assert put.status == 200, put.json
    for oid, (created, modified) in ORDERS.items():
        put = await made.put("/_emulator/providers/shareactor/objects/order",
                             json={"tenant": "SA", "object": {"_id": {"$oid": oid}, "created": {"$date": created},
                                                              "modified": {"$date": modified}}})
        assert put.status == 200, put.json
    return made


def ids(answer: Any) -> list[str]:
    return [item["_id"]["$oid"] if isinstance(item["_id"], dict) else item["_id"] for item in answer]


@pytest.mark.parametrize(("query", "expected"), [
    ("created_at=2017-09-13T21:00:00.000-03:00", ["597644781d41c846ea000002"]),
    ("created_at_gte=2017-09-13T21:00:00.000-03:00", ["597644781d41c846ea000002", "597644781d41c846ea000003"]),
    ("created_at_gt=2017-09-13T21:00:00.000-03:00", ["597644781d41c846ea000003"]),
    ("created_at_lt=2017-09-13T21:00:00.000-03:00", ["597644781d41c846ea000001"]),
    ("created_at_lte=2017-09-14T00:00:00Z&updated_at_gte=2017-09-13T23:30:00Z", ["597644781d41c846ea000002"]),
    ("updated_at_gt=2030-01-01T00:00:00Z", []),
])
async def test_centrys_product_list_takes_the_documented_time_filters(api: Api, query: str,
                                                                      expected: list[str]) -> None:
    answer = await api.get(f"/conexion/v1/products.json?{query}", headers=CENTRY)
    assert answer.status == 200 and ids(answer.json) == expected


async def test_a_centry_time_filter_that_is_no_time_is_refused_as_on_the_webhook_list(api: Api) -> None:
    answer = await api.get("/conexion/v1/products.json?created_at_gte=yesterday", headers=CENTRY)
    webhooks = await api.get("/conexion/v1/webhooks.json?created_at_gte=yesterday", headers=CENTRY)
    assert answer.status == webhooks.status == 422 and answer.json == webhooks.json


@pytest.mark.parametrize(("query", "expected"), [
    ("from_date=1600000100000", ["57ee9c72d76d431f85110002", "57ee9c72d76d431f85110003"]),
    ("to_date=1600000100000", ["57ee9c72d76d431f85110001", "57ee9c72d76d431f85110002"]),
    ("from_date=1600000050&to_date=1600000150", ["57ee9c72d76d431f85110002"]),  # (seconds, below 10^11)
    ("date_filter=modified&from_date=1650000000000", ["57ee9c72d76d431f85110003"]),
    ("date_filter=updated&to_date=1600000150000", ["57ee9c72d76d431f85110001", "57ee9c72d76d431f85110002"]),
])
async def test_shareactors_order_list_takes_the_documented_date_range(api: Api, query: str,
                                                                      expected: list[str]) -> None:
    answer = await api.get(f"/orders?{query}", headers=SHAREACTOR)
    assert answer.status == 200 and ids(answer.json) == expected


async def test_a_shareactor_date_that_is_no_time_is_refused_as_on_the_webhook_list(api: Api) -> None:
    answer = await api.get("/orders?from_date=soon", headers=SHAREACTOR)
    webhooks = await api.get("/webhooks?from_date=soon", headers=SHAREACTOR)
    assert answer.status == webhooks.status == 400 and answer.json == webhooks.json


async def test_an_object_put_with_the_kinds_own_deleted_mark_is_soft_deleted(api: Api) -> None:
    oid = "57ee9c72d76d431f85110009"
    put = await api.put("/_emulator/providers/shareactor/objects/order",
                        json={"tenant": "SA", "object": {"_id": {"$oid": oid}, "deleted": True}})
    assert put.status == 200
    assert oid not in ids((await api.get("/orders", headers=SHAREACTOR)).json)
    assert (await api.get(f"/orders/{oid}", headers=SHAREACTOR)).status == 404


async def test_shareactors_order_list_filters_by_the_documented_delivery_date(api: Api) -> None:
    """date_filter: created | delivery (slate _orders.md); the choices are the kind's times."""
    await api.put("/_emulator/providers/shareactor/objects/order",
                  json={"tenant": "SA", "object": {"_id": {"$oid": "57ee9c72d76d431f85110004"},
                                                   "delivery_time": {"$date": 1_900_000_000_000}}})
    late = await api.get("/orders?date_filter=delivery&from_date=1800000000000", headers=SHAREACTOR)
    assert late.status == 200 and ids(late.json) == ["57ee9c72d76d431f85110004"]
    wrong = await api.get("/orders?date_filter=endpoint&from_date=1", headers=SHAREACTOR)
    assert wrong.status == 400 and "endpoint" not in wrong.json["message"].split("one of")[1]
    assert "delivery" in wrong.json["message"]


async def test_centrys_object_lists_page_after_an_id_as_its_webhook_list_does(api: Api) -> None:
    first, second, third = PRODUCTS
    assert ids((await api.get(f"/conexion/v1/products.json?after={first}", headers=CENTRY)).json) == [second, third]
    after_filtered = await api.get(f"/conexion/v1/products.json?after={first}&created_at_gte=2017-09-14T00:30:00Z",
                                   headers=CENTRY)
    assert ids(after_filtered.json) == [third]  # (22:00 at -03:00)
    assert (await api.get("/conexion/v1/products.json?after=597644781d41c846ea0000ff", headers=CENTRY)).json == []
