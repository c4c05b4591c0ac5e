"""One Settings object, filled from command-line flags and EMULATOR_* environment variables."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
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


@dataclass
class Settings:
    """Everything an emulator can be told. Each field has a flag and an EMULATOR_<NAME> variable."""

    host: str = "127.0.0.1"
    port: int = 8080
    seed: int | None = None
    time_scale: float = 1.0
    # Seconds a receiver has to answer one delivery attempt; None: each provider's own timeout.
    delivery_timeout: float | None = None
    # Seconds a client has to send a request's headers (and an idle keep-alive connection stays open),
    # and to send its body; connections open at once (one more is answered 503 and closed).
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 512
    # Connections the dispatcher opens at once (attempts beyond wait, untimed, for one to be free).
    delivery_connections: int = 100
    fixtures: list[Path] = field(default_factory=list)
    journal_size: int = 1000
    delivery_log_size: int = 1000
    delivery_log_bytes: int = DELIVERY_LOG_BYTES
    delivery_body_limit: int = DELIVERY_BODY_LIMIT
    delivery_attempts_kept: int = DELIVERY_ATTEMPTS_KEPT
    strict: bool = False
    credentials: dict[str, list[str]] = field(default_factory=dict)
    log_level: str = "info"
    # When set, every control endpoint but GET /_emulator/health needs `Authorization: Bearer <it>`.
    admin_token: str | None = None
    # Where notifications may go (hosts, host:port, CIDR ranges); None: anywhere.
    allow_targets: list[str] | None = None
    # A state document (YAML or JSON) loaded at start-up into an empty emulator.
    state: Path | None = None
    # Keep state and pending deliveries in SQLite in this folder (None: in memory only).
    data_dir: Path | None = None
    # Start with the rows of the data dir's file that cannot be read left out (each logged), not refuse to start.
    skip_corrupt_rows: bool = False
    # A YAML or JSON file of fault rules loaded at start-up (see emulator/control/faults.py).
    faults: Path | None = None
    # Host names served besides the loopback ones while listening on a loopback address (see control/guard.py).
    allowed_hosts: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
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
        self.fixtures = [Path(p) for p in self.fixtures]
        if self.admin_token is not None and not self.admin_token.strip():
            raise SettingsError("the admin token must not be empty")
        if self.allow_targets is not None:
            try:
                TargetPolicy.parse(self.allow_targets)
            except ValueError as exc:
                raise SettingsError(f"allowed targets: {exc}") from None
        if self.faults is not None:
            self.faults = Path(self.faults)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from EMULATOR_* variables, then `overrides` (flags) where not None."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"EMULATOR_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            values[f.name] = _convert(f.name, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def strict_for(self, provider: str) -> bool:
        """Whether `provider` accepts only configured (or issued) credentials."""
        return self.strict or bool(self.credentials.get(provider))


def _finite(**numbers: float | None) -> None:
    """SettingsError for a number setting that is NaN or infinite (flag, variable or argument)."""
    for name, value in numbers.items():
        if value is not None and not math.isfinite(value):
            raise SettingsError(f"{name.replace('_', ' ')} must be a finite number, not {value}")


def _convert(name: str, raw: str) -> Any:
    try:
        match name:
            case "port" | "journal_size" | "delivery_log_size" | "delivery_log_bytes" | "delivery_body_limit" \
                    | "delivery_attempts_kept" | "delivery_connections" | "max_connections":
                return int(raw)
            case "seed":
                return int(raw)
            case "time_scale" | "delivery_timeout" | "header_timeout" | "body_timeout":
                return float(raw)
            case "strict" | "skip_corrupt_rows":
                return raw.strip().lower() in {"1", "true", "yes", "on"}
            case "fixtures":
                return [Path(p) for p in raw.split(os.pathsep) if p]
            case "credentials":
                return parse_credentials(raw)
            case "allow_targets" | "allowed_hosts":
                return parse_list(raw)
            case "state" | "data_dir":
                return Path(raw)
            case _:
                return raw
    except SettingsError as exc:
        raise SettingsError(f"EMULATOR_{name.upper()}={raw!r}: {exc}") from None
    except ValueError:  # int() or float() refused it; say so in our words, not Python's
        kind = "a number" if name in ("time_scale", "delivery_timeout") else "a whole number"
        raise SettingsError(f"EMULATOR_{name.upper()} must be {kind}, not {raw!r}") from None
