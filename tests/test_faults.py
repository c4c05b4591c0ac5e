"""Provider faults on demand, seen from real clients: `requests`, the official SDKs (sync-py and
builton-sdk), the pytest plugin, EmulatorClient and the CLI. Every status a fault answers comes
in the provider's own error body (tests/conftest.py's Api checks it against the error schema)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import sync.sync as sync_module
from builton_sdk import Builton

from emulator import Emulator, Settings
from emulator.client import ControlError
from emulator.pytest_plugin import EmulatorHandle
from tests.conftest import Api, in_process
from tests.providers.clients import auth

GIGAPAY = auth("gigapay", "GP", integration="11111111-1111-4111-8111-111111111111")
HOOK = {"url": "https://example.com/hook", "events": ["Payout.created"]}
PAYBOOK = {"api_key": "SDK_KEY"}


@pytest.fixture
def emulator(webhook_emulator_pool: Callable[..., EmulatorHandle]) -> Emulator:
    return in_process(webhook_emulator_pool(seed=1, time_scale=1.0))


def create_gigapay(emulator: Emulator, key: str = "GP", timeout: float = 10) -> requests.Response:
    return requests.post(f"{emulator.url}/v2/webhooks/", json=HOOK, timeout=timeout,
                         headers={**GIGAPAY, "Authorization": f"Token {key}"})


def gigapay_webhooks(emulator: Emulator, key: str = "GP") -> list[dict[str, Any]]:
    answer = requests.get(f"{emulator.url}/v2/webhooks/", headers={**GIGAPAY, "Authorization": f"Token {key}"},
                          timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["results"]


# -- the control API ---------------------------------------------------------------------------------

async def test_rules_are_added_listed_fetched_and_removed(api: Api) -> None:
    added = await api.post("/_emulator/faults", json={"provider": "gigapay", "status": 429, "times": 2})
    assert added.status == 201
    assert added.json == {"id": "f1", "provider": "gigapay", "method": None, "path": None, "tenant": None,
                          "status": 429, "retry_after": 1, "latency": 0.0, "drop": False, "times": 2,
                          "probability": None, "hits": 0, "remaining": 2}
    other = (await api.post("/_emulator/faults", json={"method": "get", "path": "/v2/*", "latency": 0.01})).json
    assert other["method"] == "GET" and other["id"] == "f2"
    listed = (await api.get("/_emulator/faults")).json["faults"]
    assert [r["id"] for r in listed] == ["f1", "f2"]
    assert (await api.get("/_emulator/faults/f2")).json == other
    assert (await api.request("DELETE", "/_emulator/faults/f1")).json["id"] == "f1"
    assert (await api.get("/_emulator/faults/f1")).status == 404
    assert (await api.request("DELETE", "/_emulator/faults")).json == {"deleted": ["f2"]}
    assert (await api.get("/_emulator/faults")).json == {"faults": []}


@pytest.mark.parametrize(("rule", "message"), [
    ({}, "needs an effect"),
    ({"status": 200}, "400..599"),
    ({"status": 500, "drop": True}, "not both"),
    ({"provider": "nope", "status": 500}, "provider must name"),
    ({"status": 500, "times": 0}, "times"),
    ({"status": 500, "probability": 1.5}, "probability"),
    ({"drop": True, "retry_after": 3}, "retry_after"),
    ({"latency": -1}, "latency"),
    ({"status": 500, "path": "v2"}, "path"),
    ({"status": 500, "colour": "red"}, "unknown field(s) colour"),
])
async def test_a_bad_rule_is_refused(api: Api, rule: dict[str, Any], message: str) -> None:
    answer = await api.post("/_emulator/faults", json=rule)
    assert answer.status == 400 and message in answer.json["message"]
    assert (await api.get("/_emulator/faults")).json == {"faults": []}


async def test_a_reset_clears_the_rules(api: Api) -> None:
    await api.post("/_emulator/faults", json={"provider": "gigapay", "status": 500})
    await api.post("/_emulator/faults", json={"provider": "centry", "status": 500})
    await api.post("/_emulator/reset", json={"provider": "gigapay"})
    assert [r["provider"] for r in (await api.get("/_emulator/faults")).json["faults"]] == ["centry"]
    await api.post("/_emulator/reset", json={})
    assert (await api.get("/_emulator/faults")).json == {"faults": []}


# -- each effect, in each provider's own style ---------------------------------------------------------

CALLS = {  # one authenticated call per provider
    "paybook": ("/v1/webhooks", {"Authorization": "api_key api_key=PB"}),
    "syncfy": ("/v1/webhooks/subscriptions", {"Authorization": "api_key api_key=SY"}),
    "shareactor": ("/webhooks", {"X-Share-Api-Key": "SA"}),
    "gigapay": ("/v2/webhooks/", GIGAPAY),
    "centry": ("/conexion/v1/webhooks.json", {"Authorization": "Bearer CT"}),
}
MESSAGES = {429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


def error_message(provider: str, body: dict[str, Any], status: int) -> str:
    """The message of a provider's error body, checking the status where the body repeats it."""
    match provider:
        case "paybook" | "syncfy":
            assert body["code"] == status and body["status"] is False and body["response"] is None
            return body["message"]
        case "shareactor":
            assert body["status"] == status
            return body["message"]
        case "gigapay":
            return body["detail"]
        case _:
            return body["error"]


