"""The examples of the README and of the guides in docs/, run: their curl and CLI examples (every
`sh` block, each found by the name in its fence) against one live emulator, in the order a reader
meets them, with a live receiver standing in for http://127.0.0.1:9000; the pytest examples
through pytester; the set-up commands checked against .ci/run; and every relative link. A change
that breaks an example, or moves one without its name, fails here."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import requests
import yaml

from emulator import Emulator
from emulator.cli import build_parser
from emulator.receiver import Receiver
from emulator.settings import Settings
from tests.docs_blocks import PAGES, ROOT, block, fenced, page_name

README = (ROOT / "README.md").read_text(encoding="utf-8")
# Every `sh` block, in the order they run against one emulator: later ones use what earlier ones
# created (the firing examples deliver to the webhooks the provider examples registered).
RUN = [("README.md", "quick-start")] + \
    [("docs/providers.md", name) for name in ("paybook", "syncfy", "shareactor", "gigapay", "centry")] + \
    [("docs/firing.md", name) for name in ("fire", "fire-to-a-url", "misbehave")] + \
    [("docs/faults.md", "faults"), ("docs/state.md", "dashboard-and-snapshot"),
     ("docs/inspector.md", "syncfy-dashboard"), ("docs/following.md", "follow-curl"),
     ("docs/control-api.md", "control")]
EMULATOR_URL = "http://127.0.0.1:8080"
RECEIVER_URL = "http://127.0.0.1:9000"


def commands(text: str) -> list[list[str]]:
    """A shell block's commands (continuation lines joined), each split into words."""
    return [shlex.split(line) for line in text.replace("\\\n", " ").splitlines() if line.strip()]


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


def test_setup_commands_are_the_ones_ci_runs() -> None:
    assert block("README.md", "install-and-serve", "shell").strip() == "pip install . && webhook-emulator serve"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert block("README.md", "install-and-test", "shell").strip() in ci.splitlines()


def test_the_quick_start_serves_where_its_examples_go() -> None:
    served = Settings()  # what `webhook-emulator serve` listens on, given no option or variable
    assert f"http://{served.host}:{served.port}" == EMULATOR_URL
    assert f"<{EMULATOR_URL}/_emulator/ui>" in README


def test_every_sh_block_has_a_name_and_is_run() -> None:
    found = [(page_name(p), name) for p in PAGES for lang, name, _ in fenced(page_name(p)) if lang == "sh"]
    assert all(name for _, name in found), f"an sh block without a name: {found}"
    assert sorted(found) == sorted(RUN)


def test_subprocesses_run_the_working_tree() -> None:
    """The development install is editable, so a change in the tree is what subprocess and
    pytester tests exercise (not a copy installed earlier)."""
    done = subprocess.run([sys.executable, "-c", "import emulator.receiver as r; print(r.__file__)"],
                          capture_output=True, text=True, timeout=60, cwd="/")
    assert Path(done.stdout.strip()).resolve() == ROOT / "emulator" / "receiver.py", done.stderr


def test_every_shell_example_runs(emulator: Emulator, receiver: Receiver) -> None:
    examples = [c for page, name in RUN for c in commands(block(page, name, "sh"))]
    fired: list[str] = []
    assert examples, "no runnable examples"
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
            pytest.fail(f"the sh blocks hold only curl and webhook-emulator commands, not {words[0]}")
    assert block("docs/firing.md", "fire-output").strip() in fired, "docs/firing.md shows what its fire example prints"
    # The fired examples reached the webhooks the examples registered (and the --url one).
    assert {"/gigapay", "/share"} <= {r.path for r in receiver.received}


def test_docker_examples_match_the_dockerfile() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    [exposed] = re.findall(r"^EXPOSE (\d+)$", dockerfile, flags=re.M)
    build, run = commands(block("docs/docker.md", "docker-build-and-run"))
    assert build[:4] == ["docker", "build", "-t", "webhook-emulator"] and build[-1] == "."
    assert f"{exposed}:{exposed}" in run and run[-1] == "webhook-emulator"
    service = yaml.safe_load(block("docs/docker.md", "compose"))["services"]["webhooks"]
    assert f"{exposed}:{exposed}" in service["ports"] and service["build"] == "."


