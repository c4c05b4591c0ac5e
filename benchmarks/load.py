"""Load from a separate process: wrk when it is installed, else an aiohttp client. Both answer the
same JSON: {"tool", "requests", "seconds", "rps", "p50_ms", "p99_ms", "errors"}.

`python benchmarks/load.py URL --method POST --body '{...}' -H 'Name: value' -c 50 -d 2`, or from
code, `run_load(...)`. `count_load(...)` sends exactly N requests (to fill a store)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

WRK_SCRIPT = """
wrk.method = %(method)s
wrk.body = %(body)s
%(headers)s
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
                 + summary.errors.timeout + summary.errors.status
  io.write(string.format('{"requests": %%d, "micros": %%d, "p50": %%d, "p99": %%d, "errors": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), errors))
end
"""


def _lua(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lua string literal for what we send


def run_wrk(url: str, method: str, body: str, headers: dict[str, str], connections: int,
            seconds: float) -> dict[str, Any]:
    lines = "\n".join(f"wrk.headers[{_lua(k)}] = {_lua(v)}" for k, v in headers.items())
    script = WRK_SCRIPT % {"method": _lua(method), "body": _lua(body) if body else "nil", "headers": lines}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        done = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{max(seconds, 1):g}s", "--latency",
                               "-s", handle.name, url], capture_output=True, text=True, timeout=seconds + 60)
    finally:
        Path(handle.name).unlink()
    result = json.loads(done.stdout.strip().splitlines()[-1])
    secs = result["micros"] / 1e6
    return {"tool": "wrk", "requests": result["requests"], "seconds": secs, "rps": result["requests"] / secs,
            "p50_ms": result["p50"] / 1000, "p99_ms": result["p99"] / 1000, "errors": result["errors"]}


async def _client_load(url: str, method: str, body: str, headers: dict[str, str], connections: int,
                       seconds: float | None, total: int | None) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    sent = 0
    started = time.perf_counter()
    deadline = started + (seconds or 1e9)
    data = body.encode() if body else None
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as session:

        async def worker() -> None:
            nonlocal errors, sent
            while time.perf_counter() < deadline and (total is None or sent < total):
                sent += 1
                begin = time.perf_counter()
                async with session.request(method, url, data=data, headers=headers) as response:
                    await response.read()
                    if response.status >= 400:
                        errors += 1
                latencies.append(time.perf_counter() - begin)

        await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies) or [0.0]
    return {"tool": "aiohttp", "requests": len(latencies), "seconds": elapsed, "rps": len(latencies) / elapsed,
            "p50_ms": statistics.median(ordered) * 1000, "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000,
            "errors": errors}


def wrk_available() -> bool:
    """Whether load comes from wrk: installed, and not turned off with BENCH_LOAD=aiohttp."""
    return os.environ.get("BENCH_LOAD", "wrk") != "aiohttp" and shutil.which("wrk") is not None


def run_load(url: str, method: str = "GET", body: str = "", headers: dict[str, str] | None = None,
             connections: int = 10, seconds: float = 2.0, prefer_wrk: bool = True) -> dict[str, Any]:
    """Load `url` for `seconds` with `connections` open; wrk when there is one (and BENCH_LOAD is not
    `aiohttp`)."""
    if prefer_wrk and wrk_available():
        return run_wrk(url, method, body, headers or {}, connections, seconds)
    done = subprocess.run([*_self(), url, "--method", method, "--body", body, "-c", str(connections),
                           "-d", str(seconds), *[f"-H{k}: {v}" for k, v in (headers or {}).items()]],
                          capture_output=True, text=True, timeout=seconds + 60, check=True)
    return json.loads(done.stdout)


def count_load(url: str, method: str, body: str, headers: dict[str, str], total: int,
               connections: int = 50) -> dict[str, Any]:
    """Send exactly `total` requests (from another process), e.g. to fill a store."""
    done = subprocess.run([*_self(), url, "--method", method, "--body", body, "-c", str(connections),
                           "--total", str(total), *[f"-H{k}: {v}" for k, v in headers.items()]],
                          capture_output=True, text=True, timeout=total / 50 + 120, check=True)
    return json.loads(done.stdout)


def _self() -> list[str]:
    import sys

    return [sys.executable, str(Path(__file__).resolve())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body", default="")
    parser.add_argument("-H", dest="headers", action="append", default=[], help="'Name: value'")
    parser.add_argument("-c", dest="connections", type=int, default=10)
    parser.add_argument("-d", dest="seconds", type=float, default=None)
    parser.add_argument("--total", type=int, default=None, help="send exactly this many requests")
    args = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in args.headers)
    seconds = args.seconds if args.total is None else None
    result = asyncio.run(_client_load(args.url, args.method, args.body, headers, args.connections,
                                      seconds or (None if args.total else 2.0), args.total))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
