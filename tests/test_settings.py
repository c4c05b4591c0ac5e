"""Settings from EMULATOR_* variables and flags, with clear errors for unusable values."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from emulator.cli import build_parser
from emulator.cli.serve import settings_of
from emulator.settings import Settings, SettingsError, markdown_table, parse_credentials
from tests.conftest import MakeApi


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


def test_a_float_variable_that_is_no_number_says_a_number() -> None:
    for name in ("EMULATOR_HEADER_TIMEOUT", "EMULATOR_BODY_TIMEOUT", "EMULATOR_TIME_SCALE"):
        with pytest.raises(SettingsError, match=f"^{name} must be a number, not 'soon'$"):
            Settings.from_env({name: "soon"})


def test_every_setting_has_a_serve_flag_and_a_variable_that_reach_it(tmp_path: Path) -> None:
    """Each field's flag and variable are generated from its declaration; both fill the field."""
    given = {"host": "0.0.0.0", "port": "9001", "seed": "3", "time_scale": "0.5", "delivery_timeout": "2.5",
             "header_timeout": "4", "body_timeout": "5", "max_connections": "7", "delivery_connections": "8",
             "fixtures": str(tmp_path), "journal_size": "9", "delivery_log_size": "10", "delivery_log_bytes": "11",
             "delivery_body_limit": "12", "delivery_attempts_kept": "13", "strict": None,
             "credentials": "paybook=k1", "log_level": "debug", "admin_token": "t", "allow_targets": "127.0.0.1",
             "allowed_hosts": "a.test,b.test", "state": str(tmp_path / "s.yaml"), "data_dir": str(tmp_path),
             "skip_corrupt_rows": None, "faults": str(tmp_path / "f.yaml")}
    assert set(given) == {f.name for f in fields(Settings)}
    argv = ["serve"] + [word for name, value in given.items()
                        for word in [f"--{name.replace('_', '-')}", *([value] if value is not None else [])]]
    from_flags = settings_of(build_parser().parse_args(argv))
    from_env = Settings.from_env({f"EMULATOR_{name.upper()}": value or "yes" for name, value in given.items()})
    assert from_flags == from_env
    assert from_flags.port == 9001 and from_flags.fixtures == [tmp_path] and from_flags.strict
    assert from_flags.allowed_hosts == ["a.test", "b.test"] and from_flags.credentials == {"paybook": ["k1"]}
    assert all(getattr(from_flags, f.name) != getattr(Settings(), f.name) for f in fields(Settings))


def test_serve_help_says_each_variable_and_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "(EMULATOR_PORT; default 8080)" in shown and "(EMULATOR_DELIVERY_TIMEOUT; default the provider's)" in shown
    assert all(f"EMULATOR_{f.name.upper()};" in shown for f in fields(Settings))


def test_the_configuration_table_is_generated_from_the_settings() -> None:
    guide = (Path(__file__).resolve().parent.parent / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert markdown_table() in guide, "regenerate it: python -m emulator.settings --markdown"
    done = subprocess.run([sys.executable, "-m", "emulator.settings", "--markdown"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == markdown_table()


@pytest.mark.parametrize(("given", "message"), [
    ({"strict": "no"}, "strict must be a bool, not 'no'"),
    ({"seed": "abc"}, "seed must be an int, not 'abc'"),
    ({"port": True}, "port must be an int, not True"),
    ({"fixtures": "extra"}, "fixtures must be a list of Path, not 'extra'"),
    ({"credentials": {"gigapay": [1]}}, "credentials must map each provider to a list of keys, not 'gigapay': [1]"),
    ({"credentials": ["gigapay"]}, "credentials must map providers to keys, not ['gigapay']"),
])
def test_settings_given_in_python_are_checked_against_their_types(given: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match="^" + re.escape(message) + "$"):
        Settings(**given)


def test_credentials_in_python_may_be_the_flags_text_or_name_one_key() -> None:
    assert Settings(credentials="gigapay=t1;paybook=k1,k2").credentials == {"gigapay": ["t1"], "paybook": ["k1", "k2"]}
    assert Settings(credentials={"gigapay": "MY_TOKEN"}).credentials == {"gigapay": ["MY_TOKEN"]}
    assert Settings(time_scale=1, fixtures=["extra"]).time_scale == 1.0


async def test_a_strict_key_given_as_one_string_accepts_that_key_only(make_api: MakeApi) -> None:
    api = await make_api(strict=True, credentials={"gigapay": "MY_TOKEN"})
    for token, status in (("MY_TOKEN", 200), ("MY", 401), ("TOK", 401)):
        answer = await api.get("/v2/webhooks/", headers={"Authorization": f"Token {token}", "Integration-ID": "i"})
        assert answer.status == status, token
