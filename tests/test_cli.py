"""The command line: `webhook-emulator ...` run in-process where that is enough (help, check,
providers, openapi, usage errors) and as a real `python -m emulator` process where it matters
(serving, signals, the network)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from emulator import Emulator
from emulator.cli import main
from emulator.receiver import Receiver
from tests.conftest import line_with

COMMANDS = ["serve", "fire", "check", "providers", "openapi", "health"]


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """`run("check", ...)`: the CLI's main() in this process, as a finished command."""

    def invoke(*args: str) -> Run:
        try:
            code = main(list(args))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return invoke


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_every_command_explains_itself(run: Callable[..., Run], command: str) -> None:
    done = run(*([command] if command else []), "--help")
    assert done.returncode == 0
    assert "usage: webhook-emulator" in done.stdout
    if not command:
        assert all(c in done.stdout for c in COMMANDS)


def test_no_command_prints_help_and_fails(run: Callable[..., Run]) -> None:
    done = run()
    assert done.returncode == 2 and "usage:" in done.stdout


def test_check_passes_on_the_built_in_fixtures(run: Callable[..., Run]) -> None:
    done = run("check")
    assert done.returncode == 0
    assert [line.split()[1] for line in done.stdout.splitlines()] == ["centry", "gigapay", "paybook", "shareactor",
                                                                      "syncfy"]


def test_check_reports_a_broken_fixture_in_one_line(run: Callable[..., Run], tmp_path: Path) -> None:
    (tmp_path / "acme.yaml").write_text("name: acme\nprefixes: [/acme/]\nauth: {}\nerrors: {}\nresource: {}\n"
                                        "routes: []\n")
    done = run("check", str(tmp_path))
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert str(tmp_path / "acme.yaml") in line and "at $" in line and "Traceback" not in done.stderr


def test_check_reports_invalid_yaml_with_its_line(run: Callable[..., Run], tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    done = run("check", str(tmp_path))
    assert done.returncode == 1 and "bad.yaml: line" in done.stderr and "Traceback" not in done.stderr


def test_providers_lists_routes_and_events_as_text_and_json(run: Callable[..., Run]) -> None:
    text = run("providers").stdout
    assert "gigapay: Gigapay API v2" in text and "POST   /v2/webhooks/" in text and "Payout.created" in text
    listing = json.loads(run("providers", "--json").stdout)
    assert {p["name"] for p in listing} == {"paybook", "syncfy", "shareactor", "gigapay", "centry"}


def test_serve_listens_answers_and_exits_cleanly_on_signals(run: Callable[..., Run]) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        env = {**os.environ, "EMULATOR_PORT": "0", "EMULATOR_SEED": "1"}
        process = subprocess.Popen([sys.executable, "-m", "emulator", "serve"], env=env, stderr=subprocess.PIPE,
                                   text=True)
        assert process.stderr is not None
        line = line_with(process.stderr, "listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1].strip()
        assert run("health", "--url", url).returncode == 0
        process.send_signal(sig)
        assert process.wait(timeout=30) == 0


def test_serve_reports_a_port_in_use(run: Callable[..., Run]) -> None:
    with Emulator() as running:
        done = run("serve", "--port", str(running.port))
    assert done.returncode == 1 and "cannot listen on 127.0.0.1:" in done.stderr


def test_bad_settings_are_one_clear_line(run: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMULATOR_PORT", "eighty")
    done = run("serve")
    assert done.returncode == 2
    assert done.stderr.strip() == "webhook-emulator: EMULATOR_PORT='eighty': invalid literal for int() with base 10: " \
                                  "'eighty'"


def test_health_fails_when_nothing_answers(run: Callable[..., Run]) -> None:
    done = run("health", "--url", "http://127.0.0.1:9", "--timeout", "1")
    assert done.returncode == 1 and done.stderr.startswith("unhealthy: http://127.0.0.1:9")


def test_fire_sends_a_signed_notification_to_a_url(run: Callable[..., Run], receiver: Receiver) -> None:
    done = run("fire", "shareactor", "product.created", "--url", receiver.url_for("/share"), "--secret", "s3cret",
               "--data", '{"name": "Tea"}')
    assert done.returncode == 0, done.stderr
    [delivery] = json.loads(done.stdout)["deliveries"]
    [got] = receiver.received
    assert delivery["status"] == "delivered" and got.path == "/share"
    assert got.json["object"]["name"] == "Tea"
    expected = hmac.new(b"s3cret", got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Share-Webhook-Signature"] == expected


def test_fire_exits_1_when_the_delivery_fails(run: Callable[..., Run]) -> None:
    done = run("fire", "paybook", "refresh", "--url", "http://127.0.0.1:9/down", "--time-scale", "0.000001")
    assert done.returncode == 1
    assert json.loads(done.stdout)["deliveries"][0]["status"] == "failed"


@pytest.mark.parametrize(("args", "message"), [
    (["gigapay", "Payout.exploded", "--url", "http://127.0.0.1:9/"], "gigapay has no event 'Payout.exploded'"),
    (["gigapay", "Payout.created"], "fire needs --url"),
    (["gigapay", "Payout.created", "--url", "http://127.0.0.1:9/", "--data", "{nope"], "must be valid JSON"),
])
def test_fire_usage_errors_exit_2(run: Callable[..., Run], args: list[str], message: str) -> None:
    done = run("fire", *args)
    assert done.returncode == 2
    assert message in done.stdout + done.stderr


def test_fire_through_a_running_server_reaches_registered_webhooks(run: Callable[..., Run], receiver: Receiver) -> None:
    with Emulator(time_scale=0.001) as emulator:
        answer = requests.post(emulator.url + "/conexion/v1/webhooks.json", headers={"Authorization": "Bearer T"},
                               json={"callback_url": receiver.url_for("/centry"), "on_product_save": True}, timeout=30)
        assert answer.status_code == 200
        done = run("fire", "centry", "on_product_save", "--server", emulator.url)
    assert done.returncode == 0, done.stderr
    assert [r.path for r in receiver.received] == ["/centry"]


def test_openapi_prints_json(run: Callable[..., Run]) -> None:
    assert json.loads(run("openapi").stdout)["openapi"] == "3.1.0"
