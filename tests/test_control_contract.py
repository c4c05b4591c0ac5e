"""The control API's request bodies have one contract, the JSON Schema each route publishes in the
OpenAPI document: schemathesis generates bodies from it, valid and invalid, and the server agrees
with the document on every one (an invalid body is refused with a 4xx and says why, a valid one
passes the schema check; nothing answers 5xx)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, reject, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from emulator.control.api import all_routes
from emulator.control.base import ControlRoute
from emulator.control.openapi import build_openapi
from emulator.engine.formats import is_header_name
from emulator.engine.provider import load_providers

# The emulator's own formats, generated as the server reads them (schemathesis knows only the standard ones).
schemathesis.openapi.format("http-url", st.from_regex(r"\Ahttps?://[a-z0-9.-]{1,20}(/[a-z0-9]{0,8})?\Z"))
schemathesis.openapi.format("header-name", st.from_regex(r"\AX-[A-Za-z0-9-]{1,12}\Z").filter(is_header_name))
schemathesis.openapi.format("header-value", st.from_regex(r"\A[ -~]{0,20}\Z"))

SCHEMA = schemathesis.openapi.from_dict(build_openapi(load_providers([]), all_routes()))
ROUTES = {(route.method, route.path): route for route in all_routes() if route.body is not None}
OPERATIONS = [op for op in (result.ok() for result in SCHEMA.get_all_operations())
              if op.path.startswith("/_emulator/") and (op.method.upper(), op.path) in ROUTES]
EXAMPLES = 25


def test_every_control_route_with_a_body_is_fuzzed() -> None:
    assert {(op.method.upper(), op.path) for op in OPERATIONS} == set(ROUTES)
    assert ("POST", "/_emulator/faults") in ROUTES and ("POST", "/_emulator/events") in ROUTES


def _run(operation: Any, mode: GenerationMode, check: Callable[[ControlRoute, Any, requests.Response], None],
         url: str, session: requests.Session) -> None:
    route = ROUTES[(operation.method.upper(), operation.path)]

    @seed(0)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        if not isinstance(case.body, dict):
            reject()  # (a body that is no JSON object at all: the hostile-input tests cover those)
        session.post(f"{url}/_emulator/reset", json={}, timeout=10)
        response = case.call(base_url=url, session=session, timeout=30, allow_redirects=False)
        assert response.status_code < 500, (case.body, response.text)
        check(route, case.body, response)

    run()


def _refused_as_the_schema_says(route: ControlRoute, body: Any, response: requests.Response) -> None:
    problem = route.contract.problem(body, {"providers": "", "provider": ""})
    if problem is None:
        reject()  # schemathesis could not make this body invalid (e.g. only a format is broken)
    assert 400 <= response.status_code < 500, (body, response.status_code, response.text)
    assert response.json()["error"] in ("validation", "not_found"), response.text


def _passes_the_schema(route: ControlRoute, body: Any, response: requests.Response) -> None:
    assert route.contract.problem(body) is None, body
    if response.status_code == 400:  # a rule between fields, or a value that names nothing known
        message = response.json()["message"]
        assert not message.startswith("unknown field(s)"), (body, message)


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_the_server_agrees_with_the_published_body_schema(webhook_emulator_factory: Any, operation: Any) -> None:
    emulator = webhook_emulator_factory(seed=1, time_scale=1e-6)
    with requests.Session() as session:
        body = ROUTES[(operation.method.upper(), operation.path)].body or {}
        if body.get("properties"):  # (a bare object schema: only a non-object breaks it)
            _run(operation, GenerationMode.NEGATIVE, _refused_as_the_schema_says, emulator.url, session)
        _run(operation, GenerationMode.POSITIVE, _passes_the_schema, emulator.url, session)


@pytest.mark.parametrize(("body", "message"), [
    ({"provider": [], "status": 429}, "provider must name one of centry, "),
    ({"status": 500, "probability": 0}, "probability must be a number in (0, 1]"),
    ({"status": 429.0}, None),
    ({"status": 500, "colour": "red"}, "unknown field(s) colour; the fields are provider, "),
])
def test_fault_rule_bodies_follow_their_schema(webhook_emulator_factory: Any, body: dict[str, Any],
                                               message: str | None) -> None:
    emulator = webhook_emulator_factory()
    answer = requests.post(f"{emulator.url}/_emulator/faults", json=body, timeout=10)
    if message is None:
        assert answer.status_code == 201 and answer.json()["status"] == 429 and answer.json()["retry_after"] == 1
    else:
        assert answer.status_code == 400 and answer.json()["message"].startswith(message), answer.text


@pytest.mark.parametrize(("k", "status"), [("c2VjcmV0", 200), ("c2VjcmV0MQ==", 200), ("c2VjcmV0MQ", 200),
                                           ("a", 400), ("abcd\n", 400), ("ab+/", 400)])
def test_a_jwk_is_taken_as_its_schema_says(webhook_emulator_factory: Any, k: str, status: int) -> None:
    emulator = webhook_emulator_factory()
    answer = requests.put(f"{emulator.url}/_emulator/providers/syncfy/jwk", json={"kty": "oct", "k": k}, timeout=10)
    assert answer.status_code == status, answer.text
    if status == 200:
        assert requests.get(f"{emulator.url}/_emulator/providers/syncfy/jwk", timeout=10).json()["k"] == k
