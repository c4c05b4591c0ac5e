"""A firing that reaches nobody says why in the control API's answer: no webhook of the provider,
none of that tenant, none that wants the event, or the ones that want it are disabled; and it lists
the webhooks that exist. A firing that reaches someone carries no explanation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from emulator import Emulator
from emulator.pytest_plugin import EmulatorHandle
from tests.conftest import in_process


@pytest.fixture
def emulator(webhook_emulator_pool: Callable[..., EmulatorHandle]) -> Emulator:
    return in_process(webhook_emulator_pool(time_scale=1e-6))


def fire(emulator: Emulator, **body: Any) -> dict[str, Any]:
    answer = requests.post(emulator.url + "/_emulator/events", json=body, timeout=30)
    assert answer.status_code in (200, 202), answer.text
    return answer.json()


def paybook_webhook(emulator: Emulator, key: str, events: list[str]) -> dict[str, Any]:
    created = requests.post(emulator.url + "/v1/webhooks", headers={"Authorization": f"api_key api_key={key}"},
                            json={"url": "http://127.0.0.1:9/hook", "events": events}, timeout=10)
    assert created.status_code < 300, created.text
    return created.json()["response"]


def test_no_webhook_of_the_provider(emulator: Emulator) -> None:
    answer = fire(emulator, provider="gigapay", event="Payout.created")
    assert answer["deliveries"] == [] and answer["webhooks"] == []
    assert answer["reason"] == "no gigapay webhook is registered"


def test_none_of_that_tenant_and_none_that_wants_it_list_the_webhooks(emulator: Emulator) -> None:
    webhook = paybook_webhook(emulator, "KEY_A", ["refresh"])
    listed = [{"id": webhook["id_webhook"], "tenant": "KEY_A", "url": "http://127.0.0.1:9/hook",
               "events": ["refresh"], "disabled": False}]
    other = fire(emulator, provider="paybook", event="refresh", tenant="KEY_B", wait=True)
    assert other["reason"] == "no paybook webhook belongs to tenant 'KEY_B' (1 belong to others)"
    assert other["webhooks"] == listed and other["webhooks_total"] == 1 and other["complete"] is True
    unwanted = fire(emulator, provider="paybook", event=["credential_create", "documents_completed"])
    assert unwanted["reason"] == "none of the 1 paybook webhook(s) wants credential_create or documents_completed"
    assert unwanted["webhooks"] == listed


def test_a_disabled_webhook_that_wants_it_is_named_as_the_reason(emulator: Emulator) -> None:
    webhook = paybook_webhook(emulator, "KEY_A", ["refresh"])
    # What Paybook does after 1000 failed deliveries (see test_delivery), done here at once.
    collection = emulator.state.store.collection("paybook", "KEY_A")
    record = collection.get(webhook["id_webhook"])
    assert record is not None
    record.data["is_disabled"] = 1
    collection.changed(record)
    answer = fire(emulator, provider="paybook", event="refresh")
    assert answer["reason"] == "the 1 paybook webhook(s) that want refresh are disabled"
    assert answer["webhooks"][0]["disabled"] is True


def test_a_firing_that_reaches_someone_has_no_reason(emulator: Emulator) -> None:
    paybook_webhook(emulator, "KEY_A", ["refresh"])
    answer = fire(emulator, provider="paybook", event="refresh")
    assert len(answer["deliveries"]) == 1 and "reason" not in answer and "webhooks" not in answer


def test_a_mistyped_name_gets_a_suggestion_in_the_error(emulator: Emulator) -> None:
    provider = requests.post(emulator.url + "/_emulator/events", json={"provider": "paybok", "event": "refresh"},
                             timeout=10)
    event = requests.post(emulator.url + "/_emulator/events", json={"provider": "paybook", "event": "refesh"},
                          timeout=10)
    assert provider.status_code == 404 and "no provider named 'paybok' (did you mean 'paybook'?)" in provider.text
    assert event.status_code == 400 and "no event 'refesh' (did you mean 'refresh'?)" in event.text


@pytest.mark.parametrize(("provider", "event", "mode"), [("shareactor", "order.created", "stale_timestamp"),
                                                         ("centry", "on_order_save", "wrong_secret")])
def test_a_forgery_the_providers_scheme_cannot_have_is_refused_with_nothing_sent(
        emulator: Emulator, provider: str, event: str, mode: str) -> None:
    """Sending it would deliver a genuine notification under a forgery's name."""
    answer = requests.post(emulator.url + "/_emulator/events", timeout=30, json={
        "provider": provider, "event": event, "url": "http://127.0.0.1:9/hook", "signature": mode})
    assert answer.status_code == 400 and answer.json()["message"].startswith(f"signature {mode} does not apply: ")
    assert requests.get(emulator.url + "/_emulator/deliveries", timeout=10).json()["deliveries"] == []
