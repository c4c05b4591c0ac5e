"""The consumer audit against webhook consumers made of the shipped Receiver and an answer
(`decide`) written here: a safe one that verifies signatures with the verifiers of
tests/providers/conftest.py, and unsafe ones (accepts forgeries,
refuses a repeated notification, answers too late). The audit's verdicts
are asserted through the control API, EmulatorClient, the pytest plugin and the CLI."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import requests

from emulator import Emulator
from emulator.client import ControlError
from emulator.pytest_plugin import EmulatorHandle
from emulator.receiver import Received, Receiver
from tests.conftest import free_port
from tests.providers.clients import auth
from tests.providers.conftest import gigapay_valid, signature_valid

SECRET = "s3cret-for-the-audit"
GIGAPAY = auth("gigapay", "GP", integration="11111111-1111-4111-8111-111111111111")


def safe(provider: str, secret: Any) -> Callable[[Received], int]:
    """A safe consumer's answer (Receiver.decide): 200 for what verifies, 401 for anything else."""
    return lambda got: 200 if signature_valid(provider, got, secret) else 401


def verdicts(report: dict[str, Any], endpoint: int = 0) -> dict[str, str]:
    return {c["check"]: c["verdict"] for c in report["endpoints"][endpoint]["checks"]}


FORGERIES = {
    "gigapay": ["forgery: signed with the wrong secret", "forgery: body changed after signing",
                "forgery: no signature", "forgery: timestamp an hour old"],
    "shareactor": ["forgery: signed with the wrong secret", "forgery: body changed after signing",
                   "forgery: no signature"],
    "syncfy": ["forgery: signed with the wrong key", "forgery: body changed after signing", "forgery: no signature",
               "forgery: expired token"],
}


@pytest.mark.parametrize("provider", ["gigapay", "shareactor", "syncfy"])
def test_a_safe_consumer_passes_every_check(client: Any, provider: str) -> None:
    secret = client.jwk("syncfy") if provider == "syncfy" else SECRET
    options = {} if provider == "syncfy" else {"secret": SECRET}
    with Receiver(decide=safe(provider, secret)) as consumer:
        report = client.audit(provider, consumer.url + "/hooks", **options)
    found = verdicts(report)
    events = next(p["events"] for p in client.request("GET", "/_emulator/providers")["providers"]
                  if p["name"] == provider)
    assert [c for c in found if c.startswith("event ")] == [f"event {e}" for e in events]
    assert [c for c in found if c.startswith("forgery")] == FORGERIES[provider]
    assert set(found.values()) == {"pass"} and report["passed"] is True
    assert report["endpoints"][0]["summary"] == {"pass": len(found), "fail": 0, "note": 0}


def test_a_consumer_that_accepts_forgeries_fails_exactly_those(client: Any) -> None:
    with Receiver() as consumer:
        report = client.audit("gigapay", consumer.url, secret=SECRET)
    failed = [c for c in report["endpoints"][0]["checks"] if c["verdict"] == "fail"]
    assert [c["check"] for c in failed] == FORGERIES["gigapay"]
    assert all(c["observed"] == "HTTP 200" and c["safe"] == "rejects it (not 2xx)" for c in failed)
    assert report["passed"] is False


def test_a_consumer_that_refuses_a_repeat_fails_the_duplicate_check(client: Any) -> None:
    seen: set[bytes] = set()

    def once(got: Received) -> int:
        status = 409 if got.body in seen else 200
        seen.add(got.body)
        return status

    with Receiver(decide=once) as consumer:
        report = client.audit("paybook", consumer.url)
    [duplicate] = [c for c in report["endpoints"][0]["checks"] if c["check"].startswith("the same")]
    assert duplicate["observed"] == "HTTP 200, then HTTP 409" and duplicate["verdict"] == "fail"
    assert {c["verdict"] for c in report["endpoints"][0]["checks"] if c is not duplicate} <= {"pass", "note"}


def test_a_consumer_slower_than_the_timeout_fails_the_answer_time_check() -> None:
    with Emulator(delivery_timeout=0.2) as emulator, Receiver(decide=lambda got: (200, 1.0)) as consumer:
        report = emulator.client.audit("centry", consumer.url)
    checks = {c["check"]: c for c in report["endpoints"][0]["checks"]}
    assert checks["answer time"]["verdict"] == "fail"
    assert checks["answer time"]["safe"] == "answers within 0.2 s (the provider's timeout)"
    assert checks["event on_order_save"]["observed"].startswith("no answer: no response within 0.2 s")


def test_a_consumer_that_is_not_there_is_reported_unreachable_not_audited(client: Any) -> None:
    url = f"http://127.0.0.1:{free_port()}/hooks"
    report = client.audit("gigapay", url, secret="s")
    [endpoint] = report["endpoints"]
    assert report["passed"] is False and endpoint["checks"] == []
    assert endpoint["url"] == url and endpoint["unreachable"].startswith("ClientConnectorError: Cannot connect")


