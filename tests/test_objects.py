"""The objects notifications point to, put in place before a firing: through the control API and
EmulatorClient, in a state file, in snapshots and the durable store; reset forgets them, GET
/_emulator/state lists them, their routes answer other methods in the provider's style, firings
update them, and a tenant keeps at most `objects.cap` of a kind."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import requests

from emulator import Emulator, Settings
from emulator.storage.statedoc import StateError
from tests.conftest import Api, MakeApi

ACME = Path(__file__).parent.parent / "examples" / "acme"
ACME_KEY = {"Authorization": "Bearer acme-key"}
GIGAPAY = {"Authorization": "Token GP", "Integration-ID": "integration-1"}
CENTRY = {"Authorization": "Bearer CE"}
PAYBOOK = {"Authorization": "api_key api_key=PB"}
SHAREACTOR = {"X-Share-Api-Key": "SA"}
PAYOUT = "0177270d-f94b-4ab9-88ba-ac1fa2f791aa"


@pytest.fixture
async def api(make_api: MakeApi) -> Api:
    return await make_api(fixtures=[ACME], time_scale=1e-6, seed=3)


async def test_a_put_object_is_served_with_the_samples_other_fields(api: Api) -> None:
    put = await api.put("/_emulator/providers/gigapay/objects/payout",
                        json={"tenant": "GP", "scope": "integration-1", "object": {"id": PAYOUT, "amount": "12.50"}})
    assert put.status == 200 and put.json["id"] == PAYOUT
    fetched = await api.get(f"/v2/payouts/{PAYOUT}/", headers=GIGAPAY)
    assert fetched.status == 200
    assert fetched.json["amount"] == "12.50" and fetched.json["currency"] == "SEK"  # (the docs' sample's)
    other_integration = await api.get(f"/v2/payouts/{PAYOUT}/", headers={**GIGAPAY, "Integration-ID": "other"})
    other_tenant = await api.get(f"/v2/payouts/{PAYOUT}/", headers={**GIGAPAY, "Authorization": "Token other"})
    assert (other_integration.status, other_tenant.status) == (404, 404)
    assert other_tenant.json == {"detail": "Not found."}
    listed = await api.get("/v2/payouts/?page_size=1", headers=GIGAPAY)
    assert listed.json == {"count": 1, "next": None, "previous": None, "results": [fetched.json]}


async def test_a_put_object_that_breaks_the_documented_shape_is_refused(api: Api) -> None:
    wrong = await api.put("/_emulator/providers/gigapay/objects/payout",
                          json={"tenant": "GP", "object": {"amount": "lots"}}, validate=False)
    assert wrong.status == 400 and "at $.object.amount:" in wrong.json["message"]
    unknown = await api.put("/_emulator/providers/gigapay/objects/invoice", json={"tenant": "GP", "object": {}},
                            validate=False)
    assert unknown.status == 404 and "its kinds: employee, payout, payrun, registration" in unknown.json["message"]
    assert "objects" not in (await api.get("/_emulator/state")).json["gigapay"]


async def test_other_methods_on_an_object_route_answer_the_providers_405(api: Api) -> None:
    answer = await api.delete(f"/v2/payouts/{PAYOUT}/", headers=GIGAPAY)
    assert (answer.status, answer.json) == (405, {"detail": 'Method "DELETE" not allowed.'})
    assert "GET" in answer.headers["Allow"].split(", ") and "DELETE" not in answer.headers["Allow"]


async def test_a_firing_updates_a_put_object_and_keeps_what_the_event_does_not_say(api: Api) -> None:
    await api.put("/_emulator/providers/centry/objects/product",
                  json={"tenant": "CE", "object": {"_id": "597644781d41c846ea0000aa", "name": "Mug"}})
    await api.post("/_emulator/events", json={"provider": "centry", "event": "on_product_save", "tenant": "CE",
                                              "data": {"product_id": "597644781d41c846ea0000aa"},
                                              "objects": {"product": {"price_compare": 9990}}})
    product = (await api.get("/conexion/v1/products/597644781d41c846ea0000aa.json", headers=CENTRY)).json
    assert (product["name"], product["price_compare"]) == ("Mug", 9990)
    await api.post("/_emulator/events", json={"provider": "centry", "event": "on_product_delete", "tenant": "CE",
                                              "data": {"product_id": "597644781d41c846ea0000aa"}})
    gone = await api.get("/conexion/v1/products/597644781d41c846ea0000aa.json", headers=CENTRY)
    assert (gone.status, gone.json) == (404, {"error": "Not Found"})
    assert (await api.get("/conexion/v1/products.json", headers=CENTRY)).json == []


async def test_state_lists_objects_and_reset_forgets_them(api: Api) -> None:
    await api.post("/_emulator/events", json={"provider": "acme", "event": "anvil.dropped", "tenant": "acme-key"})
    [anvil] = (await api.get("/_emulator/state")).json["acme"]["objects"]["acme-key"]["anvil"]
    assert anvil["state"] == "dropped"
    assert (await api.get(f"/acme/anvils/{anvil['id']}", headers=ACME_KEY)).json == anvil
    await api.post("/_emulator/reset", json={"provider": "acme"})
    assert (await api.get(f"/acme/anvils/{anvil['id']}", headers=ACME_KEY)).status == 404


async def test_one_pool_serves_both_providers_of_one_data_api_and_a_reset_of_either_clears_it(api: Api) -> None:
    await api.post("/_emulator/events", json={"provider": "syncfy", "event": "credentials.refreshed", "tenant": "PB",
                                              "data": {"id_credential": "5e73bfe6d036f64a591d88ff"}})
    accounts = await api.get("/v1/accounts?id_credential=5e73bfe6d036f64a591d88ff", headers=PAYBOOK)
    assert [a["id_credential"] for a in accounts.json["response"]] == ["5e73bfe6d036f64a591d88ff"]
    export = await api.client.session.get(api.client.make_url("/v1/attachments/export?id_credential="
                                                              "5e73bfe6d036f64a591d88ff"), headers=PAYBOOK)
    assert export.content_type == "application/zip"
    assert len(zipfile.ZipFile(io.BytesIO(await export.read())).namelist()) == 1
    await api.post("/_emulator/reset", json={"provider": "syncfy"})
    assert (await api.get("/v1/accounts", headers=PAYBOOK)).json["response"] == []


async def test_a_tenant_keeps_at_most_the_cap_of_a_kind(api: Api) -> None:
    provider = api.state.providers["acme"]
    assert provider.objects is not None and provider.objects.cap == 1000
    for n in range(1003):
        api.state.store.put_object("acme", "acme-key", "anvil", f"a{n}", _anvil(n), provider.objects.cap)
    listed = await api.get("/acme/anvils?limit=1", headers=ACME_KEY)
    assert listed.json["total"] == 1000 and listed.json["data"][0]["id"] == "a3"


def _anvil(n: int) -> object:
    from emulator.engine.store import StoredObject

    return StoredObject({"id": f"a{n}", "weight_kg": 50, "state": "in_stock", "dropped_at": None})


def test_client_put_object_state_files_snapshots_and_the_durable_store_keep_objects(tmp_path: Path) -> None:
    state = tmp_path / "state.yaml"
    state.write_text("$objects:\n  centry:\n    CE:\n      order:\n        - {_id: 096ef853335bc7e6df20c8bb, "
                     "_status: shipped}\n")
    settings = Settings(port=0, data_dir=tmp_path / "data", state=state)
    with Emulator(settings) as emulator:
        order = requests.get(f"{emulator.url}/conexion/v1/orders/096ef853335bc7e6df20c8bb.json", headers=CENTRY,
                             timeout=10).json()
        assert order["_status"] == "shipped" and order["origin"] == "Ripley"  # (the docs' sample's)
        put = emulator.client.put_object("gigapay", "GP", "employee", {"id": "1847", "name": "Ada"},
                                         scope="integration-1")
        assert put["$scope"] == "integration-1" and put["name"] == "Ada"
        snapshot = emulator.client.snapshot()
    assert set(snapshot["$objects"]) == {"centry", "gigapay"}
    with Emulator(settings) as emulator:  # read back from the data dir
        assert emulator.client.snapshot() == snapshot
        assert requests.get(f"{emulator.url}/v2/employees/1847/", headers=GIGAPAY, timeout=10).json()["name"] == "Ada"
        emulator.client.reset()
        assert "$objects" not in emulator.client.snapshot()
        emulator.client.load_state(snapshot)
        assert emulator.client.snapshot() == snapshot


def test_a_state_files_object_is_validated(tmp_path: Path) -> None:
    state = tmp_path / "state.yaml"
    state.write_text("$objects:\n  centry:\n    CE:\n      order:\n        - {_id: 5}\n")
    with pytest.raises(StateError, match=r"at \$\.\$objects\.centry\.CE\.order\[0\]\._id: an id is a string"):
        Emulator(Settings(port=0, state=state)).start()


async def test_options_on_an_object_route_answers_as_the_webhook_routes_do(api: Api) -> None:
    webhooks = await api.request("OPTIONS", "/v2/webhooks/", headers=GIGAPAY)
    for path in ("/v2/payouts/", f"/v2/payouts/{PAYOUT}/"):
        described = await api.request("OPTIONS", path, headers=GIGAPAY)
        assert described.status == 200 and described.json["renders"] == webhooks.json["renders"]
        assert described.json["name"] == ("Payout List" if path.endswith("payouts/") else "Payout Instance")
        assert "actions" not in described.json  # (a read-only view: DRF lists no actions)
    refused = await api.delete("/v2/payouts/", headers=GIGAPAY)
    assert refused.headers["Allow"] == "GET, HEAD, OPTIONS"
    preflight = await api.request("OPTIONS", "/v1/webhooks", headers=PAYBOOK)
    for path in ("/v1/credentials", "/v1/accounts", "/v1/transactions", "/v1/credentials/5e73bfe6d036f64a591d88ff"):
        answer = await api.request("OPTIONS", path)
        assert (answer.status, answer.raw) == (200, preflight.raw), path
        assert answer.headers["Access-Control-Allow-Origin"] == preflight.headers["Access-Control-Allow-Origin"] == "*"


async def test_a_firing_that_would_store_a_misshapen_object_is_refused_with_nothing_stored_or_sent(api: Api) -> None:
    await api.post("/v2/webhooks/", headers=GIGAPAY,
                   json={"url": "http://127.0.0.1:9/hook", "events": ["Payout.created"]})
    wrong = await api.post("/_emulator/events", json={
        "provider": "centry", "event": "on_product_save", "tenant": "CE", "data": {"product_id": "not-hex"},
        "objects": {"product": {"price": "notnum"}}}, validate=False)
    assert wrong.status == 400 and wrong.json["error"] == "validation"
    assert wrong.json["message"].startswith("at $.data: on_product_save would store product not-hex")
    priced = await api.post("/_emulator/events", json={
        "provider": "centry", "event": "on_product_save", "tenant": "CE", "objects": {"product": {"price": "notnum"}}},
                            validate=False)
    assert priced.status == 400 and priced.json["message"].startswith("at $.objects.product.price: ")
    numbers = await api.post("/_emulator/events", json={"provider": "gigapay", "event": "Payout.created",
                                                        "tenant": "GP", "data": {"amount": 5, "employee": 5}},
                             validate=False)
    assert numbers.status == 400 and numbers.json["message"].startswith("at $.data: Payout.created would store payout")
    assert "objects" not in (await api.get("/_emulator/state")).json["centry"]
    assert "objects" not in (await api.get("/_emulator/state")).json["gigapay"]
    assert (await api.get("/_emulator/deliveries")).json["deliveries"] == []
    fired = await api.post("/_emulator/events", json={"provider": "centry", "event": "on_product_save", "tenant": "CE",
                                                      "objects": {"product": {"price": 990}}})
    assert fired.status == 202
    snapshot = (await api.get("/_emulator/state/snapshot")).json
    assert (await api.put("/_emulator/state", json=snapshot)).status == 200


async def test_the_objects_of_one_firing_name_each_other(api: Api) -> None:
    credential = "5e73bfe6d036f64a591d88ff"
    await api.post("/_emulator/events", json={"provider": "paybook", "event": "refresh", "tenant": "PB",
                                              "data": {"id_credential": credential}})
    [account] = (await api.get(f"/v1/accounts?id_credential={credential}", headers=PAYBOOK)).json["response"]
    transactions = (await api.get(f"/v1/transactions?id_credential={credential}", headers=PAYBOOK)).json["response"]
    [attachment] = (await api.get(f"/v1/attachments?id_credential={credential}", headers=PAYBOOK)).json["response"]
    assert len(transactions) == 3 and {t["id_account"] for t in transactions} == {account["id_account"]}
    listing = [t for t in transactions if t["attachments"]]
    assert [a["id_attachment"] for t in listing for a in t["attachments"]] == [attachment["id_attachment"]]
    assert attachment["id_account"] == account["id_account"]
    assert attachment["id_transaction"] == listing[0]["id_transaction"]
    await api.post("/_emulator/events", json={"provider": "centry", "event": "on_product_save", "tenant": "CE",
                                              "data": {"product_id": "597644781d41c846ea0000ab"}})
    product = (await api.get("/conexion/v1/products/597644781d41c846ea0000ab.json", headers=CENTRY)).json
    assert product["variants"] and {v["product_id"] for v in product["variants"]} == {"597644781d41c846ea0000ab"}


async def test_object_lists_refuse_unusable_date_filters_as_the_webhook_list_does(api: Api) -> None:
    webhooks = await api.get("/webhooks?from_date=abc", headers=SHAREACTOR, validate=False)
    users = await api.get("/users?from_date=abc", headers=SHAREACTOR, validate=False)
    assert webhooks.status == 400 and (users.status, users.json) == (webhooks.status, webhooks.json)
    wrong_field = await api.get("/users?date_filter=nope", headers=SHAREACTOR, validate=False)
    assert wrong_field.status == 400
    assert (await api.get("/users?from_date=1475428903950", headers=SHAREACTOR)).status == 200


async def test_an_unknown_object_is_not_found_in_the_kinds_own_words(api: Api) -> None:
    anvil = await api.get("/acme/anvils/nope", headers=ACME_KEY)
    assert (anvil.status, anvil.json) == (404, {"error": {"code": 404, "message": "no such anvil"}})
    hook = await api.get("/acme/hooks/nope", headers=ACME_KEY)
    assert hook.json["error"]["message"] == "no such hook"
    payout = await api.get(f"/v2/payouts/{PAYOUT}/", headers=GIGAPAY)  # (unsaid: the provider's message)
    assert (payout.status, payout.json) == (404, {"detail": "Not found."})


async def test_a_put_objects_change_times_are_no_earlier_than_its_creation(api: Api) -> None:
    oid = "57ee9c72d76d431f85111499"
    await api.put("/_emulator/providers/shareactor/objects/user",
                  json={"tenant": "SA", "object": {"_id": {"$oid": oid}}})
    user = (await api.get(f"/users/{oid}", headers=SHAREACTOR)).json
    assert user["modified"]["$date"] >= user["created"]["$date"] > 1475428903951  # (later than the sample's)
    await api.put("/_emulator/providers/shareactor/objects/plan", json={"tenant": "SA", "object": {}})
    [plan] = (await api.get("/_emulator/state")).json["shareactor"]["objects"]["SA"]["plan"]
    assert plan["updated"]["$date"] >= plan["created"]["$date"]


async def test_a_put_payouts_employee_and_payrun_are_there_to_follow(api: Api) -> None:
    await api.put("/_emulator/providers/gigapay/objects/payout",
                  json={"tenant": "GP", "scope": "integration-1", "object": {"id": PAYOUT}})
    payout = (await api.get(f"/v2/payouts/{PAYOUT}/", headers=GIGAPAY)).json
    employee = await api.get(f"/v2/employees/{payout['employee']}/", headers=GIGAPAY)
    payrun = await api.get(f"/v2/payruns/{payout['payrun']}/", headers=GIGAPAY)
    assert (employee.status, employee.json["id"]) == (200, payout["employee"])
    assert (payrun.status, payrun.json["id"]) == (200, payout["payrun"])
    other = await api.get(f"/v2/employees/{payout['employee']}/", headers={**GIGAPAY, "Integration-ID": "other"})
    assert other.status == 404


def test_a_state_files_payout_has_its_employee_and_payrun_to_follow(tmp_path: Path) -> None:
    state = tmp_path / "state.yaml"
    state.write_text(f"$objects:\n  gigapay:\n    GP:\n      payout: [{{id: {PAYOUT}, $scope: integration-1}}]\n",
                     encoding="utf-8")
    with Emulator(state=state) as emulator:
        headers = {"Authorization": "Token GP", "Integration-ID": "integration-1"}
        payout = requests.get(f"{emulator.url}/v2/payouts/{PAYOUT}/", headers=headers, timeout=10).json()
        for kind in ("employee", "payrun"):
            followed = requests.get(f"{emulator.url}/v2/{kind}s/{payout[kind]}/", headers=headers, timeout=10)
            assert (followed.status_code, followed.json()["id"]) == (200, payout[kind])
