"""Every problem of a request body is reported at once, each field once, in the provider's own
error style: bodies with several problems at once, and the whole error body each one gets."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.providers.clients import auth

GIGAPAY = auth("gigapay", "t", integration="i")
PAYBOOK = auth("paybook", "k")
SHAREACTOR = auth("shareactor", "k")
CENTRY = auth("centry", "k")
LONG_URL = "https://gigatron.se/" + "a" * 200


def paybook_error(message: str) -> dict[str, Any]:
    """Paybook's (and Syncfy's) error envelope around `message`; `rid` is checked apart."""
    return {"code": 400, "errors": None, "status": False, "message": message, "response": None}


CASES: list[tuple[str, str, str, dict[str, str], Any, int, Any]] = [
    # (name, method, path, headers, body, status, the whole error body)
    ("gigapay-empty", "POST", "/v2/webhooks/", GIGAPAY, {}, 400,
     {"url": ["This field is required."], "events": ["This field is required."]}),
    ("gigapay-many", "POST", "/v2/webhooks/", GIGAPAY,
     {"id": "", "url": LONG_URL + " x", "events": ["X", "Payout.created", "Y"], "metadata": [], "secret_key": 5},
     400,
     {"id": ["This field may not be blank."],
      "url": ["Ensure this field has no more than 200 characters.", "Enter a valid URL."],
      "events": {"0": ['"X" is not a valid choice.'], "2": ['"Y" is not a valid choice.']},
      "secret_key": ["Not a valid string."],
      "metadata": ['Expected a dictionary of items but got type "list".']}),
    ("gigapay-patch", "PATCH", "/v2/webhooks/{id}/", GIGAPAY, {"events": [], "url": "ftp://x"}, 400,
     {"url": ["Enter a valid URL."], "events": ["This list may not be empty."]}),
    ("shareactor-empty", "POST", "/webhooks", SHAREACTOR, {}, 400,
     {"message": "endpoint is required; event_type is required", "status": 400}),
    ("shareactor-many", "POST", "/webhooks", SHAREACTOR, {"endpoint": "mailto:x", "event_type": "nope"}, 400,
     {"message": "endpoint must be an http(s) URL; event_type: nope is not a valid event type", "status": 400}),
    ("paybook-empty", "POST", "/v1/webhooks", PAYBOOK, {}, 400,
     paybook_error("Bad Request: url is required; events is required")),
    ("paybook-many", "POST", "/v1/webhooks", PAYBOOK,
     {"url": "x", "events": ["refresh", "nope"], "delay": -1, "id_user": "zz", "headers": {"a": 1, "b": "ok"}}, 400,
     paybook_error('Bad Request: url must be an http(s) URL; events.1: nope is not a valid event; '
                   "id_user must be a 24-character hex id; delay must be >= 0; headers.a must be of type string")),
    # Fields in the order the schema declares them (as the provider renders its objects).
    ("syncfy-empty", "POST", "/v1/webhooks/subscriptions", PAYBOOK, {}, 400,
     paybook_error("Bad Request: events is required; url is required")),
    ("syncfy-many", "POST", "/v1/webhooks/subscriptions", PAYBOOK,
     {"events": [], "group_events": 2, "id_environment": "x", "description": 1}, 400,
     paybook_error("Bad Request: id_environment must be a 24-character hex id; description must be of type string; "
                   "events must not be empty; group_events: 2 is not a valid value; url is required")),
    ("centry-empty", "POST", "/conexion/v1/webhooks.json", CENTRY, {}, 422, {"error": "callback_url can't be blank"}),
    ("centry-many", "POST", "/conexion/v1/webhooks.json", CENTRY,
     {"on_order_save": "yes", "on_product_save": 1, "callback_url": "not a url"}, 422,
     {"error": "callback_url is invalid; on_order_save must be true or false; "
               "on_product_save must be true or false"}),
]
CREATE = {
    "/v2/webhooks/{id}/": ("/v2/webhooks/", {"url": "https://x.se/", "events": ["Payout.created"]}),
}


@pytest.mark.parametrize(("method", "path", "headers", "body", "status", "error"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_every_problem_is_reported_once_in_the_provider_style(
        api: Api, method: str, path: str, headers: dict[str, str], body: Any, status: int, error: Any) -> None:
    if path in CREATE:
        create_path, create_body = CREATE[path]
        created = await api.post(create_path, json=create_body, headers=headers)
        path = path.replace("{id}", created.json["id"])
    answer = await api.request(method, path, json=body, headers=headers)
    assert answer.status == status
    got = dict(answer.json)
    if "rid" in got:
        assert isinstance(got.pop("rid"), str)
    assert got == error


async def test_a_taken_id_is_reported_with_the_other_problems(api: Api) -> None:
    await api.post("/v2/webhooks/", json={"id": "481272", "url": "https://x.se/", "events": ["Payout.created"]},
                   headers=GIGAPAY)
    answer = await api.post("/v2/webhooks/", json={"id": "481272", "url": "x"}, headers=GIGAPAY)
    assert answer.status == 400
    assert answer.json == {"id": ["webhook with this id already exists."], "url": ["Enter a valid URL."],
                           "events": ["This field is required."]}
