"""A small blocking client for a running emulator's control API (`/_emulator/`), for tests and
scripts: fire events, read the delivery log and the request journal, reset, wait for deliveries.
It only speaks HTTP, so it works with an in-process emulator, a CLI one and a Docker container."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


class ControlError(RuntimeError):
    """The control API refused a request; `status` and `body` say why."""

    def __init__(self, status: int, body: Any) -> None:
        message = body.get("message", body) if isinstance(body, dict) else body
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.body = body


@dataclass
class Fault:
    """A fault rule added by `EmulatorClient.fault`: its `id`, and its `hits` (final once the block ends)."""

    id: str
    rule: dict[str, Any] = field(default_factory=dict)

    @property
    def hits(self) -> int:
        return int(self.rule.get("hits", 0))


class EmulatorClient:
    """The control API of the emulator at `url` (e.g. http://127.0.0.1:8080)."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._providers: list[dict[str, Any]] | None = None

    def request(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        """One control call; returns the parsed JSON, or raises ControlError on 4xx/5xx."""
        params = urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}{path}{'?' + params if params else ''}", data=data,
                                         method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            raise ControlError(exc.code, json.loads(raw) if raw else None) from None

    def url_for(self, provider: str) -> str:
        """The base URL to configure a provider's client with (its fixture's `base_path`)."""
        if self._providers is None:
            self._providers = self.request("GET", "/_emulator/providers")["providers"]
        for info in self._providers:
            if info["name"] == provider:
                return self.url + info["base_path"].rstrip("/")
        raise KeyError(f"no provider named {provider!r}")

    def health(self) -> dict[str, Any]:
        return self.request("GET", "/_emulator/health")

    def reset(self, provider: str | None = None) -> None:
        """Forget webhooks, issued tokens, requests and deliveries (of one provider)."""
        self.request("POST", "/_emulator/reset", {"provider": provider} if provider else {})

    def state(self, provider: str | None = None) -> dict[str, Any]:
        return self.request("GET", "/_emulator/state", provider=provider)

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """The request journal (filters: provider, tenant, method, status)."""
        return self.request("GET", "/_emulator/requests", **filters)["requests"]

    def fire(self, provider: str, event: str | list[str], data: dict[str, Any] | None = None, *,
             wait: bool = False, **options: Any) -> list[dict[str, Any]]:
        """Fire an event; `options` are the control API's (tenant, scope, url, secret, headers,
        signature, timeout). Returns the deliveries created (final ones with `wait=True`)."""
        body = {"provider": provider, "event": event, "wait": wait, **options}
        if data is not None:
            body["data"] = data
        return self.request("POST", "/_emulator/events", body)["deliveries"]

    def deliveries(self, **filters: Any) -> list[dict[str, Any]]:
        """The delivery log (filters: provider, event, status, url, tenant, webhook)."""
        return self.request("GET", "/_emulator/deliveries", **filters)["deliveries"]

    def delivery(self, delivery_id: str) -> dict[str, Any]:
        return self.request("GET", f"/_emulator/deliveries/{delivery_id}")

    def redeliver(self, delivery_id: str) -> dict[str, Any]:
        return self.request("POST", f"/_emulator/deliveries/{delivery_id}/redeliver")

    def jwk(self, provider: str) -> dict[str, str]:
        return self.request("GET", f"/_emulator/providers/{provider}/jwk")

    def wait_for_delivery(self, timeout: float = 5.0, status: str | None = "delivered",
                          **filters: Any) -> dict[str, Any]:
        """Block until a delivery matching `filters` (event, provider, url, ...) reaches `status`
        (None: any final outcome); TimeoutError if none does in time."""
        deadline = time.monotonic() + timeout
        while True:
            for found in self.deliveries(**filters):
                if found["status"] == status or (status is None and found["status"] != "pending"):
                    return found
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no delivery matching {filters} reached {status or 'a final outcome'} "
                                   f"within {timeout} s")
            time.sleep(0.01)

    async def wait_for_delivery_async(self, timeout: float = 5.0, status: str | None = "delivered",
                                      **filters: Any) -> dict[str, Any]:
        """`wait_for_delivery` for async tests: it never blocks the caller's event loop."""
        return await asyncio.to_thread(self.wait_for_delivery, timeout, status, **filters)

    def add_fault(self, provider: str | None = None, **rule: Any) -> dict[str, Any]:
        """Add a fault rule (provider, method, path, tenant; status, retry_after, latency, drop;
        times, probability); returns it with its id."""
        body = {"provider": provider, **rule} if provider else rule
        return self.request("POST", "/_emulator/faults", body)

    def faults(self) -> list[dict[str, Any]]:
        """The fault rules with their hit counts."""
        return self.request("GET", "/_emulator/faults")["faults"]

    def clear_faults(self, fault_id: str | None = None) -> None:
        """Remove one fault rule, or all of them."""
        self.request("DELETE", f"/_emulator/faults/{fault_id}" if fault_id else "/_emulator/faults")

    @contextlib.contextmanager
    def fault(self, provider: str | None = None, **rule: Any) -> Iterator[Fault]:
        """`with client.fault("gigapay", status=429, times=2) as f:` the rule holds inside the
        block and is removed after it; `f.hits` then says how many calls it hit."""
        added = Fault(self.add_fault(provider, **rule)["id"])
        try:
            yield added
        finally:
            with contextlib.suppress(ControlError):  # a reset inside the block already removed it
                added.rule = self.request("DELETE", f"/_emulator/faults/{added.id}")

    def audit(self, provider: str, url: str | None = None, **options: Any) -> dict[str, Any]:
        """Audit the webhook consumer at `url` (options: secret, headers), or without `url` every
        registered webhook of `provider` (option: tenant). Returns the report; `report["passed"]`
        is False when any check failed."""
        body = {"provider": provider, **({"url": url} if url else {}), **options}
        return self.request("POST", "/_emulator/audit", body)
