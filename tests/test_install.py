"""docs/install.md's ways of getting the emulator into a user's project: a wheel built from a
checkout works away from the source tree (fixtures, schemas and the example provider inside it),
and the compose file it shows is the one tested here."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import yaml

ROOT = Path(__file__).parent.parent
GUIDE = (ROOT / "docs" / "install.md").read_text(encoding="utf-8")


def _block(name: str) -> str:
    """The code block of docs/install.md whose fence names it (```lang name)."""
    lines = GUIDE.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("```") and name in line.split()[1:])
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("```"))
    return "\n".join(lines[start + 1:end])


def test_a_wheel_built_from_a_checkout_serves_away_from_the_source_tree(tmp_path: Path) -> None:
    assert "pip wheel . --no-deps -w dist" in _block("wheel")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w",
                            str(tmp_path / "dist")], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("webhook_emulator-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for shipped in ("emulator/_data/fixtures/gigapay.yaml", "emulator/_data/schemas/fixture.schema.json",
                    "emulator/_data/examples/acme/acme.yaml"):
        assert shipped in names
    target = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                                str(wheel)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    # Run from an empty folder with only the installed copy on the path (its dependencies come
    # from this interpreter's site-packages): the package must not need the checkout.
    script = ("import emulator, sys; from emulator import Emulator\n"
              "assert emulator.__file__.startswith(sys.argv[1]), emulator.__file__\n"
              "from emulator.engine.provider import data_dir\n"
              "assert (data_dir() / 'examples' / 'acme' / 'acme.yaml').is_file()\n"
              "with Emulator(fixtures=[data_dir() / 'examples' / 'acme']) as emu:\n"
              "    print(sorted(emu.client.health()['providers']))\n")
    run = subprocess.run([sys.executable, "-P", "-c", script, str(target)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    assert "acme" in run.stdout and "gigapay" in run.stdout


def test_the_compose_example_builds_the_image_from_a_checkout_and_waits_for_its_health() -> None:
    compose = yaml.safe_load(_block("compose"))
    emulator = compose["services"]["webhooks"]
    assert emulator["build"]["context"] == "./webhook-emulator" and (ROOT / "Dockerfile").is_file()
    assert emulator["image"] == "webhook-emulator:local"
    assert compose["services"]["tests"]["depends_on"]["webhooks"]["condition"] == "service_healthy"
    assert "HEALTHCHECK" in (ROOT / "Dockerfile").read_text(encoding="utf-8")


def test_a_fresh_install_without_optional_format_packages_judges_formats_alike() -> None:
    # jsonschema checks date-time and time only where rfc3339-validator is installed (this test
    # environment has it, through the test extra; a user's fresh install does not): the emulator
    # checks its formats itself, so both judge alike and the built-in fixtures pass every check.
    script = (
        "import sys\n"
        "class Refuse:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('rfc3339_validator', 'rfc3987', 'rfc3986_validator', 'idna', 'fqdn',\n"
        "                                  'isoduration', 'jsonpointer', 'uri_template', 'webcolors'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Refuse())\n"
        "from emulator.engine.formats import ENFORCED, FORMAT_CHECKER\n"
        "from emulator.engine.provider import load_providers\n"
        "assert sorted(FORMAT_CHECKER.checkers) == sorted(ENFORCED), sorted(FORMAT_CHECKER.checkers)\n"
        "ok = [FORMAT_CHECKER.conforms(v, 'date-time') for v in ('2024-01-02T03:04:05.678Z',\n"
        "      '2024-01-02T03:04:05-03:00', '2024-13-02T03:04:05Z', '2024-01-02 03:04', '2024-02-30T00:00:00Z')]\n"
        "assert ok == [True, True, False, False, False], ok\n"
        "assert FORMAT_CHECKER.conforms('23:59:60+01:00', 'time')\n"
        "assert not FORMAT_CHECKER.conforms('24:00:00Z', 'time')\n"
        "print(sorted(load_providers([], check_builtin=True)))\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "gigapay" in run.stdout
