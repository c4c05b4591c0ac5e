"""One Settings object, filled from command-line flags and EMULATOR_* environment variables."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from pathlib import Path
from typing import Any

from emulator.delivery.targets import TargetPolicy

LOG_LEVELS = ("debug", "info", "warning", "error")
# Bounds of the delivery log (each a setting): bytes of each body it shows (a notification's, an
# attempt's request and response), attempts it keeps per delivery (the most recent; the count stays
# exact), and bytes of bodies it holds in all (the oldest deliveries go first).
DELIVERY_BODY_LIMIT = 64 * 1024
DELIVERY_ATTEMPTS_KEPT = 20
DELIVERY_LOG_BYTES = 64 * 1024 * 1024


class SettingsError(ValueError):
    """A flag or EMULATOR_* variable has a value that cannot be used."""


def parse_credentials(text: str) -> dict[str, list[str]]:
    """`one=k1,k2;two=t1` -> {"one": ["k1", "k2"], "two": ["t1"]}."""
    result: dict[str, list[str]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, keys = part.partition("=")
        if not sep or not name.strip():
            raise SettingsError(f"credentials entry {part!r} is not PROVIDER=KEY[,KEY...]")
        result.setdefault(name.strip(), []).extend(k.strip() for k in keys.split(",") if k.strip())
    return result


def local_url(host: str, port: int) -> str:
    """The base URL a client on this machine reaches a server bound to host:port at (an
    any-address bind is reached on the loopback; an IPv6 address goes in brackets)."""
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def parse_list(text: str) -> list[str]:
    """`a, b,c` -> ["a", "b", "c"]."""
    return [item.strip() for item in text.split(",") if item.strip()]


@dataclass(frozen=True)
class Option:
    """How a Settings field is told and documented: its flag (`--time-scale`) and variable
    (`EMULATOR_TIME_SCALE`) come from its name, its converter from its type (or `parse`), and
    `serve --help` and the README's Configuration table from `help` and `default_words`."""

    help: str  # what it means, in Markdown (`code` in backticks)
    default_words: str | None = None  # the default in words, where the value itself does not say it
    metavar: str | None = None  # what the flag takes, where its name does not say it (DIR, FILE)
    parse: Callable[[str], Any] | None = None  # one value from text; default: from the field's type
    choices: tuple[str, ...] | None = None


