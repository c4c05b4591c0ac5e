"""Number settings that are not finite (NaN, infinity) are refused in one line, whether they come
from a flag, an EMULATOR_* variable or the Python API."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from emulator.settings import Settings, SettingsError

NUMBERS = {"time_scale": "--time-scale", "delivery_timeout": "--delivery-timeout",
           "header_timeout": "--header-timeout", "body_timeout": "--body-timeout"}


@pytest.mark.parametrize("name", sorted(NUMBERS))
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_number_setting_must_be_finite(name: str, value: str) -> None:
    words = name.replace("_", " ")
    with pytest.raises(SettingsError, match=f"^{words} must be a finite number"):
        Settings(**{name: float(value)})
    with pytest.raises(SettingsError, match=f"^{words} must be a finite number"):
        Settings.from_env({f"EMULATOR_{name.upper()}": value})


@pytest.mark.parametrize("name", sorted(NUMBERS))
def test_serve_refuses_nan_in_one_line(name: str) -> None:
    for argv, env in (([NUMBERS[name], "nan"], {}), ([], {f"EMULATOR_{name.upper()}": "NaN"})):
        done = subprocess.run([sys.executable, "-m", "emulator", "serve", "--port", "0", *argv],
                              capture_output=True, text=True, timeout=60, env={**os.environ, **env})
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert "must be a finite number, not nan" in done.stderr
