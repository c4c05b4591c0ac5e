"""Preloading state at start-up: `--state FILE` / EMULATOR_STATE (YAML or JSON), validated like the
API; a bad file stops start-up with a one-line error naming the file and the place in it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from emulator import Emulator, Settings
from emulator.settings import SettingsError
from emulator.storage.statedoc import StateError

# The example, plus an Integration-ID for the Gigapay webhook.
PRELOAD = """\
syncfy:
  MY_KEY:
    - {url: "http://app:8000/syncfy", events: [credentials.created], group_events: 0,
       id_environment: 574894bf7848066d138b4570, id_subscription: 65f0c0ffee0000000000beef}
gigapay:
  MY_TOKEN:
    - {url: "http://app.internal:8000/gigapay", events: [Payout.created], secret_key: fixed-secret, $scope: INTEGRATION}
    - {id: user-hook, url: "http://app.internal:8000/gigapay", events: [Registration.verified]}
"""


def test_a_state_file_is_there_when_the_emulator_starts(tmp_path: Path) -> None:
    path = tmp_path / "state.yaml"
    path.write_text(PRELOAD)
    with Emulator(state=path) as emulator:
        syncfy = requests.get(f"{emulator.url}/v1/webhooks/subscriptions",
                              headers={"Authorization": "api_key api_key=MY_KEY"}, timeout=10).json()["response"]
        assert [(s["id_subscription"], s["url"], s["events"]) for s in syncfy] == [
            ("65f0c0ffee0000000000beef", "http://app:8000/syncfy", ["credentials.created"])]
        scoped = requests.get(f"{emulator.url}/v2/webhooks/", timeout=10, headers={
            "Authorization": "Token MY_TOKEN", "Integration-ID": "INTEGRATION"}).json()["results"]
        assert [w["secret_key"] for w in scoped] == ["fixed-secret", scoped[1]["secret_key"]]
        assert scoped[1]["id"] == "user-hook"
        unscoped = requests.get(f"{emulator.url}/v2/webhooks/", headers={"Authorization": "Token MY_TOKEN"},
                                timeout=10).json()["results"]
        assert [w["id"] for w in unscoped] == ["user-hook"]


def test_a_json_state_file_through_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"centry": {"TOKEN": [{"callback_url": "http://app:8000/centry",
                                                      "on_order_save": True}]}}))
    settings = Settings.from_env({"EMULATOR_STATE": str(path)}, port=0)
    assert settings.state == path
    with Emulator(settings) as emulator:
        [hook] = requests.get(f"{emulator.url}/conexion/v1/webhooks.json", headers={"Authorization": "Bearer TOKEN"},
                              timeout=10).json()
        assert hook["callback_url"] == "http://app:8000/centry" and hook["on_order_save"] is True


@pytest.mark.parametrize(("text", "message"), [
    ("syncfy:\n  K:\n    - {url: nope, events: [credentials.created]}\n",
     "at $.syncfy.K[0].url: url must be an http(s) URL"),
    ("syncfy:\n  K:\n    - {url: 'http://a.test/b', events: [credentials.created]\n", "line 4: not YAML or JSON"),
    ("shareactor:\n  K:\n    - {endpoint: 'http://a.test/b', event_type: no.such.event}\n",
     "at $.shareactor.K[0].event_type: "),
    ("- just a list\n", "at $: a state document is an object of providers"),
])
def test_a_bad_state_file_names_the_file_and_the_place(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(StateError) as caught:
        Emulator(state=path).start()
    assert str(caught.value).startswith(f"{path}: {message}"), str(caught.value)
    assert isinstance(caught.value, SettingsError) and "\n" not in str(caught.value)


def test_serve_with_a_bad_state_file_exits_2_without_listening(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("gigapay:\n  T:\n    - {url: 'http://a.test/b', events: [Payout.created]}\n")
    done = subprocess.run([sys.executable, "-m", "emulator", "serve", "--port", "0", "--state", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line == (f"webhook-emulator: {path}: at $.gigapay.T[0]: "
                    "Integration-ID header is required for Employee, Payout and Payrun webhooks.")


def test_a_missing_state_file_is_named(tmp_path: Path) -> None:
    absent = tmp_path / "absent.yaml"
    done = subprocess.run([sys.executable, "-m", "emulator", "serve", "--port", "0", "--state", str(absent)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == f"webhook-emulator: {absent}: cannot read: No such file or directory"