@pytest.mark.parametrize("provider", list(CALLS))
@pytest.mark.parametrize("status", [429, 500, 503])
async def test_a_status_fault_answers_the_providers_own_error(api: Api, provider: str, status: int) -> None:
    await api.post("/_emulator/faults", json={"provider": provider, "status": status, "times": 1})
    path, headers = CALLS[provider]
    faulted = await api.get(path, headers=headers)  # the body is checked against the error schema
    assert faulted.status == status
    assert faulted.headers.get("Retry-After") == ("1" if status in (429, 503) else None)
    expected = {(429, "gigapay"): "Request was throttled. Expected available in 1 seconds.",
                (500, "gigapay"): "A server error occurred."}.get((status, provider), MESSAGES[status])
    assert error_message(provider, faulted.json, status) == expected
    assert (await api.get(path, headers=headers)).status == 200  # times: 1


def test_a_hit_leaves_state_untouched_and_is_marked_in_the_journal(client: Any, emulator: Emulator) -> None:
    with client.fault("gigapay", method="POST", status=503, times=2) as rule:
        assert [create_gigapay(emulator).status_code for _ in range(3)] == [503, 503, 201]
    assert rule.hits == 2 and rule.rule["remaining"] == 0
    assert len(gigapay_webhooks(emulator)) == 1  # only the third POST created one
    journal = client.requests(provider="gigapay")
    assert [(r["method"], r["status"], r["fault"]) for r in journal] == [
        ("POST", 503, rule.id), ("POST", 503, rule.id), ("POST", 201, None), ("GET", 200, None)]
    assert client.faults() == []  # the block removed its rule


def test_a_dropped_connection_reaches_the_client_as_one(client: Any, emulator: Emulator) -> None:
    with client.fault("gigapay", drop=True, times=1) as rule:
        with pytest.raises(requests.ConnectionError):
            create_gigapay(emulator)
        assert create_gigapay(emulator).status_code == 201
    assert rule.hits == 1
    [dropped, created] = client.requests(provider="gigapay")
    assert dropped["fault"] == rule.id and dropped["status"] is None and dropped["tenant"] == "GP"
    assert created["status"] == 201
    assert len(gigapay_webhooks(emulator)) == 1


def test_latency_makes_a_client_time_out(client: Any, emulator: Emulator) -> None:
    with client.fault("gigapay", latency=3, status=503, times=1), pytest.raises(requests.Timeout):
        create_gigapay(emulator, timeout=0.2)
    assert gigapay_webhooks(emulator) == []


def test_latency_alone_answers_late_but_normally(client: Any, emulator: Emulator) -> None:
    with client.fault("gigapay", method="POST", latency=0.05, times=1) as rule:
        assert create_gigapay(emulator).status_code == 201
    assert rule.hits == 1 and len(gigapay_webhooks(emulator)) == 1


