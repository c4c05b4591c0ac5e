"""A list page is rendered once and answered from memory until its collection changes: what a
client sees must be exactly what a fresh rendering would give, whatever changed in between and
whoever asks (another query, host, scope, or a person with curl)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, MakeApi, free_port
from tests.providers.clients import auth

GIGAPAY = auth("gigapay", "LISTER", integration="int-1")
PAYBOOK = auth("paybook", "LISTER")


async def gigapay_webhook(api: Api, headers: dict[str, str] = GIGAPAY, **fields: Any) -> dict[str, Any]:
    body = {"url": "https://example.com/gp", "events": ["Payout.created"], **fields}
    answer = await api.post("/v2/webhooks/", json=body, headers=headers)
    assert answer.status == 201, answer.json
    return answer.json  # type: ignore[no-any-return]


async def urls(api: Api, path: str = "/v2/webhooks/", headers: dict[str, str] = GIGAPAY) -> list[str]:
    return [w["url"] for w in (await api.get(path, headers=headers)).json["results"]]


async def test_updates_and_replacements_show_in_the_next_list(api: Api) -> None:
    first = await gigapay_webhook(api, url="https://example.com/one")
    second = await gigapay_webhook(api, url="https://example.com/two")
    assert await urls(api) == ["https://example.com/one", "https://example.com/two"]
    patched = await api.patch(f"/v2/webhooks/{first['id']}/", json={"url": "https://example.com/uno"},
                              headers=GIGAPAY)
    assert patched.status == 200
    assert await urls(api) == ["https://example.com/uno", "https://example.com/two"]
    replaced = await api.put(f"/v2/webhooks/{second['id']}/", json={"url": "https://example.com/dos",
                                                                     "events": ["Payout.created"]}, headers=GIGAPAY)
    assert replaced.status == 200
    assert await urls(api) == ["https://example.com/uno", "https://example.com/dos"]


async def test_pages_differ_by_query_host_and_scope(api: Api) -> None:
    for n in range(3):
        await gigapay_webhook(api, url=f"https://example.com/{n}")
    await gigapay_webhook(api, {**GIGAPAY, "Integration-ID": "int-2"}, url="https://example.com/other-scope")
    assert await urls(api) == [f"https://example.com/{n}" for n in range(3)]
    assert await urls(api, "/v2/webhooks/?page_size=2&page=2") == ["https://example.com/2"]
    assert await urls(api, "/v2/webhooks/?page_size=2") == ["https://example.com/0", "https://example.com/1"]
    other_scope = {**GIGAPAY, "Integration-ID": "int-2"}
    assert await urls(api, headers=other_scope) == ["https://example.com/other-scope"]
    # The next-page link names the host the client asked for, whichever asked first.
    links = []
    for host in ("first.localhost:8000", "second.localhost:9000"):
        answer = await api.get("/v2/webhooks/?page_size=2", headers={**GIGAPAY, "Host": host})
        links.append(answer.json["next"])
    assert links == ["http://first.localhost:8000/v2/webhooks/?page=2&page_size=2",
                     "http://second.localhost:9000/v2/webhooks/?page=2&page_size=2"]


async def test_the_envelope_around_a_kept_page_has_a_new_request_id_each_time(api: Api) -> None:
    answer = await api.post("/v1/webhooks", json={"url": "https://example.com/pb", "events": ["refresh"]},
                            headers=PAYBOOK)
    assert answer.status == 200
    first, second = [await api.get("/v1/webhooks", headers=PAYBOOK) for _ in range(2)]
    assert first.json["rid"] != second.json["rid"]
    assert {**first.json, "rid": None} == {**second.json, "rid": None}
    assert list(first.json) == ["rid", "code", "errors", "status", "message", "response"]
    assert first.json["code"] == 200 and first.json["response"][0]["url"] == "https://example.com/pb"
    pretty = await api.get("/v1/webhooks", headers={**PAYBOOK, "User-Agent": "curl/8.5.0"})
    assert {**pretty.json, "rid": None} == {**first.json, "rid": None}


async def test_a_reset_and_a_new_state_document_show_in_the_next_list(make_api: MakeApi) -> None:
    api = await make_api()
    await gigapay_webhook(api)
    assert len(await urls(api)) == 1
    assert (await api.post("/_emulator/reset")).status in (200, 204)
    assert await urls(api) == []
    await gigapay_webhook(api, url="https://example.com/before")
    assert await urls(api) == ["https://example.com/before"]
    document = (await api.get("/_emulator/state/snapshot")).json
    [webhook] = document["gigapay"]["LISTER"]
    webhook["url"] = "https://example.com/after"
    assert (await api.put("/_emulator/state", json=document)).status == 200
    assert await urls(api) == ["https://example.com/after"]


async def test_a_list_shows_a_failure_counter_a_delivery_changed(make_api: MakeApi) -> None:
    """Paybook counts failed attempts in the webhook itself (`ct_failed`): a counter written by a
    delivery, not by a request, must still show in the next list."""
    api = await make_api(time_scale=1e-6)

    async def failures() -> int:
        return int((await api.get("/v1/webhooks", headers=PAYBOOK)).json["response"][0]["ct_failed"])

    body = {"url": f"http://127.0.0.1:{free_port()}/closed", "events": ["refresh"]}
    assert (await api.post("/v1/webhooks", json=body, headers=PAYBOOK)).status == 200
    assert await failures() == 0
    fired = await api.post("/_emulator/events", json={"provider": "paybook", "event": "refresh", "wait": True})
    assert fired.status == 200 and fired.json["complete"] is True
    assert await failures() == len(fired.json["deliveries"][0]["attempts"]) > 0
