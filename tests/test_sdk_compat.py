"""The providers' official SDKs against the emulator, with only their base URL changed:
`sync-py` (Paybook Sync) and `builton-sdk` (ShareActor's later name)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sync.sync as sync_module
from builton_sdk import Builton

from emulator import Emulator
from emulator.pytest_plugin import EmulatorHandle
from tests.conftest import in_process

PAYBOOK = {"api_key": "SDK_KEY"}
HOOK = "https://example.com/hook"


@pytest.fixture
def emulator(webhook_emulator_pool: Callable[..., EmulatorHandle]) -> Emulator:
    return in_process(webhook_emulator_pool(seed=1, time_scale=1.0))


@pytest.fixture
def sync(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> type[sync_module.Sync]:
    """sync-py's documented way to point it elsewhere: its module-level SYNC_API_URL."""
    monkeypatch.setattr(sync_module, "SYNC_API_URL", emulator.client.url_for("paybook"))
    return sync_module.Sync


@pytest.fixture
def builton(emulator: Emulator) -> Builton:
    return Builton(api_key="SDK_KEY", bearer_token="eyJhbGciOiJIUzI1NiJ9.e30.sig", endpoint=emulator.url + "/")


def test_sync_py_creates_lists_and_deletes_webhooks(sync: type[sync_module.Sync], emulator: Emulator) -> None:
    created = sync.run(PAYBOOK, "/webhooks", {"url": HOOK, "events": ["refresh"]}, "POST")
    assert created["url"] == HOOK and isinstance(created["dt_created"], int)

    listed = sync.run(PAYBOOK, "/webhooks", None, "GET")
    assert [w["id_webhook"] for w in listed] == [created["id_webhook"]]

    deleted = sync.run(PAYBOOK, f"/webhooks/{created['id_webhook']}", None, "DELETE")
    assert deleted["response"] is True  # the SDK hands back the whole envelope for a boolean
    assert sync.run(PAYBOOK, "/webhooks", None, "GET") == []

    journal = emulator.client.requests(provider="paybook")
    assert {(r["method"], r["status"]) for r in journal} == {("POST", 200)}  # the SDK POSTs with an override


def test_sync_py_raises_the_envelope_message(sync: type[sync_module.Sync]) -> None:
    with pytest.raises(sync_module.Error) as raised:
        sync.run({}, "/webhooks", None, "GET")
    assert (raised.value.code, raised.value.message) == (401, "Unauthorized")
    with pytest.raises(sync_module.Error) as invalid:
        sync.run(PAYBOOK, "/webhooks", {"url": HOOK, "events": ["nope"]}, "POST")
    assert invalid.value.code == 400 and "nope" in invalid.value.message


def test_builton_sdk_manages_webhooks(builton: Builton, emulator: Emulator) -> None:
    created = builton.webhook().create(body={"endpoint": HOOK, "event_type": "order.created"})
    assert created.endpoint == HOOK and len(created.id) == 24

    [listed] = builton.webhook().get_all(size=10, page=0)
    assert listed.id == created.id

    fetched = builton.webhook().get(created.id)
    assert fetched.event_type == "order.created"

    updated = builton.webhook(created.id).update(body={"event_type": "order.updated"})
    assert updated.event_type == "order.updated"

    deleted = builton.webhook(created.id).delete()
    assert deleted.deleted is True
    assert builton.webhook().get_all() == []

    journal = emulator.client.requests(provider="shareactor")
    assert [r["method"] for r in journal] == ["POST", "GET", "GET", "PUT", "DELETE", "GET"]


def test_builton_sdk_raises_on_errors(builton: Builton) -> None:
    with pytest.raises(Exception, match="Not Found"):
        builton.webhook().get("5964a0ead57ba2036750a3b4")