def test_rules_match_by_method_path_and_tenant(client: Any, emulator: Emulator) -> None:
    client.add_fault("gigapay", tenant="GP", status=500)
    client.add_fault("gigapay", method="DELETE", path="/v2/webhooks/*/", status=503)
    assert create_gigapay(emulator, key="GP").status_code == 500
    assert create_gigapay(emulator, key="OTHER").status_code == 201
    [hook] = gigapay_webhooks(emulator, key="OTHER")
    url = f"{emulator.url}/v2/webhooks/{hook['id']}/"
    headers = {**GIGAPAY, "Authorization": "Token OTHER"}
    assert requests.delete(url, headers=headers, timeout=10).status_code == 503
    assert requests.get(url, headers=headers, timeout=10).status_code == 200
    assert requests.get(f"{emulator.url}/conexion/v1/webhooks.json", headers={"Authorization": "Bearer CT"},
                        timeout=10).status_code == 200
    assert [r["hits"] for r in client.faults()] == [1, 1]


def test_a_tenant_rule_matches_tokens_and_body_credentials(client: Any, emulator: Emulator) -> None:
    client.add_fault("paybook", tenant="PB", status=500)
    url = f"{emulator.url}/v1/webhooks"
    assert requests.post(url, json={"api_key": "PB"}, headers={"X-Http-Method-Override": "GET"},
                         timeout=10).status_code == 500
    assert requests.get(url, params={"api_key": "OTHER"}, timeout=10).status_code == 200


def test_a_probability_is_drawn_from_the_seeded_rng(webhook_emulator_pool: Callable[..., EmulatorHandle]) -> None:
    """The same seed draws the same hits (again after a reset, which starts the draws over), another seed others."""
    def hit_pattern(seed: int) -> list[int]:
        emulator = webhook_emulator_pool(seed=seed)
        emulator.add_fault("centry", status=503, probability=0.5)
        return [requests.get(f"{emulator.url}/conexion/v1/webhooks.json", headers={"Authorization": "Bearer CT"},
                             timeout=10).status_code for _ in range(16)]

    first, again, other = hit_pattern(7), hit_pattern(7), hit_pattern(8)
    assert first == again and {200, 503} == set(first)
    assert other != first


# -- the official SDKs ---------------------------------------------------------------------------------

@pytest.fixture
def sync(emulator: Emulator, client: Any, monkeypatch: pytest.MonkeyPatch) -> type[sync_module.Sync]:
    monkeypatch.setattr(sync_module, "SYNC_API_URL", client.url_for("paybook"))
    return sync_module.Sync


def test_sync_py_raises_the_throttled_envelope(sync: type[sync_module.Sync], client: Any) -> None:
    with client.fault("paybook", status=429, times=1):
        with pytest.raises(sync_module.Error) as raised:
            sync.run(PAYBOOK, "/webhooks", None, "GET")
        assert sync.run(PAYBOOK, "/webhooks", None, "GET") == []
    assert (raised.value.code, raised.value.message) == (429, "Too Many Requests")
    assert raised.value.response["status"] is False


def test_sync_py_sees_a_dropped_connection(sync: type[sync_module.Sync], client: Any) -> None:
    with client.fault("paybook", drop=True, times=1), pytest.raises(requests.ConnectionError):
        sync.run(PAYBOOK, "/webhooks", {"url": "https://example.com/h", "events": ["refresh"]}, "POST")
    assert sync.run(PAYBOOK, "/webhooks", None, "GET") == []


def test_builton_sdk_raises_on_a_503_and_nothing_was_created(emulator: Emulator, client: Any) -> None:
    builton = Builton(api_key="SDK_KEY", bearer_token="eyJhbGciOiJIUzI1NiJ9.e30.sig", endpoint=emulator.url + "/")
    with client.fault("shareactor", method="POST", status=503, times=1):
        with pytest.raises(Exception, match="Service Unavailable") as raised:
            builton.webhook().create(body={"endpoint": "https://example.com/h", "event_type": "order.created"})
        assert raised.value.args[0] == {"message": "Service Unavailable", "status": 503}
    assert builton.webhook().get_all() == []
    created = builton.webhook().create(body={"endpoint": "https://example.com/h", "event_type": "order.created"})
    assert [w.id for w in builton.webhook().get_all()] == [created.id]


# -- the pytest plugin, --faults FILE and the CLI ------------------------------------------------------

