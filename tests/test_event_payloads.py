"""Event payloads that match the providers' docs, seen in real notifications: Syncfy's
`credentials.refreshed` is Paybook v1's `refresh` payload plus the job types, and a ShareActor
object belongs to the company of the webhook it is sent to."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import MakeApi
from tests.test_delivery import AUTH, FAST, OTHER_AUTH, Receiver, check_notification, fired, fired_at, register

REFRESH_KEYS = {"endpoints", "event", "id_credential", "id_external", "id_job", "id_job_type", "id_job_uuid",
                "id_job_uuid_type", "id_site", "id_site_organization", "id_site_organization_type", "id_user"}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    started = await Receiver().start()
    yield started
    await started.stop()


async def test_syncfy_credentials_refreshed_is_the_v3_samples_refresh_payload(
        receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    await fired_at(api, "syncfy", "credentials.refreshed", receiver.url)
    [hit] = receiver.hits
    body = check_notification(api, "syncfy", hit, ["credentials.refreshed"])
    payload = body["events"][0]["payload"]
    assert set(payload) == REFRESH_KEYS and payload["event"] == "refresh"
    credential = payload["id_credential"]
    assert sorted(payload["endpoints"]) == ["accounts", "attachments", "credential", "transactions"]
    [accounts] = payload["endpoints"]["accounts"]  # one URL a list, with the refreshed window (issue 17)
    assert accounts.startswith(f"/v1/accounts?id_credential={credential}&dt_refresh_from=")
    assert all(f"id_credential={credential}" in url for url in payload["endpoints"]["transactions"])
    assert len(payload["endpoints"]["attachments"]) == 1


async def test_syncfy_credentials_created_keeps_the_credential_payload(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    await fired_at(api, "syncfy", "credentials.created", receiver.url)
    payload = check_notification(api, "syncfy", receiver.hits[0], ["credentials.created"])["events"][0]["payload"]
    assert list(payload["endpoints"]) == ["credential"] and payload["is_executing"] == 1
    assert "id_job_type" not in payload


async def test_a_shareactor_object_belongs_to_the_webhook_owners_company(receiver: Receiver,
                                                                          make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    mine = await register(api, "shareactor", f"{receiver.url}/mine", ["order.created"], auth=AUTH["shareactor"])
    theirs = await register(api, "shareactor", f"{receiver.url}/theirs", ["order.created"],
                            auth=OTHER_AUTH["shareactor"])
    assert mine["company"] != theirs["company"]
    deliveries = await fired(api, provider="shareactor", event="order.created")
    assert len(deliveries) == 2
    companies = {hit.path: check_notification(api, "shareactor", hit, ["order.created"])["object"]["company"]
                 for hit in receiver.hits}
    assert companies == {"/mine": mine["company"], "/theirs": theirs["company"]}


async def test_a_shareactor_object_at_an_explicit_url_names_a_company(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    await fired_at(api, "shareactor", ["user.created", "plan.deleted"], receiver.url)
    objects = [check_notification(api, "shareactor", hit, [hit.json["kind"]])["object"]
               for hit in receiver.hits]
    assert len(objects) == 2 and all(len(o["company"]["$oid"]) == 24 for o in objects)


async def test_data_still_overrides_the_company(receiver: Receiver, make_api: MakeApi) -> None:
    api = await make_api(**FAST)
    company = {"$oid": "5964a0ead57ba2036750a3b4"}
    await fired_at(api, "shareactor", "order.created", receiver.url, data={"company": company})
    assert receiver.hits[0].json["object"]["company"] == company
