"""The command line: `webhook-emulator ...` run in-process where that is enough (help, check,
providers, openapi, usage errors) and as a real `python -m emulator` process where it matters
(serving, signals, the network)."""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from emulator import Emulator
from emulator.cli import build_parser, main
from emulator.engine.provider import load_providers
from emulator.faults import RULE_BODY, load_file
from emulator.receiver import Receiver
from tests.conftest import free_port, line_with

COMMANDS = ["serve", "fire", "receive", "check", "providers", "openapi", "health"]


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


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_every_command_explains_itself(run: Callable[..., Run], command: str) -> None:
    done = run(*([command] if command else []), "--help")
    assert done.returncode == 0
    assert "usage: webhook-emulator" in done.stdout
    if not command:
        assert all(c in done.stdout for c in COMMANDS)


def parsers(parser: argparse.ArgumentParser, name: str = "webhook-emulator") -> Iterator[tuple[str, Any]]:
    """Every (sub)command's parser under `parser`, with its name (`webhook-emulator fault add`)."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from parsers(sub, f"{name} {sub_name}")


def test_every_command_says_what_it_does_and_what_each_option_is() -> None:
    missing = [f"{name}: {action.option_strings or action.dest}" for name, parser in parsers(build_parser())
               for action in parser._actions
               if not action.help and not isinstance(action, argparse._SubParsersAction)]
    missing += [f"{name}: no description" for name, parser in parsers(build_parser()) if not parser.description]
    assert missing == []


def test_fault_add_help_says_the_faults_file_takes_the_same_rules(run: Callable[..., Run], tmp_path: Path) -> None:
    [add] = [parser for name, parser in parsers(build_parser()) if name == "webhook-emulator fault add"]
    assert "serve --faults FILE" in add.description
    assert all(key in add.description for key in RULE_BODY["properties"])  # the file's keys: retry_after...
    found = re.fullmatch(r"example: webhook-emulator (fault add .*); the same rule in a --faults file: (\[.*\])",
                         add.epilog)
    assert found is not None, add.epilog
    flags, in_a_file = (text.replace("PROVIDER", "gigapay") for text in found.groups())
    rules = tmp_path / "faults.yaml"
    rules.write_text(in_a_file, encoding="utf-8")
    [from_file] = load_file(rules, load_providers([]))
    with Emulator() as emulator:
        added = run(*shlex.split(flags), "--server", emulator.url, "--json")
    from_flags = {key: value for key, value in json.loads(added.stdout).items()
                  if key in RULE_BODY["properties"] and value not in (None, False)}
    assert added.returncode == 0 and from_flags == from_file


def test_no_command_prints_help_and_fails(run: Callable[..., Run]) -> None:
    done = run()
    assert done.returncode == 2 and "usage:" in done.stdout


def test_check_passes_on_the_built_in_fixtures(run: Callable[..., Run]) -> None:
    done = run("check")
    assert done.returncode == 0
    assert [line.split()[1] for line in done.stdout.splitlines()] == ["centry", "gigapay", "paybook", "shareactor",
                                                                      "syncfy"]


def test_check_reports_every_problem_of_every_file_one_line_each(run: Callable[..., Run], tmp_path: Path) -> None:
    (tmp_path / "acme.yaml").write_text("name: acme\nprefixes: [/acme/]\nauth: {}\nerrors: {}\nresource: {}\n"
                                        "routes: []\n")
    (tmp_path / "bad.yml").write_text("name: [unclosed\n")
    done = run("check", str(tmp_path))
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    acme = [line for line in lines if str(tmp_path / "acme.yaml") in line]
    assert {line.split(": at ", 1)[1].split(":")[0] for line in acme} == {"$.auth", "$.errors", "$.resource",
                                                                          "$.routes"}
    assert len(acme) == 6  # credentials, body, and the resource's name, id and fields, and the empty routes
    assert [line for line in lines if "bad.yml: line" in line]  # the .yml file is read too
    assert len(lines) == 7 and all(line.startswith("error: ") for line in lines)


def test_check_reads_yml_files(run: Callable[..., Run], tmp_path: Path) -> None:
    source = Path(__file__).parent.parent / "examples" / "acme"
    shutil.copytree(source, tmp_path / "fixtures")
    (tmp_path / "fixtures" / "acme.yaml").rename(tmp_path / "fixtures" / "acme.yml")
    done = run("check", str(tmp_path / "fixtures"))
    assert done.returncode == 0, done.stderr
    assert "ok  acme" in done.stdout and "acme.yml" in done.stdout


@pytest.mark.parametrize("layout", ["empty", "one folder down", "other files only"])
def test_check_fails_on_a_folder_with_no_fixture(run: Callable[..., Run], tmp_path: Path, layout: str) -> None:
    if layout == "one folder down":
        shutil.copytree(Path(__file__).parent.parent / "examples" / "acme", tmp_path / "nested")
    elif layout == "other files only":
        (tmp_path / "acme.json").write_text("{}")
    done = run("check", str(tmp_path))
    assert done.returncode == 2 and "ok " not in done.stdout
    assert done.stderr.strip() == f"error: {tmp_path}: no fixture here (a provider is a *.yaml or *.yml file in " \
                                  "the folder itself)"


def test_check_reports_invalid_yaml_with_its_line(run: Callable[..., Run], tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    done = run("check", str(tmp_path))
    assert done.returncode == 2 and "bad.yaml: line" in done.stderr and "Traceback" not in done.stderr


def test_providers_lists_routes_and_events_as_text_and_json(run: Callable[..., Run]) -> None:
    text = run("providers").stdout
    assert "gigapay: Gigapay API v2" in text and "POST   /v2/webhooks/" in text and "Payout.created" in text
    listing = json.loads(run("providers", "--json").stdout)
    assert {p["name"] for p in listing} == {"paybook", "syncfy", "shareactor", "gigapay", "centry"}


def test_serve_logs_a_line_per_api_call_and_per_delivery_attempt(receiver: Receiver) -> None:
    env = {**os.environ, "EMULATOR_PORT": "0", "EMULATOR_TIME_SCALE": "0.001"}
    process = subprocess.Popen([sys.executable, "-m", "emulator", "serve"], env=env, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    try:
        first = process.stderr.readline()
        assert first.endswith(" INFO emulator: providers: centry, gigapay, paybook, shareactor, syncfy\n"), first
        url = process.stderr.readline().rsplit(" ", 1)[1].strip()
        webhook = {"url": receiver.url_for("/gp"), "events": ["Payout.created"]}
        created = requests.post(url + "/v2/webhooks/", json=webhook,
                                headers={"Authorization": "Token GP", "Integration-ID": "i"}, timeout=10)
        assert created.status_code == 201
        call = process.stderr.readline()
        assert " INFO emulator.access: POST /v2/webhooks/ -> 201  gigapay tenant=GP " in call, call
        requests.post(url + "/_emulator/events", json={"provider": "gigapay", "event": "Payout.created",
                                                       "wait": True}, timeout=10).raise_for_status()
        attempt = process.stderr.readline()
        assert f"emulator.delivery: gigapay Payout.created -> {receiver.url}/gp: 200 (attempt 1 of 11) delivery " \
               in attempt, attempt
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def serve_start_up(*args: str) -> list[str]:
    """The log lines `serve ARGS` writes up to and with 'listening on', without their timestamps."""
    process = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--port", "0", *args],
                               stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    lines = []
    try:
        while not lines or "listening on" not in lines[-1]:
            line = process.stderr.readline()
            assert line, f"serve ended before listening: {lines}"
            lines.append(line.split(" INFO emulator: ", 1)[-1].rstrip("\n"))
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert process.returncode == 0
    return lines[:-1]


def test_serve_says_what_it_loaded_at_start_up(tmp_path: Path) -> None:
    state, faults, data = tmp_path / "state.yaml", tmp_path / "faults.yaml", tmp_path / "data"
    state.write_text('syncfy:\n  K: [{url: "http://127.0.0.1:9/s", events: [credentials.created]}]\n')
    faults.write_text("- {provider: centry, status: 500, probability: 0.1}\n- {provider: gigapay, drop: true}\n")
    acme = Path(__file__).parent.parent / "examples" / "acme"
    builtin = "providers: centry, gigapay, paybook, shareactor, syncfy"
    assert serve_start_up("--state", str(state), "--faults", str(faults), "--fixtures", str(acme)) == [
        f"{builtin}, acme (acme from {acme / 'acme.yaml'})",
        f"loaded 1 webhook(s) from the state file {state}",
        f"loaded 2 fault rule(s) from {faults}"]
    reading = f"reading {data / 'emulator.sqlite3'} back (a file of many deliveries takes seconds)"
    assert serve_start_up("--state", str(state), "--data-dir", str(data)) == [
        reading, builtin, f"loaded 1 webhook(s) from the state file {state}",
        "restored 0 delivery(ies) from the data dir, 0 of them pending (their retries carry on)"]
    assert serve_start_up("--state", str(state), "--data-dir", str(data)) == [
        reading, builtin, f"restored 1 webhook(s) from the data dir {data} (the state file {state} seeds only an empty "
                 "data dir)",
        "restored 0 delivery(ies) from the data dir, 0 of them pending (their retries carry on)"]
    with Emulator(data_dir=data) as emulator:  # a delivery to nobody, its retries still to come
        emulator.client.fire("syncfy", "credentials.created")
    assert serve_start_up("--data-dir", str(data))[2:] == [
        f"restored 1 webhook(s) from the data dir {data}",
        "restored 1 delivery(ies) from the data dir, 1 of them pending (their retries carry on)"]


def test_log_level_warning_keeps_the_terminal_quiet() -> None:
    port = free_port()
    env = {**os.environ, "EMULATOR_PORT": str(port), "EMULATOR_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "-m", "emulator", "serve"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while run_health(port) != 0:
            assert time.monotonic() < deadline and process.poll() is None, "the server did not come up"
            time.sleep(0.05)
        listed = requests.get(f"http://127.0.0.1:{port}/v2/webhooks/", headers={"Authorization": "Token GP"},
                              timeout=10)
        assert listed.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0  # (only the listening line, shown at every level)
    assert [line.split(" emulator: ", 1)[1] for line in err.splitlines()] == [f"listening on http://127.0.0.1:{port}"]


def run_health(port: int) -> int:
    return main(["health", "--url", f"http://127.0.0.1:{port}", "--timeout", "1"])


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


def test_serve_reports_a_port_in_use_once_with_the_way_out(run: Callable[..., Run]) -> None:
    with Emulator() as running:
        port = running.port
        done = run("serve", "--port", str(port))
    assert done.returncode == 2
    assert done.stderr.strip() == f"webhook-emulator: cannot listen on 127.0.0.1:{port}: the port is in " \
                                  "use (choose another with --port, or --port 0 for any free one)"


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("EMULATOR_PORT", "eighty", "EMULATOR_PORT must be a whole number, not 'eighty'"),
    ("EMULATOR_LOG_LEVEL", "verbose", "log level must be one of debug, info, warning, error, not 'verbose'"),
    ("EMULATOR_TIME_SCALE", "fast", "EMULATOR_TIME_SCALE must be a number, not 'fast'"),
])
@pytest.mark.parametrize("command", [["serve"], ["fire", "gigapay", "Payout.created", "--url", "http://127.0.0.1:9/"]])
def test_bad_settings_are_one_clear_line(run: Callable[..., Run], monkeypatch: pytest.MonkeyPatch, variable: str,
                                         value: str, message: str, command: list[str]) -> None:
    monkeypatch.setenv(variable, value)
    done = run(*command)
    assert done.returncode == 2
    assert done.stderr.strip() == f"webhook-emulator: {message}"


def test_health_fails_when_nothing_answers(run: Callable[..., Run]) -> None:
    done = run("health", "--url", "http://127.0.0.1:9", "--timeout", "1")
    assert done.returncode == 1 and done.stderr.startswith("unhealthy: http://127.0.0.1:9")


def test_fire_sends_a_signed_notification_to_a_url(run: Callable[..., Run], receiver: Receiver) -> None:
    done = run("fire", "shareactor", "product.created", "--url", receiver.url_for("/share"), "--secret", "s3cret",
               "--data", '{"name": "Tea"}', "--json")
    assert done.returncode == 0, done.stderr
    [delivery] = json.loads(done.stdout)["deliveries"]
    [got] = receiver.received
    assert delivery["status"] == "delivered" and got.path == "/share"
    assert got.json["object"]["name"] == "Tea"
    expected = hmac.new(b"s3cret", got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Share-Webhook-Signature"] == expected


def test_fire_prints_a_line_per_delivery_and_the_fresh_secret(run: Callable[..., Run], receiver: Receiver) -> None:
    done = run("fire", "gigapay", "Payout.created", "Employee.created", "--url", receiver.url_for("/gp"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:2] == [f"delivered Payout.created -> {receiver.url}/gp  HTTP 200 (1 attempt)",
                         f"delivered Employee.created -> {receiver.url}/gp  HTTP 200 (1 attempt)"]
    secret = json.loads(lines[2].removeprefix("secret: "))
    assert len(lines) == 3 and all(Receiver().verify("gigapay", got, secret) for got in receiver.received)


def test_fire_exits_1_when_the_delivery_fails(run: Callable[..., Run]) -> None:
    done = run("fire", "paybook", "refresh", "--url", "http://127.0.0.1:9/down", "--time-scale", "0.000001")
    assert done.returncode == 1
    [line] = done.stdout.splitlines()
    assert line.startswith("failed    refresh -> http://127.0.0.1:9/down  ClientConnectorError: Cannot connect")
    assert line.endswith(" (6 attempts)")


def test_receive_can_show_the_headers(run: Callable[..., Run]) -> None:
    process = subprocess.Popen([sys.executable, "-m", "emulator", "receive", "--port", "0", "--headers"],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    try:
        url = process.stdout.readline().split()[2]
        requests.post(url + "/h", data=b"{}", headers={"X-Signature": "abc"}, timeout=10)
        assert process.stdout.readline() == "POST /h 2 B  {}\n"
        headers = []
        while len(headers) < 10 and "  X-Signature: abc\n" not in headers:  # a line per header, in order
            headers.append(process.stdout.readline())
        assert "  X-Signature: abc\n" in headers and all(h.startswith("  ") for h in headers)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_fire_counts_duplicates_apart_from_retries(run: Callable[..., Run], receiver: Receiver) -> None:
    done = run("fire", "centry", "on_product_save", "--url", receiver.url_for("/ct"), "--duplicate", "2",
               "--time-scale", "0.001")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"delivered on_product_save -> {receiver.url}/ct  HTTP 200 " \
                                          "(3 attempts, 2 of them a duplicate)"


def test_server_commands_find_the_emulator_from_the_environment(run: Callable[..., Run],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with Emulator() as emulator:
        monkeypatch.setenv("EMULATOR_PORT", str(emulator.port))
        added = run("fault", "add", "--provider", "gigapay", "--status", "503")
        assert added.returncode == 0, added.stderr
        assert [rule["status"] for rule in json.loads(run("fault", "list", "--json").stdout)] == [503]
        assert json.loads(run("state", "export").stdout) == emulator.client.snapshot()


def test_fault_commands_say_what_happened_and_list_a_table(run: Callable[..., Run]) -> None:
    with Emulator() as emulator:
        server = ["--server", emulator.url]
        first = run("fault", "add", *server, "--provider", "gigapay", "--method", "POST", "--status", "429",
                    "--times", "2")
        second = run("fault", "add", *server, "--path", "/v2/webhooks/*", "--drop")
        listed = run("fault", "list", *server)
        one = run("fault", "clear", "f1", *server)
        rest = run("fault", "clear", *server)
        empty = run("fault", "list", *server)
        missing = run("fault", "clear", "f9", *server)
    assert first.stdout == "added fault f1: provider=gigapay method=POST -> answer 429 (Retry-After 1 s), " \
                           "the next 2 call(s)\n"
    assert second.stdout == "added fault f2: path=/v2/webhooks/* -> drop the connection, every matching call\n"
    assert [line.split("  ")[0] for line in listed.stdout.splitlines()] == ["ID", "f1", "f2"]
    assert listed.stdout.splitlines()[1].split() == ["f1", "provider=gigapay", "method=POST", "answer", "429",
                                                     "(Retry-After", "1", "s)", "the", "next", "2", "call(s)", "0",
                                                     "2"]
    assert (one.stdout, rest.stdout, empty.stdout) == ("removed fault f1\n", "removed 1 fault rule(s): f2\n",
                                                       "no fault rules\n")
    assert (missing.returncode, missing.stderr) == (2, "webhook-emulator: no fault rule 'f9'\n")


def test_the_fault_transcript_in_docs_cli_is_what_the_commands_print(run: Callable[..., Run]) -> None:
    """docs/cli.md's fault session, command by command against a live emulator."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text(encoding="utf-8")
    section = text.split("\n## fault\n", 1)[1].split("\n## ", 1)[0]
    [session] = [block for block in re.findall(r"^```text\n(.*?)^```", section, flags=re.M | re.S) if "$ " in block]
    steps = re.findall(r"^\$ webhook-emulator (.*)\n((?:(?!\$ ).*\n)*)", session, flags=re.M)
    assert len(steps) == 6
    with Emulator() as emulator:
        for command, shown in steps:
            done = run(*shlex.split(command), "--server", emulator.url)
            assert (done.returncode, done.stdout) == (0, shown), command