def test_the_pytest_fixture_has_fault(webhook_emulator: EmulatorHandle) -> None:
    url = webhook_emulator.url_for("gigapay") + "/webhooks/"
    with webhook_emulator.fault("gigapay", status=429, times=2) as rule:
        statuses = [requests.get(url, headers=GIGAPAY, timeout=10).status_code for _ in range(3)]
    assert statuses == [429, 429, 200] and rule.hits == 2


def test_faults_file_loads_rules_at_start_up(tmp_path: Path) -> None:
    rules = tmp_path / "faults.yaml"
    rules.write_text("- {provider: centry, status: 500, times: 1}\n- {provider: gigapay, drop: true}\n")
    with Emulator(faults=rules) as emulator:
        listed = emulator.client.faults()
        assert [(r["id"], r["provider"]) for r in listed] == [("f1", "centry"), ("f2", "gigapay")]
        assert requests.get(f"{emulator.url}/conexion/v1/webhooks.json", headers={"Authorization": "Bearer CT"},
                            timeout=10).status_code == 500


@pytest.mark.parametrize(("content", "message"), [
    ("- {provider: centry, status: 200}\n", "rule 1: status must be an HTTP error status"),
    ("{not yaml: [\n", "--faults"),
    ("faults: 3\n", "a list of rules"),
])
def test_a_bad_faults_file_stops_serve_with_one_line(tmp_path: Path, content: str, message: str) -> None:
    rules = tmp_path / "faults.yaml"
    rules.write_text(content)
    done = subprocess.run([sys.executable, "-m", "emulator", "serve", "--port", "0", "--faults", str(rules)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"webhook-emulator: --faults {rules}: ") and message in line


def test_a_missing_faults_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="No such file"):
        Emulator(faults=tmp_path / "none.yaml").start()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "emulator", "fault", *args], capture_output=True, text=True,
                          timeout=60)


def test_the_cli_adds_lists_and_clears_rules(client: Any, emulator: Emulator) -> None:
    added = cli("add", "--server", emulator.url, "--provider", "gigapay", "--status", "503", "--times", "1", "--json")
    assert added.returncode == 0, added.stderr
    rule = json.loads(added.stdout)
    assert (rule["status"], rule["times"], rule["retry_after"]) == (503, 1, 1)
    assert create_gigapay(emulator).status_code == 503
    listed = json.loads(cli("list", "--server", emulator.url, "--json").stdout)
    assert [(r["id"], r["hits"]) for r in listed] == [(rule["id"], 1)]
    assert json.loads(cli("clear", "--server", emulator.url, "--json").stdout) == {"removed": [rule["id"]]}
    refused = cli("add", "--server", emulator.url, "--status", "200")
    assert refused.returncode == 2 and "400..599" in refused.stderr


def test_the_client_reports_a_refused_rule(client: Any) -> None:
    with pytest.raises(ControlError, match="needs an effect"):
        client.add_fault("gigapay")


async def test_a_provider_path_without_a_route_is_faulted_too(api: Api) -> None:
    await api.post("/_emulator/faults", json={"provider": "centry", "status": 503})
    answer = await api.get("/conexion/v1/nothing-here", headers={"Authorization": "Bearer CT"})
    assert answer.status == 503
    assert (await api.get("/_emulator/health")).status == 200  # the control API is never faulted


def test_the_readmes_fault_commands_run(emulator: Emulator, client: Any) -> None:
    guide = (Path(__file__).resolve().parent.parent / "docs" / "faults.md").read_text(encoding="utf-8")
    commands = [shlex.split(line) for line in guide.splitlines() if line.startswith("webhook-emulator fault ")]
    assert len(commands) == 4
    for words in commands:
        done = cli(*[w.replace("http://127.0.0.1:8080", emulator.url) for w in words[2:]])
        assert done.returncode == 0, done.stderr
    assert client.faults() == []  # the last one clears


def test_the_faults_file_can_come_from_the_environment(tmp_path: Path) -> None:
    rules = tmp_path / "faults.json"
    rules.write_text(json.dumps({"faults": [{"provider": "syncfy", "latency": 0.01}]}))
    settings = Settings.from_env({"EMULATOR_FAULTS": str(rules)}, port=0)
    assert settings.faults == rules
    with Emulator(settings) as emulator:
        assert [r["latency"] for r in emulator.client.faults()] == [0.01]