def test_pytest_examples_pass_in_a_fresh_project(pytester: pytest.Pytester) -> None:
    """A project of its own (no config of ours), with what the README says it needs installed:
    the README's example, docs/pytest.md's async one and docs/following.md's."""
    pytester.makepyfile(test_readme_example=block("README.md", "pytest-example", "python"),
                        test_async_example=block("docs/pytest.md", "async-example", "python"),
                        test_following_example=block("docs/following.md", "follow-example", "python"))
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    assert LOOP_SCOPE_OPTION in result.stderr.str()  # pytest-asyncio's warning: why the README names the option


LOOP_SCOPE_OPTION = "asyncio_default_fixture_loop_scope"


def test_the_readme_says_next_to_its_pytest_example_how_to_silence_pytest_asyncios_warning(
        pytester: pytest.Pytester) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    after = readme[readme.index("```python pytest-example"):]
    after = after[after.index("\n```\n"):][:600]  # (the lines right after the example)
    found = re.search(r"`(\[tool\.pytest\.ini_options\])` .*?`(" + LOOP_SCOPE_OPTION + r" = [^`]+)`", after, re.S)
    assert found, "the README says which ini option silences the warning, next to its pytest example"
    pytester.makepyprojecttoml(f"{found[1]}\n{found[2]}\n")
    pytester.makepyfile(test_readme_example=block("README.md", "pytest-example", "python"))
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert LOOP_SCOPE_OPTION not in result.stdout.str() + result.stderr.str()


def test_the_pytest_extra_brings_what_the_examples_need() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extra = {re.split(r"[<>=\[ ]", requirement)[0] for requirement in project["optional-dependencies"]["pytest"]}
    assert extra == {"pytest", "pytest-asyncio"}
    assert "[docs/install.md](docs/install.md)" in README and "`[pytest]` extra" in README
    assert "pip install './webhook-emulator[pytest]'" in (ROOT / "docs" / "install.md").read_text(encoding="utf-8")


def test_the_state_file_example_loads_and_the_compose_example_mounts_it(tmp_path: Path) -> None:
    path = tmp_path / "state.yaml"
    path.write_text(block("docs/state.md", "state.yaml", "yaml"), encoding="utf-8")
    with Emulator(state=path) as emulator:
        listed = requests.get(f"{emulator.url}/v1/webhooks/subscriptions", timeout=10,
                              headers={"Authorization": "api_key api_key=MY_SYNCFY_KEY"}).json()["response"]
        assert [s["id_subscription"] for s in listed] == ["65f0c0ffee0000000000beef"]
        payouts = requests.get(f"{emulator.url}/v2/webhooks/payouts/", timeout=10, headers={
            "Authorization": "Token MY_GIGAPAY_TOKEN", "Integration-ID": "MY_INTEGRATION_ID"}).json()
        assert payouts["secret_key"] == "my-fixed-secret"
    service = yaml.safe_load(block("docs/state.md", "docker-compose.yml", "yaml"))["services"]["webhooks"]
    mounted = {v.split(":")[1] for v in service["volumes"]}
    assert {service["environment"]["EMULATOR_STATE"], service["environment"]["EMULATOR_DATA_DIR"]} <= mounted
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert f'VOLUME ["{service["environment"]["EMULATOR_DATA_DIR"]}"]' in dockerfile


def _anchors(path: Path) -> set[str]:
    """The anchors GitHub gives a page's headings."""
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.M | re.S)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in re.findall(r"^#+ (.*)$", text, re.M)}


@pytest.mark.parametrize("page", PAGES, ids=page_name)
def test_every_relative_link_leads_somewhere(page: Path) -> None:
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        where, _, anchor = target.partition("#")
        linked = (page.parent / where).resolve() if where else page
        if not linked.exists() or (anchor and linked.suffix == ".md" and anchor not in _anchors(linked)):
            broken.append(target)
    assert broken == []
