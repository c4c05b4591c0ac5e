"""Settings from EMULATOR_* variables and flags, with clear errors for unusable values."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.settings import Settings, SettingsError, parse_credentials


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert (settings.host, settings.port, settings.seed, settings.time_scale) == ("127.0.0.1", 8080, None, 1.0)
    assert (settings.strict, settings.credentials, settings.fixtures) == (False, {}, [])
    assert settings.delivery_timeout is None


def test_every_variable_is_read() -> None:
    settings = Settings.from_env({
        "EMULATOR_HOST": "0.0.0.0", "EMULATOR_PORT": "9000", "EMULATOR_SEED": "7", "EMULATOR_TIME_SCALE": "0.001",
        "EMULATOR_DELIVERY_TIMEOUT": "2.5", "EMULATOR_FIXTURES": "/a:/b", "EMULATOR_JOURNAL_SIZE": "5",
        "EMULATOR_DELIVERY_LOG_SIZE": "6", "EMULATOR_STRICT": "yes", "EMULATOR_CREDENTIALS": "paybook=k1,k2;centry=t",
        "EMULATOR_LOG_LEVEL": "debug",
    })
    assert (settings.host, settings.port, settings.seed, settings.time_scale) == ("0.0.0.0", 9000, 7, 0.001)
    assert (settings.delivery_timeout, settings.journal_size, settings.delivery_log_size) == (2.5, 5, 6)
    assert settings.fixtures == [Path("/a"), Path("/b")]
    assert settings.strict and settings.log_level == "debug"
    assert settings.credentials == {"paybook": ["k1", "k2"], "centry": ["t"]}


def test_flags_win_over_variables_and_empty_variables_are_unset() -> None:
    settings = Settings.from_env({"EMULATOR_PORT": "9000", "EMULATOR_SEED": ""}, port=9100, seed=None)
    assert (settings.port, settings.seed) == (9100, None)


@pytest.mark.parametrize(("env", "message"), [
    ({"EMULATOR_PORT": "eighty"}, "EMULATOR_PORT must be a whole number, not 'eighty'"),
    ({"EMULATOR_PORT": "70000"}, "port must be 0..65535, not 70000"),
    ({"EMULATOR_TIME_SCALE": "0"}, "time scale must be > 0, not 0.0"),
    ({"EMULATOR_DELIVERY_TIMEOUT": "-1"}, "delivery timeout must be > 0"),
    ({"EMULATOR_JOURNAL_SIZE": "0"}, "journal and delivery log sizes must be >= 1"),
    ({"EMULATOR_CREDENTIALS": "paybook"}, "credentials entry 'paybook' is not PROVIDER=KEY[,KEY...]"),
])
def test_unusable_values_are_one_clear_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("[", r"\[").replace(".", r"\.")):
        Settings.from_env(env)


def test_strict_for_a_provider() -> None:
    assert not Settings().strict_for("paybook")
    assert Settings(strict=True).strict_for("paybook")
    listed = Settings(credentials={"gigapay": ["t"]})
    assert listed.strict_for("gigapay") and not listed.strict_for("paybook")


def test_credentials_syntax_tolerates_spaces_and_repeats() -> None:
    assert parse_credentials(" paybook = a , b ; paybook=c;; ") == {"paybook": ["a", "b", "c"]}
