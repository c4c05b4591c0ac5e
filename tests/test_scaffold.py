"""`webhook-emulator new-provider NAME [DIR]`: the skeleton passes `check`, serves its CRUD routes,
fires a signed event, and its own test file passes; existing files are refused unless --force."""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from emulator import Emulator
from emulator.cli import main
from emulator.receiver import Receiver

AUTH = {"Authorization": "Bearer k1"}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def widget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A skeleton of provider `widget` in tmp_path/fixtures."""
    folder = tmp_path / "fixtures"
    code, out, err = run(capsys, "new-provider", "widget", str(folder))
    assert (code, err) == (0, "")
    assert {line.removeprefix("wrote ") for line in out.splitlines() if line.startswith("wrote ")} == {
        str(folder / name) for name in ("widget.yaml", "test_widget.py", *(
            f"schemas/widget/{f}.json" for f in ("create", "update", "webhook", "list", "error", "events",
                                                 "event-example")))}
    return folder


@pytest.mark.parametrize("name", ["widget", "my-shop", "a_b2"])
def test_the_skeleton_passes_check(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    assert run(capsys, "new-provider", name, str(tmp_path))[0] == 0
    code, out, err = run(capsys, "check", str(tmp_path))
    assert (code, err) == (0, "") and f"ok  {name}" in out


def test_it_serves_its_routes_and_fires_a_signed_event(widget: Path) -> None:
    with Emulator(fixtures=[widget], time_scale=1e-6) as emulator, Receiver() as receiver:
        base = emulator.url + "/widget/webhooks"
        created = requests.post(base, json={"url": receiver.url_for("/hook"), "events": ["example.created"]},
                                headers=AUTH, timeout=10)
        assert created.status_code == 201, created.text
        hook = created.json()
        assert requests.get(base, headers=AUTH, timeout=10).json() == {"data": [hook], "total": 1}
        assert requests.get(f"{base}/{hook['id']}", headers=AUTH, timeout=10).json() == hook
        invalid = requests.post(base, json={"url": "not a url", "events": []}, headers=AUTH, timeout=10)
        assert invalid.status_code == 422 and invalid.json()["error"]["status"] == 422
        assert requests.get(base, timeout=10).status_code == 401
        [delivery] = emulator.client.fire("widget", "example.created", wait=True)
        [received] = receiver.wait_for(1)
        assert delivery["status"] == "delivered"
        assert received.json["type"] == "example.created" and received.json["id"] == delivery["event_ids"][0]
        signature = {k.lower(): v for k, v in received.headers.items()}["x-widget-signature"]
        assert signature == "sha256=" + hmac.new(hook["secret"].encode(), received.body, hashlib.sha256).hexdigest()
        assert requests.delete(f"{base}/{hook['id']}", headers=AUTH, timeout=10).status_code == 204


def test_its_own_test_file_passes(widget: Path, pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(str(widget / "test_widget.py"), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_an_existing_file_is_refused_unless_forced(widget: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixture = widget / "widget.yaml"
    fixture.write_text("# mine\n")
    code, out, err = run(capsys, "new-provider", "widget", str(widget))
    assert (code, out, err) == (2, "", f"webhook-emulator: {fixture} exists already (--force overwrites it)\n")
    assert fixture.read_text() == "# mine\n"
    assert run(capsys, "new-provider", "widget", str(widget), "--force")[0] == 0
    assert fixture.read_text().startswith("# Widget: a skeleton")


def test_a_bad_name_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "new-provider", "My Shop", str(tmp_path))
    assert (code, out) == (2, "") and err.count("\n") == 1 and "'My Shop' is not a provider name" in err
    assert list(tmp_path.iterdir()) == []


def test_a_built_in_provider_s_name_is_refused_unless_forced(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "new-provider", "paybook", str(tmp_path / "mine"))
    assert (code, out) == (2, "")
    assert err == ("webhook-emulator: 'paybook' is the name of a built-in provider: a provider of that name would "
                   "replace it (choose another name, or --force to replace it)\n")
    assert not (tmp_path / "mine").exists()
    assert run(capsys, "new-provider", "paybook", str(tmp_path / "mine"), "--force")[0] == 0
    assert (tmp_path / "mine" / "paybook.yaml").is_file()


def test_receive_verifies_a_provider_of_one_s_own_with_fixtures(widget: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:

    assert run(capsys, "receive", "--provider", "widget", "--secret", "s3cret") == (2, "", (
        "webhook-emulator: no provider named 'widget'; the providers are centry, gigapay, paybook, shareactor, "
        "syncfy (a provider of your own? add --fixtures DIR)\n"))
    code, out, _ = run(capsys, "notification", "widget", "example.created", "--secret", "s3cret", "--json",
                       "--fixtures", str(widget))
    assert code == 0
    built = json.loads(out)
    receiving = subprocess.Popen([sys.executable, "-m", "emulator", "receive", "--port", "0", "--provider", "widget",
                                  "--secret", "s3cret", "--fixtures", str(widget)], stdout=subprocess.PIPE, text=True)
    try:
        assert receiving.stdout is not None
        url = receiving.stdout.readline().split()[2]
        for body in (built["body"], built["body"] + " "):
            requests.post(f"{url}/hook", data=body.encode(), headers=built["headers"], timeout=10)
        lines = [receiving.stdout.readline() for _ in range(4)]
    finally:
        receiving.send_signal(signal.SIGTERM)
        receiving.wait(10)
    assert [line.strip() for line in lines[1::2]] == [
        "signature: valid (X-Widget-Signature)",
        "signature: INVALID (X-Widget-Signature does not match this body and secret, or is not fresh)"]


def test_fire_and_audit_in_process_name_fixtures_for_an_unknown_provider(capsys: pytest.CaptureFixture[str]) -> None:
    hint = "(a provider of your own? add --fixtures DIR)\n"
    code, _, err = run(capsys, "fire", "widget", "example.created", "--url", "http://127.0.0.1:9/hook")
    assert code == 2 and err.startswith("webhook-emulator: no provider named 'widget'") and err.endswith(hint)
    code, _, err = run(capsys, "audit", "--provider", "widget", "--url", "http://127.0.0.1:9/hook", "--secret", "s")
    assert code == 2 and err.startswith("webhook-emulator: no provider named 'widget'") and err.endswith(hint)
