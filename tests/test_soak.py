"""The soak script's short form: a few seconds of API calls and deliveries on 127.0.0.1 with flat
memory and every log within its bound (the long form is `python scripts/soak.py --seconds 300`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # (a subprocess driving an emulator for seconds)
SOAK = Path(__file__).resolve().parent.parent / "scripts" / "soak.py"


def soak(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SOAK), *args], capture_output=True, text=True, timeout=90)


def test_a_short_soak_shows_flat_memory_and_bounded_logs() -> None:
    done = soak("--seconds", "5", "--journal-size", "300", "--delivery-log-size", "200", "--margin-mb", "40")
    assert done.returncode == 0, done.stdout + done.stderr
    table = done.stdout.splitlines()
    assert table[0].split()[:4] == ["seconds", "rss_mb", "requests", "journal"]
    last = dict(zip(table[0].split(), table[-4].split(), strict=True))
    assert float(last["requests"]) > 100
    assert float(last["journal"]) == 300 and float(last["deliveries"]) <= 200
    assert "OK: memory flat" in done.stdout


def test_the_soak_fails_when_memory_grows_past_the_margin() -> None:
    done = soak("--seconds", "1", "--margin-mb", "-1000")
    assert done.returncode == 1
    assert "FAIL: memory grew" in done.stdout