def test_an_audit_of_a_url_takes_the_secret_of_the_webhook_registered_there(client: Any, emulator: Emulator) -> None:
    with Receiver(status=401) as consumer:  # a placeholder: the secret is known once it is registered
        created = requests.post(f"{emulator.url}/v2/webhooks/", headers=GIGAPAY, timeout=10,
                                json={"url": consumer.url + "/gp", "events": ["Payout.created"]}).json()
        consumer.decide = safe("gigapay", created["secret_key"])
        report = client.audit("gigapay", consumer.url + "/gp")
    assert report["passed"] is True, report


def test_an_audit_of_a_url_without_a_secret_is_refused_for_a_provider_that_signs(client: Any) -> None:
    with pytest.raises(ControlError) as refused:
        client.request("POST", "/_emulator/audit", {"provider": "shareactor", "url": "http://127.0.0.1:9/share"})
    assert refused.value.status == 400
    assert refused.value.body["message"] == (
        "secret is required: shareactor signs its notifications, and the audit must sign with the secret the "
        "consumer verifies with (no registered shareactor webhook has the url http://127.0.0.1:9/share to take it "
        "from)")


def test_the_audit_leaves_the_delivery_log_alone(client: Any) -> None:
    """Its forgeries must not look like deliveries a test then waits for."""
    with Receiver(decide=safe("gigapay", "s")) as consumer:
        assert client.audit("gigapay", consumer.url, secret="s")["passed"] is True
    assert client.deliveries() == []


def test_every_registered_webhook_is_audited_with_its_own_secret(client: Any, emulator: Emulator) -> None:
    secrets: dict[str, str] = {}

    def by_path(got: Received) -> int:
        return 200 if signature_valid("gigapay", got, secrets[got.path]) else 401

    with Receiver(decide=by_path) as consumer:
        base = consumer.url
        for path, events in (("/one", ["Payout.created"]), ("/two", ["Employee.created", "Payout.accepted"])):
            created = requests.post(f"{emulator.url}/v2/webhooks/", headers=GIGAPAY, timeout=10,
                                    json={"url": base + path, "events": events}).json()
            secrets[path] = created["secret_key"]
        report = client.audit("gigapay")
    assert report["passed"] is True
    endpoints = report["endpoints"]
    assert [e["url"] for e in endpoints] == [base + "/one", base + "/two"]
    assert all(e["webhook_id"] and e["tenant"] == "GP" for e in endpoints)
    assert [c for c in verdicts(report, 1) if c.startswith("event ")] == ["event Employee.created",
                                                                          "event Payout.accepted"]
    # The audit's notifications left the webhooks' state alone.
    assert [h["url"] for h in requests.get(f"{emulator.url}/v2/webhooks/", headers=GIGAPAY,
                                           timeout=10).json()["results"]] == [base + "/one", base + "/two"]


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"provider": "nope"}, 404, "no provider named 'nope'; the providers are centry, gigapay"),
    ({"provider": "gigapy"}, 404, "no provider named 'gigapy' (did you mean 'gigapay'?)"),
    ({"provider": ["gigapay"]}, 400, "provider must name one of"),
    ({"provider": "gigapay", "url": "ftp://x"}, 400, "url must be an absolute http(s) URL"),
    ({"provider": "gigapay", "url": "http://127.0.0.1:9/", "tenant": "GP"}, 400, "tenant applies only without url"),
    ({"provider": "gigapay", "event": "Payout.created"}, 400, "unknown field(s) event"),
    ({"provider": "syncfy", "url": "http://127.0.0.1:9/", "secret": "text"}, 400, "JWK"),
    ({"provider": "gigapay"}, 404, "no registered gigapay webhook to audit"),
])
def test_a_bad_audit_request_is_refused(client: Any, body: dict[str, Any], status: int, message: str) -> None:
    with pytest.raises(ControlError) as refused:
        client.request("POST", "/_emulator/audit", body)
    assert refused.value.status == status and message in refused.value.body["message"]


def test_the_pytest_fixture_audits(webhook_emulator: EmulatorHandle) -> None:
    with Receiver(decide=safe("shareactor", SECRET)) as consumer:
        report = webhook_emulator.audit("shareactor", consumer.url, secret=SECRET)
    assert report["passed"] is True and len(report["endpoints"][0]["checks"]) == 31 + 2 + 3


def audit_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "emulator", "audit", *args], capture_output=True, text=True,
                          timeout=120)