def option(default: Any = MISSING, help: str = "", *, factory: Callable[[], Any] | None = None, **more: Any) -> Any:
    """A Settings field with its Option (`default`, or a fresh `factory()` each time)."""
    metadata = {"option": Option(help, **more)}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class Settings:
    """Everything an emulator can be told. Each field has a flag and an EMULATOR_<NAME> variable."""

    host: str = option("127.0.0.1", "interface to bind (`0.0.0.0` in a container)")
    port: int = option(8080, "TCP port (0: a free one)")
    seed: int | None = option(None, "reproducible ids, secrets and record timestamps (their clock starts at "
                              "2024-01-02T03:04:05.678Z and moves 1 ms each time it is read); what a "
                              "firing makes, deliveries, tokens and signatures keep the real time")
    time_scale: float = option(1.0, "multiplies every delivery delay and retry interval, e.g. 0.001")
    delivery_timeout: float | None = option(None, "seconds a receiver has to answer one delivery attempt (timed "
                                            "once it has its connection)", default_words="the provider's")
    header_timeout: float = option(10.0, "seconds a client has to send a request's headers (and an idle "
                                   "keep-alive connection stays open)")
    body_timeout: float = option(30.0, "seconds a client has to send a request's body (then 408, in the "
                                 "provider's style)")
    max_connections: int = option(512, "client connections open at once; one more is answered 503 and closed")
    delivery_connections: int = option(100, "connections open at once for deliveries; more attempts wait, "
                                       "untimed, for a free one")
    fixtures: list[Path] = option(help="a folder of extra provider fixtures (`*.yaml`, with `schemas/` beside "
                                  "them); repeatable (`:`-separated in the variable)", factory=list, metavar="DIR")
    journal_size: int = option(1000, "requests kept in the request journal (`/_emulator/requests`)")
    delivery_log_size: int = option(1000, "deliveries kept in the delivery log")
    delivery_log_bytes: int = option(DELIVERY_LOG_BYTES, "bytes of bodies the delivery log holds in all (the "
                                     "oldest deliveries go first)", default_words=f"`{DELIVERY_LOG_BYTES}` (64 MiB)")
    delivery_body_limit: int = option(DELIVERY_BODY_LIMIT, "bytes of each body the delivery log keeps (a "
                                      "notification's, an attempt's request and response), then "
                                      "`... [truncated: N bytes in all]`")
    delivery_attempts_kept: int = option(DELIVERY_ATTEMPTS_KEPT, "attempts the delivery log keeps per delivery, "
                                         "the most recent (`attempt_count` counts them all)")
    strict: bool = option(False, "accept only configured credentials and the tokens the emulator issued")
    credentials: dict[str, list[str]] = option(
        help="accepted keys per provider, `NAME=k1,k2;OTHER=t1`: a provider with keys listed accepts only those; "
        "for an OAuth provider, `NAME=CLIENT_ID:SECRET` is a client allowed tokens", factory=dict,
        parse=parse_credentials)
    log_level: str = option("info", "logging detail: `info`, a line per API call and per delivery attempt; "
                            "`warning`, problems only; `debug`; `error`; the \"listening on\" line is there at "
                            "every level",
                            choices=LOG_LEVELS)
    admin_token: str | None = option(None, "require `Authorization: Bearer TOKEN` on every `/_emulator/` "
                                     "endpoint but health", default_words="none, the control API is open")
    allow_targets: list[str] | None = option(
        None, "where notifications may go: comma-separated hosts, `host:port` or CIDR ranges, e.g. "
        "`127.0.0.0/8,::1,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16`; a delivery elsewhere fails at once, saying why",
        default_words="anywhere", parse=parse_list)
    allowed_hosts: list[str] = option(help="while listening on a loopback address, `Host` names served besides "
                                      "`localhost` and loopback addresses, comma-separated", factory=list,
                                      parse=parse_list)
    state: Path | None = option(None, "a state file (YAML or JSON: provider -> tenant -> webhooks in the "
                                "provider's create shape) loaded at start-up into an empty emulator", metavar="FILE")
    data_dir: Path | None = option(None, "keep webhooks, tokens and pending deliveries in SQLite in this folder, "
                                   "across restarts", default_words="none, in memory only", metavar="DIR")
    skip_corrupt_rows: bool = option(False, "start even when rows of the `--data-dir` file cannot be read, "
                                     "leaving them out (each logged)",
                                     default_words="off: refuse to start, naming the row")
    faults: Path | None = option(None, "a YAML or JSON file of fault rules loaded at start-up (see "
                                 "`webhook-emulator fault add --help`)", metavar="FILE")

    def __post_init__(self) -> None:
        for f in fields(self):
            setattr(self, f.name, _typed(f, getattr(self, f.name)))
        if not 0 <= self.port <= 65535:
            raise SettingsError(f"port must be 0..65535, not {self.port}")
        _finite(time_scale=self.time_scale, delivery_timeout=self.delivery_timeout,
                header_timeout=self.header_timeout, body_timeout=self.body_timeout)
        if self.time_scale <= 0:
            raise SettingsError(f"time scale must be > 0, not {self.time_scale}")
        if min(self.header_timeout, self.body_timeout) <= 0 or self.max_connections < 1:
            raise SettingsError("the header and body timeouts must be > 0, and max connections >= 1")
        if self.delivery_timeout is not None and self.delivery_timeout <= 0:
            raise SettingsError(f"delivery timeout must be > 0, not {self.delivery_timeout}")
        if self.journal_size < 1 or self.delivery_log_size < 1:
            raise SettingsError("journal and delivery log sizes must be >= 1")
        if min(self.delivery_log_bytes, self.delivery_body_limit, self.delivery_attempts_kept,
               self.delivery_connections) < 1:
            raise SettingsError("the delivery log's bytes, body limit, attempts kept and the delivery connections "
                                "must be >= 1")
        self.log_level = str(self.log_level).lower()
        if self.log_level not in LOG_LEVELS:
            raise SettingsError(f"log level must be one of {', '.join(LOG_LEVELS)}, not {self.log_level!r}")
        if self.admin_token is not None and not self.admin_token.strip():
            raise SettingsError("the admin token must not be empty")
        if self.allow_targets is not None:
            try:
                TargetPolicy.parse(self.allow_targets)
            except ValueError as exc:
                raise SettingsError(f"allowed targets: {exc}") from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from EMULATOR_* variables, then `overrides` (flags) where not None."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(variable(f))
            if raw is None or raw == "":
                continue
            values[f.name] = _convert(f, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def strict_for(self, provider: str) -> bool:
        """Whether `provider` accepts only configured (or issued) credentials."""
        return self.strict or bool(self.credentials.get(provider))


# How one value of a field of each type is read from text (others say theirs in Option.parse).
PARSERS: dict[str, Callable[[str], Any]] = {"str": str, "int": int, "float": float, "Path": Path}
TRUE = {"1", "true", "yes", "on"}


def options() -> list[tuple[Field[Any], Option]]:
    """Every setting, in order, with its Option."""
    return [(f, f.metadata["option"]) for f in fields(Settings)]


def flag(f: Field[Any]) -> str:
    """A setting's command-line flag: `--time-scale` for time_scale."""
    return "--" + f.name.replace("_", "-")


def variable(f: Field[Any]) -> str:
    """A setting's environment variable: `EMULATOR_TIME_SCALE` for time_scale."""
    return f"EMULATOR_{f.name.upper()}"


def kind(f: Field[Any]) -> str:
    """A setting's type without its None: `float` for `float | None`."""
    return str(f.type).removesuffix(" | None")


def parser(f: Field[Any]) -> Callable[[str], Any]:
    """How one value of a setting is read from text (a flag's, or each of a repeatable one's)."""
    found = f.metadata["option"].parse or PARSERS.get(kind(f).removeprefix("list[").removesuffix("]"))
    if found is None:
        raise TypeError(f"setting {f.name} ({f.type}) needs an Option.parse")
    return found


def repeatable(f: Field[Any]) -> bool:
    """Whether a setting's flag may be given many times (its variable then separates them with ':')."""
    return kind(f).startswith("list[") and f.metadata["option"].parse is None


def default_text(f: Field[Any]) -> str:
    """A setting's default as the README and `--help` say it (Markdown)."""
    opt: Option = f.metadata["option"]
    if opt.default_words is not None:
        return opt.default_words
    value = f.default_factory() if f.default is MISSING and f.default_factory is not MISSING else f.default
    if value is None or value in ([], {}):
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"`{value:g}`" if isinstance(value, float) else f"`{value}`"


def markdown_table() -> str:
    """The README's Configuration table: every setting's flag, variable, default and meaning."""
    rows = ["| flag | variable | default | meaning |", "| --- | --- | --- | --- |"]
    for f, opt in options():
        shown = f"{flag(f)} {opt.metavar}" if opt.metavar else flag(f)
        rows.append(f"| `{shown}` | `{variable(f)}` | {default_text(f)} | {opt.help} |")
    return "\n".join(rows)


def _typed(f: Field[Any], value: Any) -> Any:
    """A setting's value given in Python, checked against the field's type (SettingsError naming
    it otherwise): an int where a float goes becomes one, text where a path goes a Path, and
    `credentials` may be the flag's text (`one=k1,k2;two=t1`) or name one key as a string."""
    wanted = kind(f)
    if value is None and str(f.type).endswith(" | None"):
        return None
    if f.name == "credentials":
        return _credentials(value)
    item = wanted.removeprefix("list[").removesuffix("]")
    if wanted.startswith("list["):
        if not isinstance(value, list | tuple):
            raise SettingsError(f"{f.name.replace('_', ' ')} must be a list of {item}, not {value!r}")
        return [_one(f, item, v) for v in value]
    return _one(f, wanted, value)


def _one(f: Field[Any], wanted: str, value: Any) -> Any:
    if wanted == "Path" and isinstance(value, str | os.PathLike):
        return Path(value)
    if wanted == "float" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    expected = {"bool": bool, "int": int, "str": str}.get(wanted)
    if expected is not None and isinstance(value, expected) and not (expected is int and isinstance(value, bool)):
        return value
    raise SettingsError(f"{f.name.replace('_', ' ')} must be {'a' if wanted != 'int' else 'an'} {wanted}, "
                        f"not {value!r}")


def _credentials(value: Any) -> dict[str, list[str]]:
    if isinstance(value, str):
        return parse_credentials(value)
    if not isinstance(value, dict):
        raise SettingsError(f"credentials must map providers to keys, not {value!r}")
    made: dict[str, list[str]] = {}
    for name, keys in value.items():
        keys = [keys] if isinstance(keys, str) else keys
        if not isinstance(name, str) or not isinstance(keys, list | tuple) or not all(isinstance(k, str) for k in keys):
            raise SettingsError(f"credentials must map each provider to a list of keys, not {name!r}: {value[name]!r}")
        made[name] = list(keys)
    return made


def _finite(**numbers: float | None) -> None:
    """SettingsError for a number setting that is NaN or infinite (flag, variable or argument)."""
    for name, value in numbers.items():
        if value is not None and not math.isfinite(value):
            raise SettingsError(f"{name.replace('_', ' ')} must be a finite number, not {value}")


def _convert(f: Field[Any], raw: str) -> Any:
    """An EMULATOR_* variable's value as the setting's type; SettingsError naming the variable."""
    if kind(f) == "bool":
        return raw.strip().lower() in TRUE
    if repeatable(f):
        return [from_text(f, p, variable(f)) for p in raw.split(os.pathsep) if p]
    return from_text(f, raw, variable(f))


def from_text(f: Field[Any], raw: str, name: str) -> Any:
    """One value of a setting read from text (a variable's or a flag's); SettingsError naming
    `name`, the variable or the flag, in the same words for both."""
    parse = parser(f)
    try:
        return parse(raw)
    except SettingsError as exc:
        raise SettingsError(f"{name}={raw!r}: {exc}") from None
    except ValueError:  # int() or float() refused it; say so in our words, not Python's
        number = "a number" if parse is float else "a whole number"
        raise SettingsError(f"{name} must be {number}, not {raw!r}") from None


if __name__ == "__main__":  # python -m emulator.settings --markdown: the README's Configuration table
    import sys

    if sys.argv[1:] != ["--markdown"]:
        sys.exit("usage: python -m emulator.settings --markdown")
    print(markdown_table())
