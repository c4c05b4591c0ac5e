"""State from tests and scripts: the pytest plugin's `webhook_emulator_state` and `load_state`, the
client's snapshot/load_state/create_webhook, and `webhook-emulator state export|import`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml

from emulator import Emulator
from emulator.client import ControlError
from tests.providers.clients import auth

SYNCFY = auth("syncfy", "MY_KEY")

PLUGIN_TESTS = '''
import requests

SYNCFY = {"Authorization": "api_key api_key=MY_KEY"}


def subscriptions(emulator):
    answer = requests.get(emulator.url_for("syncfy") + "/webhooks/subscriptions", headers=SYNCFY)
    return [s["url"] for s in answer.json()["response"]]


def test_the_session_state_is_there(webhook_emulator):
    assert subscriptions(webhook_emulator) == ["http://app:8000/syncfy"]
    requests.post(webhook_emulator.url_for("syncfy") + "/webhooks/subscriptions", headers=SYNCFY,
                  json={"url": "http://app:8000/extra", "events": ["credentials.updated"]})


def test_each_test_starts_from_the_session_state_again(webhook_emulator):
    assert subscriptions(webhook_emulator) == ["http://app:8000/syncfy"]


def test_one_test_loads_its_own(webhook_emulator, tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("syncfy:\\n  MY_KEY:\\n    - {url: 'http://app:8000/mine', events: [documents.completed]}\\n")
    webhook_emulator.load_state(path)
    assert subscriptions(webhook_emulator) == ["http://app:8000/mine"]
    made = webhook_emulator.create_webhook("syncfy", "MY_KEY", {"url": "http://app:8000/more",
                                                                "events": ["credentials.created"]})
    assert subscriptions(webhook_emulator) == ["http://app:8000/mine", made["url"]]
    assert webhook_emulator.snapshot()["syncfy"]["MY_KEY"][1]["url"] == "http://app:8000/more"
'''

CONFTEST = '''
import pytest


@pytest.fixture(scope="session")
def webhook_emulator_state():
    return {"syncfy": {"MY_KEY": [{"url": "http://app:8000/syncfy", "events": ["credentials.created"]}]}}
'''


def test_the_pytest_plugin_preloads_state_for_the_session_and_per_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_user=PLUGIN_TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_the_client_reports_a_bad_document() -> None:
    with Emulator() as emulator:
        with pytest.raises(ControlError) as caught:
            emulator.client.load_state({"syncfy": {"K": [{"url": "http://a/b"}]}})
        assert caught.value.status == 400
        assert caught.value.body["message"] == "at $.syncfy.K[0].events: events is required"


def run_cli(*words: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "emulator", *words], capture_output=True, text=True, timeout=60)


def test_state_export_and_import_move_state_between_emulators(tmp_path: Path) -> None:
    with Emulator() as source, Emulator() as target:
        source.client.create_webhook("syncfy", "MY_KEY", {"url": "http://app:8000/syncfy",
                                                          "events": ["credentials.created"]})
        source.client.create_webhook("gigapay", "T", {"url": "http://app.test:8000/g", "events": ["Payout.created"]},
                                     scope="INTEGRATION")
        source.client.put_object("centry", "C", "product", {"_id": "597644781d41c846ea000006"})  # (not a webhook)
        printed = run_cli("state", "export", "--server", source.url)
        assert printed.returncode == 0, printed.stderr
        assert json.loads(printed.stdout) == source.client.snapshot()
        for name in ("state.yaml", "state.json"):
            path = tmp_path / name
            exported = run_cli("state", "export", "--server", source.url, "--output", str(path))
            assert exported.returncode == 0
            assert exported.stdout == f"exported 2 webhook(s) from {source.url} to {path}\n"
            assert yaml.safe_load(path.read_text()) == source.client.snapshot()
            imported = run_cli("state", "import", str(path), "--server", target.url)
            assert imported.returncode == 0, imported.stderr
            assert imported.stdout.strip() == f"imported 2 webhook(s) into {target.url}, replacing its state; " \
                "like a reset, this also emptied its delivery log, request journal and fault rules"
            assert target.client.snapshot() == source.client.snapshot()
        listed = requests.get(f"{target.url}/v1/webhooks/subscriptions", headers=SYNCFY, timeout=10).json()
        assert [s["url"] for s in listed["response"]] == ["http://app:8000/syncfy"]


def test_state_import_of_a_bad_file_says_where(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("syncfy:\n  K:\n    - {url: 'http://a/b', events: [nope]}\n")
    with Emulator() as emulator:
        done = run_cli("state", "import", str(path), "--server", emulator.url)
        assert done.returncode == 2
        assert done.stderr.startswith(f"webhook-emulator: {path}: at $.syncfy.K[0].events[0]: ")  # as serve --state
        served = subprocess.run([sys.executable, "-m", "emulator", "serve", "--port", "0", "--state", str(path)],
                                capture_output=True, text=True, timeout=60)
        assert served.returncode == 2 and served.stderr.splitlines()[-1] == done.stderr.strip()
        unreadable = run_cli("state", "import", str(tmp_path / "absent.yaml"), "--server", emulator.url)
        assert unreadable.returncode == 2 and "absent.yaml: cannot read" in unreadable.stderr
