"""The README's examples, run: its curl and CLI examples against a live emulator (with a live
receiver standing in for http://127.0.0.1:9000), its pytest example through pytester, and its
set-up commands checked against .ci/run. A README change that breaks an example fails here."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from emulator import Emulator
from emulator.cli import build_parser
from emulator.receiver import Receiver

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
EMULATOR_URL = "http://127.0.0.1:8080"
RECEIVER_URL = "http://127.0.0.1:9000"


def blocks(language: str) -> list[str]:
    """The README's fenced code blocks in `language`, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.M | re.S)


def commands(block: str) -> list[list[str]]:
    """A shell block's commands (continuation lines joined), each split into words."""
    return [shlex.split(line) for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def curl(args: list[str]) -> requests.Response:
    """Run the curl options the README uses (-s, -i, -X, -H, -d) with requests."""
    method, headers, data, url = None, {}, None, None
    words = iter(args[1:])
    for word in words:
        if word in ("-s", "-i"):
            continue
        if word == "-X":
            method = next(words)
        elif word == "-H":
            name, _, value = next(words).partition(":")
            headers[name.strip()] = value.strip()
        elif word == "-d":
            data = next(words)
        else:
            url = word
    assert url, f"no URL in {args}"
    if data is not None:  # what curl -d sends unless told otherwise
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    return requests.request(method or ("POST" if data else "GET"), url, headers=headers, data=data,
                            allow_redirects=False, timeout=30)


@pytest.fixture
def live() -> Iterator[tuple[Emulator, Receiver]]:
    with Emulator(time_scale=0.001) as emulator, Receiver() as receiver:
        yield emulator, receiver


def test_setup_commands_are_the_ones_ci_runs() -> None:
    install_and_start, install_and_test = blocks("shell")[:2]
    assert install_and_start.strip() == "pip install . && webhook-emulator serve"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert install_and_test.strip() in ci.splitlines()


def test_subprocesses_run_the_working_tree() -> None:
    """The development install is editable, so a change in the tree is what subprocess and
    pytester tests exercise (not a copy installed earlier)."""
    done = subprocess.run([sys.executable, "-c", "import emulator.receiver as r; print(r.__file__)"],
                          capture_output=True, text=True, timeout=60, cwd="/")
    assert Path(done.stdout.strip()).resolve() == ROOT / "emulator" / "receiver.py", done.stderr


def test_every_shell_example_runs(live: tuple[Emulator, Receiver]) -> None:
    emulator, receiver = live
    examples = [c for block in blocks("sh") for c in commands(block)]
    fired: list[str] = []
    assert examples, "the README has no runnable examples"
    for words in examples:
        words = [w.replace(EMULATOR_URL, emulator.url).replace(RECEIVER_URL, receiver.url) for w in words]
        if words[0] == "curl":
            response = curl(words)
            assert response.status_code < 400, f"{shlex.join(words)} -> {response.status_code} {response.text}"
            answer = response.json()
            if isinstance(answer, dict) and "deliveries" in answer and "complete" in answer:
                assert answer["deliveries"], f"{shlex.join(words)} delivered nothing"
                assert all(d["status"] == "delivered" for d in answer["deliveries"]), answer
                if '"order":"reversed"' in shlex.join(words):  # the reordering is there to see
                    asked = json.loads(words[words.index("-d") + 1])["event"]
                    assert [d["events"] for d in answer["deliveries"]] == [[e] for e in reversed(asked)], answer
        elif words[:2] == ["webhook-emulator", "receive"]:
            # The live receiver stands in for it: the command must listen where the examples deliver.
            defaults = build_parser().parse_args(words[1:])
            assert f"http://{defaults.host}:{defaults.port}" == RECEIVER_URL
        elif words[0] == "webhook-emulator":
            done = subprocess.run([sys.executable, "-m", "emulator", *words[1:]], capture_output=True, text=True,
                                  timeout=60)
            assert done.returncode == 0, f"{shlex.join(words)}: {done.stderr}"
            if words[1] == "fire":
                lines = done.stdout.replace(receiver.url, RECEIVER_URL).splitlines()
                assert lines and all(line.startswith(("delivered ", "secret: ")) for line in lines), done.stdout
                fired.append("\n".join(lines))
        else:
            pytest.fail(f"the README's sh blocks hold only curl and webhook-emulator commands, not {words[0]}")
    assert blocks("text")[0].strip() in fired, "the README shows what its first fire example prints"
    # The fired examples reached the webhooks the examples registered (and the --url one).
    assert {"/gigapay", "/share"} <= {r.path for r in receiver.received}


def test_docker_examples_match_the_dockerfile() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    [exposed] = re.findall(r"^EXPOSE (\d+)$", dockerfile, flags=re.M)
    build, run = commands(blocks("shell")[2])
    assert build[:4] == ["docker", "build", "-t", "webhook-emulator"] and build[-1] == "."
    assert f"{exposed}:{exposed}" in run and run[-1] == "webhook-emulator"
    [compose] = blocks("yaml")
    service = yaml.safe_load(compose)["services"]["webhooks"]
    assert f"{exposed}:{exposed}" in service["ports"] and service["build"] == "."


def test_pytest_examples_pass_in_a_fresh_project(pytester: pytest.Pytester) -> None:
    """A project of its own (no config of ours), with what the README says it needs installed."""
    examples = blocks("python")
    assert len(examples) == 3
    pytester.makepyfile(**{f"test_readme_example_{i}": example for i, example in enumerate(examples)})
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_the_pytest_extra_brings_what_the_examples_need() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extra = {re.split(r"[<>=\[ ]", requirement)[0] for requirement in project["optional-dependencies"]["pytest"]}
    assert extra == {"pytest", "pytest-asyncio"}
    assert "pip install 'webhook-emulator[pytest]'" in README


def test_the_state_file_example_loads_and_the_compose_example_mounts_it(tmp_path: Path) -> None:
    [state] = blocks("yaml state.yaml")
    path = tmp_path / "state.yaml"
    path.write_text(state, encoding="utf-8")
    with Emulator(state=path) as emulator:
        listed = requests.get(f"{emulator.url}/v1/webhooks/subscriptions", timeout=10,
                              headers={"Authorization": "api_key api_key=MY_SYNCFY_KEY"}).json()["response"]
        assert [s["id_subscription"] for s in listed] == ["65f0c0ffee0000000000beef"]
        payouts = requests.get(f"{emulator.url}/v2/webhooks/payouts/", timeout=10, headers={
            "Authorization": "Token MY_GIGAPAY_TOKEN", "Integration-ID": "MY_INTEGRATION_ID"}).json()
        assert payouts["secret_key"] == "my-fixed-secret"
    [compose] = blocks("yaml docker-compose.yml")
    service = yaml.safe_load(compose)["services"]["webhooks"]
    mounted = {v.split(":")[1] for v in service["volumes"]}
    assert {service["environment"]["EMULATOR_STATE"], service["environment"]["EMULATOR_DATA_DIR"]} <= mounted
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert f'VOLUME ["{service["environment"]["EMULATOR_DATA_DIR"]}"]' in dockerfile
