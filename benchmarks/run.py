"""The benchmark suite: one command measures every figure and prints a table with the targets.

    python benchmarks/run.py            # the full run (several minutes), the figures in README.md
    python benchmarks/run.py --quick    # a smoke run (a second or two per figure), as CI runs it

Servers run as their own processes (pinned to one core when `taskset` exists), load comes from
another (wrk when installed, else an aiohttp client), on loopback only. Ratios compare the
emulator with a bare aiohttp app answering the same bytes, measured side by side: short runs
alternate between the two and the median of the pairs' ratios is reported. Targets are reported,
never asserted: a missed one is a row that says so.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import count_load, run_load, wrk_available  # a script beside this one

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Route:
    """One provider's list and create calls, as a client sends them."""

    provider: str
    headers: dict[str, str]
    collection: str
    create: dict[str, Any]


ROUTES = [
    Route("paybook", {"Authorization": "api_key api_key=BENCH"}, "/v1/webhooks",
          {"url": "http://127.0.0.1:9/pb", "events": ["refresh"]}),
    Route("syncfy", {"Authorization": "api_key api_key=BENCH"}, "/v1/webhooks/subscriptions",
          {"url": "http://127.0.0.1:9/sy", "events": ["credentials.created"]}),
    Route("shareactor", {"X-Share-Api-Key": "BENCH"}, "/webhooks",
          {"endpoint": "http://127.0.0.1:9/sa", "event_type": "order.created"}),
    Route("gigapay", {"Authorization": "Token BENCH", "Integration-ID": "bench"}, "/v2/webhooks/",
          {"url": "http://127.0.0.1:9/gp", "events": ["Payout.created"]}),
    Route("centry", {"Authorization": "Bearer BENCH"}, "/conexion/v1/webhooks.json",
          {"callback_url": "http://127.0.0.1:9/ct", "on_product_save": True}),
]
GIGAPAY = next(r for r in ROUTES if r.provider == "gigapay")


@dataclass
class Row:
    """One line of the results table."""

    figure: str
    measured: str
    target: str = ""
    met: bool | None = None


# -- processes ---------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(command: list[str], core: int = 0) -> list[str]:
    """`command` on one core, when the machine has several and taskset exists."""
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str(core), *command]
    return command


def wait_ready(url: str, timeout: float = 30.0) -> float:
    """Poll `url` until it answers 200; the seconds it took (a bare socket: no client to warm up)."""
    parts = urlsplit(url)
    request = f"GET {parts.path or '/'} HTTP/1.0\r\n\r\n".encode()
    started = time.perf_counter()
    while True:
        try:
            with socket.create_connection((parts.hostname, parts.port), timeout=1) as sock:
                sock.sendall(request)
                if sock.recv(12)[9:12] == b"200":  # "HTTP/1.x 200"
                    return time.perf_counter() - started
        except OSError:
            pass
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"{url} did not answer 200 within {timeout} s")
        time.sleep(0.002)


