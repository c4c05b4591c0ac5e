"""Clients of a running emulator's control API (`/_emulator/`), for tests and scripts: fire
events, read the delivery log and the request journal, reset, wait for deliveries. They only speak
HTTP, so they work with an in-process emulator, a CLI one and a Docker container.

`EmulatorClient` blocks; `AsyncEmulatorClient` (also `client.aio`) has the same methods as
coroutines that run the call in a worker thread, so an async test's event loop keeps serving
whatever else lives on it (a receiver, or the emulator itself) while it waits."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The control client goes straight to the emulator, whatever HTTP_PROXY says: a proxy has no business
# between a test and its emulator (on the loopback, as a rule), and must never see the admin token.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ControlError(RuntimeError):
    """The control API refused a request; `status` and `body` say why."""

    def __init__(self, status: int, body: Any) -> None:
        self.message = str(body.get("message", body) if isinstance(body, dict) else body)
        super().__init__(f"HTTP {status}: {self.message}")
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
    """The control API of the emulator at `url` (e.g. http://127.0.0.1:8080); `token` is its admin
    token, if it was started with one."""

    def __init__(self, url: str, timeout: float = 30.0, *, token: str | None = None,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.token = token  # the emulator's admin token, when it has one
        # The loop the emulator serves on, when it shares the caller's: a blocking call from that
        # loop could never be answered, so it fails at once and says what to use instead.
        self._serving_loop = loop
        self._providers: list[dict[str, Any]] | None = None

    @property
    def aio(self) -> AsyncEmulatorClient:
        """The same client for async code: every method is a coroutine that never blocks the loop."""
        return AsyncEmulatorClient(self)

    def request(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        """One control call; returns the parsed JSON, or raises ControlError on 4xx/5xx."""
        if self._serving_loop is not None and _running_loop() is self._serving_loop:
            raise RuntimeError("this emulator serves on the event loop that is making this blocking call, which "
                               "would wait forever: use `await emulator.aclient.<method>(...)` (or `client.aio`)")
        params = urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(f"{self.url}{path}{'?' + params if params else ''}", data=data,
                                         method=method, headers=headers)
        try:
            with DIRECT.open(request, timeout=self.timeout) as response:
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
        names = ", ".join(info["name"] for info in self._providers)
        raise KeyError(f"no provider named {provider!r}; the providers are {names}")

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
        signature, timeout, objects, and the misbehaviours duplicate, delay, order). Returns the
        deliveries created (final ones with `wait=True`)."""
        body = {"provider": provider, "event": event, "wait": wait, **options}
        if data is not None:
            body["data"] = data
        return self.request("POST", "/_emulator/events", body)["deliveries"]

    def deliveries(self, **filters: Any) -> list[dict[str, Any]]:
        """The delivery log (filters: provider, event, status, url, tenant, webhook), every page of it."""
        found: list[dict[str, Any]] = []
        while True:
            page = self.request("GET", "/_emulator/deliveries", **filters, offset=len(found) or None)
            found += page["deliveries"]
            if not page["deliveries"] or len(found) >= page.get("total", 0):
                return found

    def delivery(self, delivery_id: str) -> dict[str, Any]:
        return self.request("GET", f"/_emulator/deliveries/{delivery_id}")

    def redeliver(self, delivery_id: str) -> dict[str, Any]:
        return self.request("POST", f"/_emulator/deliveries/{delivery_id}/redeliver")

    def jwk(self, provider: str) -> dict[str, str]:
        return self.request("GET", f"/_emulator/providers/{provider}/jwk")

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to reproduce the emulator's state, as a state document."""
        return self.request("GET", "/_emulator/state/snapshot")

    def load_state(self, state: dict[str, Any] | str | os.PathLike[str]) -> dict[str, Any]:
        """Replace the emulator's state with a state document, or a state file (YAML or JSON)."""
        if isinstance(state, dict):
            document = state
        else:
            from emulator.storage.statedoc import read_file  # the engine: only when a file is to be read

            document = read_file(Path(state))
        return self.request("PUT", "/_emulator/state", document)

    def put_object(self, provider: str, tenant: str, kind: str, obj: dict[str, Any],
                   scope: str | None = None) -> dict[str, Any]:
        """Store an object the provider's notifications may point to (a payout, a product) for
        `tenant`, before a firing; missing fields come from the documented sample. Returns it as stored."""
        body = {"tenant": tenant, "object": obj, **({"scope": scope} if scope is not None else {})}
        return self.request("PUT", f"/_emulator/providers/{provider}/objects/{kind}", body)["object"]

    def create_webhook(self, provider: str, tenant: str, webhook: dict[str, Any],
                       scope: str | None = None) -> dict[str, Any]:
        """Create one webhook for `tenant` without the provider's auth (as its dashboard would);
        `webhook` is in the provider's create shape and may fix its id and secret."""
        body: dict[str, Any] = {"tenant": tenant, "webhook": webhook}
        if scope is not None:
            body["scope"] = scope
        return self.request("POST", f"/_emulator/providers/{provider}/webhooks", body)["webhook"]

    def wait_for_delivery(self, timeout: float = 5.0, status: str | None = "delivered",
                          **filters: Any) -> dict[str, Any]:
        """Block until a delivery matching `filters` (event, provider, url, ...) reaches `status`
        (None: any final outcome). TimeoutError if none does in time, saying why: no delivery was
        created (and which webhooks exist), or how the matching ones failed or are still pending."""
        deadline = time.monotonic() + timeout
        while True:
            matching = self.deliveries(**filters)
            for found in matching:
                if found["status"] == status or (status is None and found["status"] != "pending"):
                    return found
            if time.monotonic() >= deadline:
                try:
                    why = _outcomes(matching) if matching else self._why_none(filters)
                except (ControlError, OSError) as exc:
                    why = f"none was ever created (and the webhooks could not be listed: {exc})"
                raise TimeoutError(f"no delivery matching {filters} reached {status or 'a final outcome'} "
                                   f"within {timeout} s: {why}")
            time.sleep(0.01)

    def _why_none(self, filters: dict[str, Any]) -> str:
        """Why no delivery matches `filters`: the webhooks of the providers (and tenant) concerned."""
        providers = [filters["provider"]] if "provider" in filters else [
            info["name"] for info in self.request("GET", "/_emulator/providers")["providers"]
            if "event" not in filters or filters["event"] in info["events"]]
        tenant = filters.get("tenant")
        lines = []
        for name in providers:
            tenants = self.state(name).get(name, {}).get("tenants", {})
            webhooks = [(owner, record) for owner, found in tenants.items() if tenant in (None, owner)
                        for record in found["records"]]
            owner_text = f" of tenant {tenant!r}" if tenant is not None else ""
            if not webhooks:
                lines.append(f"{name} has no webhooks{owner_text}")
                continue
            shown = "; ".join(f"tenant {owner!r}: {_compact(record)}" for owner, record in webhooks[:5])
            more = f" and {len(webhooks) - 5} more" if len(webhooks) > 5 else ""
            lines.append(f"{name} has {len(webhooks)} webhook(s){owner_text}: {shown}{more}")
        where = "; ".join(lines) or "no provider has that event"
        return (f"none was ever created: was the event fired, and does a webhook (enabled, of that tenant) "
                f"want it? {where}")

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
        """`with client.fault(PROVIDER, status=429, times=2) as f:` the rule holds inside the
        block and is removed after it; `f.hits` then says how many calls it hit."""
        added = Fault(self.add_fault(provider, **rule)["id"])
        try:
            yield added
        finally:
            self._remove_fault(added)

    def _remove_fault(self, added: Fault) -> None:
        with contextlib.suppress(ControlError):  # a reset inside the block already removed it
            added.rule = self.request("DELETE", f"/_emulator/faults/{added.id}")

    def audit(self, provider: str, url: str | None = None, **options: Any) -> dict[str, Any]:
        """Audit the webhook consumer at `url` (options: secret, headers), or without `url` every
        registered webhook of `provider` (option: tenant). Returns the report; `report["passed"]`
        is False when any check failed."""
        body = {"provider": provider, **({"url": url} if url else {}), **options}
        return self.request("POST", "/_emulator/audit", body)


def _outcomes(deliveries: list[dict[str, Any]]) -> str:
    """How the matching deliveries stand: each failed one's attempts and last answer, each pending
    one's next attempt (the five latest)."""
    said = []
    for delivery in deliveries[-5:]:
        attempts = delivery["attempts"]
        last = attempts[-1] if attempts else None
        answer = "" if last is None else (f", last HTTP {last['status']}" if last["status"] is not None
                                          else f", last {last['error']}")
        events = ",".join(delivery["events"])
        if delivery["status"] == "pending":
            next_at = f", next attempt at {delivery['next_attempt_at']}" if delivery["next_attempt_at"] else ""
            said.append(f"{events} to {delivery['url']} is still pending after {len(attempts)} attempt(s)"
                        f"{answer}{next_at}")
        elif delivery["status"] == "failed":
            error = delivery["error"] or ""
            error = f" ({error})" if error and not error.startswith("gave up") else ""
            said.append(f"{events} to {delivery['url']} failed after {len(attempts)} attempt(s){answer}{error}")
        else:
            said.append(f"{events} to {delivery['url']} was {delivery['status']}")
    return "; ".join(said)


def _compact(record: dict[str, Any], limit: int = 160) -> str:
    """A webhook as one short line of JSON."""
    text = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class AsyncEmulatorClient:
    """Every public method of EmulatorClient (`fire`, `deliveries`, `wait_for_delivery`, `reset`,
    `url_for`...), awaitable: `await emulator.aclient.fire(PROVIDER, EVENT)`. Each runs the
    blocking call in a worker thread."""

    def __init__(self, sync: EmulatorClient) -> None:
        self.sync = sync
        self.url = sync.url

    async def request(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        """One control call; returns the parsed JSON, or raises ControlError on 4xx/5xx."""
        return await asyncio.to_thread(self.sync.request, method, path, body, **query)

    async def url_for(self, provider: str) -> str:
        """The base URL to configure a provider's client with (its fixture's `base_path`)."""
        return await asyncio.to_thread(self.sync.url_for, provider)

    async def health(self) -> dict[str, Any]:
        return await asyncio.to_thread(self.sync.health)

    async def reset(self, provider: str | None = None) -> None:
        """Forget webhooks, issued tokens, requests and deliveries (of one provider)."""
        await asyncio.to_thread(self.sync.reset, provider)

    async def state(self, provider: str | None = None) -> dict[str, Any]:
        return await asyncio.to_thread(self.sync.state, provider)

    async def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """The request journal (filters: provider, tenant, method, status)."""
        return await asyncio.to_thread(self.sync.requests, **filters)

    async def fire(self, provider: str, event: str | list[str], data: dict[str, Any] | None = None, *,
                   wait: bool = False, **options: Any) -> list[dict[str, Any]]:
        """Fire an event (see EmulatorClient.fire); returns the deliveries created."""
        return await asyncio.to_thread(self.sync.fire, provider, event, data, wait=wait, **options)

    async def deliveries(self, **filters: Any) -> list[dict[str, Any]]:
        """The delivery log (filters: provider, event, status, url, tenant, webhook), every page of it."""
        return await asyncio.to_thread(self.sync.deliveries, **filters)

    async def delivery(self, delivery_id: str) -> dict[str, Any]:
        return await asyncio.to_thread(self.sync.delivery, delivery_id)

    async def redeliver(self, delivery_id: str) -> dict[str, Any]:
        return await asyncio.to_thread(self.sync.redeliver, delivery_id)

    async def jwk(self, provider: str) -> dict[str, str]:
        return await asyncio.to_thread(self.sync.jwk, provider)

    async def snapshot(self) -> dict[str, Any]:
        """Everything needed to reproduce the emulator's state, as a state document."""
        return await asyncio.to_thread(self.sync.snapshot)

    async def load_state(self, state: dict[str, Any] | str | os.PathLike[str]) -> dict[str, Any]:
        """Replace the emulator's state with a state document, or a state file (YAML or JSON)."""
        return await asyncio.to_thread(self.sync.load_state, state)

    async def put_object(self, provider: str, tenant: str, kind: str, obj: dict[str, Any],
                         scope: str | None = None) -> dict[str, Any]:
        """Store an object notifications may point to, before a firing (see EmulatorClient.put_object)."""
        return await asyncio.to_thread(self.sync.put_object, provider, tenant, kind, obj, scope)

    async def create_webhook(self, provider: str, tenant: str, webhook: dict[str, Any],
                             scope: str | None = None) -> dict[str, Any]:
        """Create one webhook for `tenant` without the provider's auth (see EmulatorClient.create_webhook)."""
        return await asyncio.to_thread(self.sync.create_webhook, provider, tenant, webhook, scope)

    async def wait_for_delivery(self, timeout: float = 5.0, status: str | None = "delivered",
                                **filters: Any) -> dict[str, Any]:
        """Wait until a delivery matching `filters` reaches `status` (see EmulatorClient.wait_for_delivery)."""
        return await asyncio.to_thread(self.sync.wait_for_delivery, timeout, status, **filters)

    async def add_fault(self, provider: str | None = None, **rule: Any) -> dict[str, Any]:
        """Add a fault rule; returns it with its id."""
        return await asyncio.to_thread(self.sync.add_fault, provider, **rule)

    async def faults(self) -> list[dict[str, Any]]:
        """The fault rules with their hit counts."""
        return await asyncio.to_thread(self.sync.faults)

    async def clear_faults(self, fault_id: str | None = None) -> None:
        """Remove one fault rule, or all of them."""
        await asyncio.to_thread(self.sync.clear_faults, fault_id)

    @contextlib.asynccontextmanager
    async def fault(self, provider: str | None = None, **rule: Any) -> AsyncIterator[Fault]:
        """`async with client.aio.fault(PROVIDER, status=429, times=2) as f:` as `fault` does."""
        added = Fault((await self.add_fault(provider, **rule))["id"])
        try:
            yield added
        finally:
            await asyncio.to_thread(self.sync._remove_fault, added)

    async def audit(self, provider: str, url: str | None = None, **options: Any) -> dict[str, Any]:
        """Audit a webhook consumer (see EmulatorClient.audit); returns the report."""
        return await asyncio.to_thread(self.sync.audit, provider, url, **options)
