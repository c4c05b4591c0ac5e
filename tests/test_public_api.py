"""The package's public names import from the package itself, and importing it stays light (the
Docker HEALTHCHECK's `health` command must not load the server or the schemas)."""

from __future__ import annotations

import subprocess
import sys

import emulator


def test_every_public_name_imports_from_the_package() -> None:
    from emulator import (
        AsyncEmulatorClient,
        ControlError,
        Emulator,
        EmulatorClient,
        Notification,
        Received,
        Receiver,
        Settings,
        create_app,
        notification,
    )

    named = [AsyncEmulatorClient, ControlError, Emulator, EmulatorClient, Notification, Received, Receiver, Settings,
             create_app, notification]
    assert [n.__name__ for n in named] == [n for n in sorted(emulator.__all__) if n != "__version__"]
    assert set(emulator.__all__) <= set(dir(emulator))


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        emulator.Nothing  # noqa: B018
    except AttributeError as exc:
        assert "no attribute 'Nothing'" in str(exc)
    else:
        raise AssertionError("emulator.Nothing should not exist")


def test_importing_the_package_and_a_client_loads_no_server() -> None:
    probe = ("import sys\nimport emulator\nfrom emulator import EmulatorClient\n"
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'aiohttp', 'jsonschema', 'yaml', 'jwt'}))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