@contextmanager
def process(command: list[str], ready: str) -> Iterator[subprocess.Popen[bytes]]:
    """Run `command` until the block ends; ready once `ready` (a URL) answers 200."""
    child = subprocess.Popen(pinned(command), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(ready)
        yield child
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@contextmanager
def emulator(*flags: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`webhook-emulator serve` on a free port, quiet (a log line per call is not what we measure)."""
    port = free_port()
    command = [sys.executable, "-m", "emulator", "serve", "--port", str(port), "--seed", "1",
               "--log-level", "warning", *flags]
    with process(command, f"http://127.0.0.1:{port}/_emulator/health") as child:
        yield f"http://127.0.0.1:{port}", child


@contextmanager
def bare(get_body: bytes, post_body: bytes, post_status: int, store: bool = False) -> Iterator[str]:
    """The bare app, answering these bytes."""
    folder = Path(tempfile.mkdtemp())
    (folder / "get").write_bytes(get_body)
    (folder / "post").write_bytes(post_body)
    port = free_port()
    command = [sys.executable, str(HERE / "bare.py"), "--port", str(port), "--get", str(folder / "get"),
               "--post", str(folder / "post"), "--post-status", str(post_status), *(["--store"] if store else [])]
    try:
        with process(command, f"http://127.0.0.1:{port}/"):
            yield f"http://127.0.0.1:{port}"
    finally:
        shutil.rmtree(folder)


def rss_mb(child: subprocess.Popen[bytes]) -> float:
    """Resident memory of a process (the server, not taskset, which execs it)."""
    for line in Path(f"/proc/{child.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


# -- HTTP from this process --------------------------------------------------------------------------

def call(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    async def go() -> tuple[int, bytes]:
        async with aiohttp.ClientSession() as session, \
                session.request(method, url, json=body, headers=headers) as response:
            return response.status, await response.read()

    return asyncio.run(go())


def latency_ms(method: str, url: str, repeats: int, body: Any = None, headers: dict[str, str] | None = None,
               ) -> float:
    """Median milliseconds of `repeats` sequential calls on one kept-alive connection."""
    async def go() -> float:
        times = []
        async with aiohttp.ClientSession() as session:
            for _ in range(repeats):
                started = time.perf_counter()
                async with session.request(method, url, json=body, headers=headers) as response:
                    await response.read()
                    assert response.status < 400, (response.status, await response.text())
                times.append(time.perf_counter() - started)
        return statistics.median(times) * 1000

    return asyncio.run(go())


def changed_latency_ms(url: str, change_url: str, change: Any, headers: dict[str, str], repeats: int) -> float:
    """Median milliseconds of a GET of `url` made just after a POST of `change` to `change_url`
    (so that no kept answer can serve it), on one kept-alive connection."""
    async def go() -> float:
        times = []
        async with aiohttp.ClientSession() as session:
            for _ in range(repeats):
                async with session.post(change_url, json=change, headers=headers) as response:
                    await response.read()
                started = time.perf_counter()
                async with session.get(url, headers=headers) as response:
                    await response.read()
                    assert response.status < 400, (response.status, await response.text())
                times.append(time.perf_counter() - started)
        return statistics.median(times) * 1000

    return asyncio.run(go())


# -- figure 1: throughput and latency against the bare app ------------------------------------------

def side_by_side(ours: str, theirs: str, path: str, method: str, body: str, headers: dict[str, str],
                 connections: int, pairs: int, seconds: float) -> dict[str, float]:
    """Alternate short runs of the bare app and the emulator; medians over the pairs."""
    ratios, p99_ratios, rps, p50, p99 = [], [], [], [], []
    for _ in range(pairs):
        base = run_load(theirs + path, method, body, headers, connections, seconds)
        mine = run_load(ours + path, method, body, headers, connections, seconds)
        ratios.append(mine["rps"] / base["rps"])
        p99_ratios.append(mine["p99_ms"] / max(base["p99_ms"], 1e-3))
        rps.append(mine["rps"])
        p50.append(mine["p50_ms"])
        p99.append(mine["p99_ms"])
    return {"ratio": statistics.median(ratios), "p99_ratio": statistics.median(p99_ratios),
            "rps": statistics.median(rps), "p50": statistics.median(p50), "p99": statistics.median(p99)}


def throughput(quick: bool) -> list[Row]:
    routes = [GIGAPAY] if quick else ROUTES
    levels = [10] if quick else [1, 10, 50]
    pairs, seconds = (1, 1.0) if quick else (3, 2.0)
    rows = []
    for route in routes:
        with emulator() as (url, _):
            create_headers = {**route.headers, "Content-Type": "application/json"}
            for _ in range(5):
                call("POST", url + route.collection, route.create, route.headers)
            _, listed = call("GET", url + route.collection, headers=route.headers)
            status, created = call("POST", url + route.collection, route.create, route.headers)
            body = json.dumps(route.create)
            with bare(listed, created, status) as plain, bare(listed, created, status, store=True) as storing:
                for connections in levels:
                    got = side_by_side(url, plain, route.collection, "GET", "", route.headers, connections, pairs,
                                       seconds)
                    rows.append(_ratio_row(f"{route.provider} GET list, {connections} conn", got, 0.7,
                                           connections == 50))
                    # Creates go to another tenant, so the list above keeps its size.
                    writer = {**create_headers, **_other_tenant(route)}
                    got = side_by_side(url, plain, route.collection, "POST", body, writer, connections, pairs,
                                       seconds)
                    rows.append(_ratio_row(f"{route.provider} POST create, {connections} conn", got, 0.6,
                                           connections == 50))
                    stored = side_by_side(url, storing, route.collection, "POST", body, writer, connections, pairs,
                                          seconds)
                    rows.append(Row(f"{route.provider} POST create vs a bare app that stores, {connections} conn",
                                    f"{stored['ratio']:.2f} x", ">= 0.85 x", stored["ratio"] >= 0.85))
    return rows


def _other_tenant(route: Route) -> dict[str, str]:
    return {k: v.replace("BENCH", "WRITER") for k, v in route.headers.items()}


def _ratio_row(name: str, got: dict[str, float], target: float, check_p99: bool) -> Row:
    measured = f"{got['ratio']:.2f} x ({got['rps']:.0f}/s, p50 {got['p50']:.2f} ms, p99 {got['p99']:.2f} ms)"
    met = got["ratio"] >= target and (not check_p99 or got["p99_ratio"] <= 2)
    wanted = f">= {target} x" + (", p99 <= 2 x bare" if check_p99 else "")
    if check_p99:
        measured += f", p99 {got['p99_ratio']:.2f} x bare"
    return Row(name, measured, wanted, met)


# -- figure 2: start-up ------------------------------------------------------------------------------

IN_PROCESS = """
import json, time
started = time.perf_counter()
from emulator import Emulator
imported = time.perf_counter()
emulator = Emulator()
emulator.start()
running = time.perf_counter()
emulator.stop()
stopped = time.perf_counter()
print(json.dumps({"import": imported - started, "start": running - imported, "stop": stopped - running}))
"""


def startup(quick: bool) -> list[Row]:
    repeats = 3 if quick else 11
    # An installed package has its bytecode compiled (pip does it); a checkout under
    # PYTHONDONTWRITEBYTECODE would otherwise compile every module at each launch, and the figures
    # would measure the compiler.
    import emulator
    compileall.compile_dir(Path(emulator.__file__).parent, quiet=1)
    runs = [json.loads(subprocess.run([sys.executable, "-c", IN_PROCESS], capture_output=True, text=True,
                                      check=True, timeout=60).stdout) for _ in range(repeats)]
    start = statistics.median(r["start"] for r in runs) * 1000
    stop = statistics.median(r["stop"] for r in runs) * 1000
    imported = statistics.median(r["import"] for r in runs) * 1000
    rows = [Row("in-process Emulator: first start", f"{start:.0f} ms (after {imported:.0f} ms of imports)",
                "< 100 ms", start < 100),
            Row("in-process Emulator: stop", f"{stop:.0f} ms", "< 50 ms", stop < 50)]
    ours, theirs = [], []
    folder = Path(tempfile.mkdtemp())
    (folder / "body").write_bytes(b"{}")
    try:
        for _ in range(repeats):
            port = free_port()
            command = [sys.executable, "-m", "emulator", "serve", "--port", str(port), "--log-level", "warning"]
            ours.append(_ready_after(command, f"http://127.0.0.1:{port}/_emulator/health"))
            port = free_port()
            command = [sys.executable, str(HERE / "bare.py"), "--port", str(port), "--get", str(folder / "body"),
                       "--post", str(folder / "body")]
            theirs.append(_ready_after(command, f"http://127.0.0.1:{port}/"))
    finally:
        shutil.rmtree(folder)
    gap = (statistics.median(ours) - statistics.median(theirs)) * 1000
    rows.append(Row("serve: launch to first 200", f"{statistics.median(ours) * 1000:.0f} ms, {gap:+.0f} ms vs "
                    "the bare app", "<= bare + 150 ms", gap <= 150))
    helps = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "emulator", "--help"], capture_output=True, check=True, timeout=60)
        helps.append(time.perf_counter() - started)
    help_ms = statistics.median(helps) * 1000
    rows.append(Row("webhook-emulator --help", f"{help_ms:.0f} ms", "< 150 ms", help_ms < 150))
    return rows


def _ready_after(command: list[str], url: str) -> float:
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return wait_ready(url)
    finally:
        child.terminate()
        child.wait(10)


# -- figure 3: delivery ------------------------------------------------------------------------------

def delivery(quick: bool) -> list[Row]:
    count, fan_out, repeats = (100, 50, 5) if quick else (3000, 1000, 21)
    rows = []
    with bare(b"{}", b"{}", 200) as sink, \
            emulator("--time-scale", "0.001", "--delivery-log-size", str(count + fan_out + repeats + 10)) as (url, _):
        firing = json.dumps({"provider": "gigapay", "event": "Payout.created", "url": sink + "/sink", "secret": "s"})
        started = time.perf_counter()
        count_load(url + "/_emulator/events", "POST", firing, {"Content-Type": "application/json"}, count, 10)
        _wait_delivered(url, count)
        rate = count / (time.perf_counter() - started)
        rows.append(Row(f"signed deliveries per second ({count}, to a local sink)", f"{rate:.0f}/s",
                        ">= 1000/s", rate >= 1000))
        call("POST", url + "/_emulator/reset")
        webhook = {"url": sink + "/fan", "events": ["Payout.created"]}
        count_load(url + GIGAPAY.collection, "POST", json.dumps(webhook),
                   {**GIGAPAY.headers, "Content-Type": "application/json"}, fan_out, 10)
        started = time.perf_counter()
        _, answer = call("POST", url + "/_emulator/events",
                              {"provider": "gigapay", "event": "Payout.created", "wait": True, "timeout": 120})
        elapsed = time.perf_counter() - started
        delivered = sum(d["status"] == "delivered" for d in json.loads(answer)["deliveries"])
        rows.append(Row(f"fan-out of one event to {fan_out} subscriptions", f"{elapsed:.2f} s ({delivered} delivered)",
                        "< 2 s", elapsed < 2 and delivered == fan_out))
        single = {"provider": "gigapay", "event": "Payout.created", "url": sink + "/one", "secret": "s", "wait": True}
        fired = latency_ms("POST", url + "/_emulator/events", repeats, single)
        rows.append(Row("fire to receipt (a fire call that waits for the answer)", f"{fired:.2f} ms median"))
    return rows


def _wait_delivered(url: str, count: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, body = call("GET", url + "/_emulator/deliveries?status=pending")
        if not json.loads(body)["deliveries"]:
            _, body = call("GET", url + "/_emulator/deliveries?status=delivered")
            delivered = len(json.loads(body)["deliveries"])
            if delivered < count:
                raise RuntimeError(f"only {delivered} of {count} deliveries succeeded")
            return
        time.sleep(0.05)
    raise TimeoutError("deliveries still pending")


# -- figure 4: scale ---------------------------------------------------------------------------------

def scale(quick: bool) -> list[Row]:
    sizes = [100, 1000] if quick else [100, 10_000, 100_000]
    repeats = 5 if quick else 51
    rows, first_pages = [], {}
    for size in sizes:
        with emulator() as (url, child):
            count_load(url + GIGAPAY.collection, "POST", json.dumps(GIGAPAY.create),
                       {**GIGAPAY.headers, "Content-Type": "application/json"}, size, 20)
            collection = url + GIGAPAY.collection
            first = latency_ms("GET", collection, repeats, headers=GIGAPAY.headers)
            last_page = f"{collection}?page={math.ceil(size / 25)}"
            last = latency_ms("GET", last_page, repeats, headers=GIGAPAY.headers)
            memory = rss_mb(child)
            # The same pages just after a create, when no kept page can answer them.
            first_changed = changed_latency_ms(collection, collection, GIGAPAY.create, GIGAPAY.headers, repeats)
            last_changed = changed_latency_ms(last_page, collection, GIGAPAY.create, GIGAPAY.headers, repeats)
            create = latency_ms("POST", collection, repeats, GIGAPAY.create, GIGAPAY.headers)
        first_pages[size] = first_changed
        rows.append(Row(f"{size:,} stored: first page, last page, each as kept / just after a create; create",
                        f"{first:.2f} / {first_changed:.2f}, {last:.2f} / {last_changed:.2f}; {create:.2f} ms; "
                        f"RSS {memory:.0f} MB",
                        "RSS < 200 MB" if size >= 100_000 else "", memory < 200 if size >= 100_000 else None))
    smallest, largest = sizes[0], sizes[-1]
    growth = max(first_pages[largest], 1e-6) / max(first_pages[smallest], 1e-6)
    rows.append(Row(f"first list page just after a create, at {largest:,} vs at {smallest:,}", f"{growth:.2f} x",
                    "<= 2 x", growth <= 2))
    return rows


# -- the table ---------------------------------------------------------------------------------------

FIGURES: dict[str, Callable[[bool], list[Row]]] = {"throughput": throughput, "startup": startup,
                                                    "delivery": delivery, "scale": scale}


def table(rows: list[Row]) -> str:
    lines = ["| figure | measured | target | met |", "| --- | --- | --- | --- |"]
    for row in rows:
        met = "" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(f"| {row.figure} | {row.measured} | {row.target} | {met} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run: one provider, short runs, small sizes")
    parser.add_argument("--only", action="append", choices=list(FIGURES), help="run only this figure (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    tool = "wrk" if wrk_available() else "an aiohttp client (install wrk for the real figures)"
    print(f"load from {tool}; {os.cpu_count()} cores; {'quick' if args.quick else 'full'} run", flush=True)
    rows: list[Row] = []
    for name in args.only or list(FIGURES):
        started = time.perf_counter()
        got = FIGURES[name](args.quick)
        rows += got
        print(f"{name}: {len(got)} rows in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps([vars(r) for r in rows], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