def test_an_unknown_provider_lists_the_providers(run: Callable[..., Run]) -> None:
    done = run("fire", "stripe", "charge.succeeded", "--url", "http://127.0.0.1:9/")
    assert done.returncode == 2
    assert done.stderr.strip() == "webhook-emulator: no provider named 'stripe'; the providers are " \
                                  "centry, gigapay, paybook, shareactor, syncfy (a provider of your own? add " \
                                  "--fixtures DIR)"


def test_receive_prints_each_notification_and_stops_on_sigterm(run: Callable[..., Run]) -> None:
    process = subprocess.Popen([sys.executable, "-m", "emulator", "receive", "--port", "0", "--status", "202"],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    try:
        first = process.stdout.readline()
        assert first.startswith("receiving on http://127.0.0.1:") and "(answering 202)" in first, first
        url = first.split()[2]
        answer = requests.post(url + "/hook", data=b'{"event": "x"}', timeout=10)
        assert answer.status_code == 202
        assert process.stdout.readline() == 'POST /hook 14 B  {"event": "x"}\n'
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


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


@pytest.mark.parametrize(("words", "message"), [
    (["--port", "abc"], "--port must be a whole number, not 'abc'"),
    (["--time-scale", "fast"], "--time-scale must be a number, not 'fast'"),
    (["--credentials", "bad"], "--credentials='bad': credentials entry 'bad' is not PROVIDER=KEY[,KEY...]"),
])
def test_bad_serve_flags_are_one_clear_line_in_the_variables_words(run: Callable[..., Run], words: list[str],
                                                                    message: str) -> None:
    done = run("serve", *words)
    assert (done.returncode, done.stderr.strip(), done.stdout) == (2, f"webhook-emulator: {message}", "")


def test_output_to_a_closed_pipe_ends_quietly() -> None:
    """`webhook-emulator fault list --json --server URL | head`: the reader went away; no traceback."""
    with Emulator() as running:
        running.client.add_fault("gigapay", status=503)
        read, write = os.pipe()
        os.close(read)  # (closed before the command writes: its first write finds no reader)
        with os.fdopen(write, "wb") as closed:
            command = [sys.executable, "-m", "emulator", "fault", "list", "--json", "--server", running.url]
            done = subprocess.run(command, stdout=closed, stderr=subprocess.PIPE, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (1, "")


def test_receive_names_the_events_of_each_notification(run: Callable[..., Run]) -> None:
    """docs/firing.md's `--order reversed` shows in receive's lines: each names its event (where the
    provider's notification names it: a Centry topic, Syncfy's grouped events; a Gigapay object does not)."""
    process = subprocess.Popen([sys.executable, "-m", "emulator", "receive", "--port", "0"], stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout is not None
    try:
        url = process.stdout.readline().split()[2]
        fired = run("fire", "centry", "on_product_save", "on_order_save", "--url", f"{url}/centry", "--order",
                    "reversed")
        assert fired.returncode == 0, fired.stderr
        lines = [process.stdout.readline(), process.stdout.readline()]
        assert [line.split("  ")[1] for line in lines] == ["event on_order_save", "event on_product_save"], lines
        assert run("fire", "syncfy", "credentials.created", "--url", f"{url}/s").returncode == 0
        assert process.stdout.readline().split("  ")[1] == "event credentials.created"
        assert run("fire", "gigapay", "Payout.created", "--url", f"{url}/g").returncode == 0
        assert re.fullmatch(r"POST /g \d+ B  \{.*\n", process.stdout.readline())
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_the_events_of_a_grouped_notification_are_named_in_order() -> None:
    from emulator.cli.event_names import EventNames

    entry = {"header": {"event": {"name": "credentials.updated"}}, "payload": {"event": "credential_update"}}
    grouped = {"events": [entry, {**entry, "header": {"event": {"name": "documents.failed"}}}], "rid": "r"}
    names = EventNames([], "syncfy").names
    assert names(json.dumps(grouped).encode()) == ["credentials.updated", "documents.fail"]  # (an alias: its name)
    assert names(b"not json") == [] and names(b'{"event": "refresh"}') == []  # (Paybook's place, not Syncfy's)