def test_the_cli_prints_a_table_and_exits_by_the_verdict(tmp_path: Path) -> None:
    with Receiver(decide=safe("gigapay", SECRET)) as good, Receiver() as bad:
        good_url = good.url
        passed = audit_cli("--provider", "gigapay", "--url", good.url + "/hooks/gigapay", "--secret", SECRET)
        junit = tmp_path / "audit.xml"
        failed = audit_cli("--provider", "gigapay", "--url", bad.url, "--secret", SECRET, "--junit", str(junit))
        as_json = audit_cli("--provider", "gigapay", "--url", bad.url, "--secret", SECRET, "--json")
    assert passed.returncode == 0, passed.stderr
    lines = passed.stdout.splitlines()
    assert lines[0] == f"gigapay consumer audit of {good_url}/hooks/gigapay"
    assert lines[1].split() == ["CHECK", "A", "SAFE", "CONSUMER", "THIS", "ONE", "VERDICT"]
    assert lines[-1] == "SAFE" and "16 checks: 16 passed, 0 failed, 0 note(s)" in lines
    assert failed.returncode == 1 and failed.stdout.splitlines()[-1].startswith("UNSAFE")
    forged = [line for line in failed.stdout.splitlines() if line.startswith("forgery: no signature")]
    assert forged and forged[0].split()[-1] == "fail"
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures")) == ("16", "4")
    assert len(suite.findall("testcase/failure")) == 4
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["passed"] is False


def test_the_cli_audits_registered_webhooks_of_a_server(emulator: Emulator, client: Any) -> None:
    with Receiver() as consumer:
        requests.post(f"{emulator.url}/conexion/v1/webhooks.json", headers={"Authorization": "Bearer CT"},
                      json={"callback_url": consumer.url, "on_order_save": True}, timeout=10)
        done = audit_cli("--provider", "centry", "--webhooks", "--server", emulator.url, "--json")
    assert done.returncode == 0, done.stderr
    [endpoint] = json.loads(done.stdout)["endpoints"]
    assert [c["check"] for c in endpoint["checks"]] == ["event on_order_save", "the same on_order_save twice",
                                                         "answer time", "authenticity"]


@pytest.mark.parametrize("args", [["--provider", "gigapay"], ["--provider", "gigapay", "--webhooks"],
                                  ["--provider", "gigapay", "--url", "http://127.0.0.1:9/", "--header", "nocolon"]])
def test_the_cli_refuses_an_incomplete_audit(args: list[str]) -> None:
    done = audit_cli(*args)
    assert done.returncode == 2 and done.stderr.startswith("webhook-emulator: ")


@pytest.mark.parametrize("provider", ["gigapay", "syncfy"])
def test_the_cli_needs_the_secret_of_a_provider_that_signs(provider: str) -> None:
    done = audit_cli("--provider", provider, "--url", "http://127.0.0.1:9/hooks")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [
        f"webhook-emulator: {provider} signs its notifications: give --secret, the secret your consumer verifies "
        "with (a JWK as JSON for a JWT-signing provider), or audit through --server with its registered webhooks"]


def test_the_cli_says_in_one_line_that_the_consumer_cannot_be_reached(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/hooks"
    junit = tmp_path / "audit.xml"
    done = audit_cli("--provider", "centry", "--url", url, "--junit", str(junit))
    assert (done.returncode, done.stdout) == (2, "")
    [line] = done.stderr.splitlines()
    assert line.startswith(f"webhook-emulator: cannot reach {url}, nothing audited: ClientConnectorError: ")
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("errors") == "1" and len(suite.findall("testcase/error")) == 1


def test_the_readmes_audit_example_is_what_the_audit_prints() -> None:
    """docs/audit.md's example consumer checks the HMAC but not the age of `t`."""
    readme = (Path(__file__).resolve().parent.parent / "docs" / "audit.md").read_text(encoding="utf-8")
    [example] = re.findall(r"^```text audit\n\$ (webhook-emulator audit .*?)\n(.*?)^```", readme, flags=re.M | re.S)
    command, shown = example

    def ignores_age(got: Received) -> int:
        header = got.headers.get("Gigapay-Signature", "")
        t = header.partition(",")[0].removeprefix("t=")
        return 200 if t.isdigit() and gigapay_valid(header, "my-secret", got.body, now=float(t)) else 401

    with Receiver(decide=ignores_age) as consumer:
        url = consumer.url
        words = [w.replace("http://127.0.0.1:8000", url) for w in shlex.split(command)]
        done = audit_cli(*words[2:])
    assert done.returncode == 1
    printed = done.stdout.replace(url, "http://127.0.0.1:8000")

    def timeless(text: str) -> str:
        return re.sub(r"slowest answer +\d+ ms +", "slowest answer N ms ", text)

    assert timeless(printed).splitlines() == timeless(shown).splitlines()
