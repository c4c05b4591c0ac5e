"""Event delivery: the dispatcher, which builds the notification each subscriber gets, signs it,
POSTs it, retries on the provider's schedule and records every attempt (which webhooks want an
event: subscribers.py; the records and the log: records.py; reading the fixture: specs.py).

Everything provider-specific comes from the fixture's `delivery` section: `subscribers` (which
field says what a webhook wants: `contains`, `equals` or `flag`, and `skip_when`), the `url_field`,
`headers_field`, `delay_field` and `group_field`, the `body` and `entry` templates, `signature`,
`success` statuses, `timeout`, `retry` and the `failure_counter` side effect.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

import aiohttp
from multidict import CIMultiDict

from emulator import __version__
from emulator.delivery.records import DROPPED, Attempt, Delivery, DeliveryLog, Target
from emulator.delivery.resolver import PolicyResolver
from emulator.delivery.signing import PORTABLE_K_LENGTH, Signed, portable_jwk, sign
from emulator.delivery.specs import delivery_spec, signature_spec
from emulator.delivery.subscribers import is_disabled, payload_matched, subscriber_index, wanted_events
from emulator.delivery.targets import TargetPolicy
from emulator.engine.clock import Clock
from emulator.engine.events import Event, EventError, canonical, catalogue, firing, webhook_values
from emulator.engine.ids import IdSource
from emulator.engine.journal import recorded
from emulator.engine.model import DEFAULT_SECRET, DeliverySpec
from emulator.engine.objects import Place, on_firing
from emulator.engine.provider import Provider
from emulator.engine.render import dump_json, fill
from emulator.engine.store import Collection, Record, Store
from emulator.settings import Settings

log = logging.getLogger("emulator.delivery")
USER_AGENT = f"webhook-emulator/{__version__}"


def wire(spec: DeliverySpec, delivery: Delivery, timestamp: int) -> Signed:
    """What one attempt of `delivery` puts on the wire, signed at `timestamp` (epoch seconds) in
    the delivery's signing mode: the body bytes and every header (the provider's, the webhook's
    custom ones, the signature)."""
    signed = sign(spec.signature, delivery.body, delivery.target.secret, timestamp, delivery.id,
                  delivery.signature)
    # Each name once, whatever its case, the later sources winning: what is recorded is what is sent.
    headers = CIMultiDict({"Content-Type": "application/json", "User-Agent": USER_AGENT})
    for extra in (spec.headers, delivery.target.headers, signed.headers):
        headers.update(extra)
    return Signed(signed.body, dict(headers))


async def _read_at_most(content: aiohttp.StreamReader, limit: int) -> bytes:
    """The first `limit` bytes of a response body (all of it, when shorter)."""
    chunks, size = [], 0
    while size < limit and (chunk := await content.read(limit - size)):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class Dispatcher:
    """Sends one emulator's notifications: one task per delivery, one shared ClientSession."""

    def __init__(self, settings: Settings, providers: dict[str, Provider], store: Store, clock: Clock,
                 ids: IdSource) -> None:
        self.settings, self.providers, self.store, self.clock, self.ids = settings, providers, store, clock, ids
        self.log = DeliveryLog(settings.delivery_log_size, settings.delivery_log_bytes)
        self.body_limit = settings.delivery_body_limit
        self.attempts_kept = settings.delivery_attempts_kept
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._in_flight: set[str] = set()
        self._session: aiohttp.ClientSession | None = None
        # At most this many attempts in flight at once, each timed from when it has its connection:
        # a delivery timeout covers the attempt, not its wait for a free connection.
        self._slots = asyncio.Semaphore(settings.delivery_connections)
        self._closing = False
        targets = settings.allow_targets
        self.policy = TargetPolicy.parse(targets) if targets is not None else None

    async def start(self) -> None:
        """Open the shared HTTP client session (on the app's loop)."""
        resolver = PolicyResolver(self.policy) if self.policy else None
        connector = aiohttp.TCPConnector(limit=self.settings.delivery_connections, resolver=resolver)
        self._session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    async def close(self, grace: float) -> None:
        """Stop: cancel deliveries waiting for a retry, give in-flight attempts up to `grace`
        seconds to finish, then cancel what is left and close the session."""
        self._closing = True
        waiting = [t for i, t in self._tasks.items() if i not in self._in_flight]
        for task in waiting:
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()), timeout=grace)
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    @property
    def pending(self) -> int:
        """How many deliveries have an attempt still to come."""
        return len(self._tasks)

    def jwk(self, provider: str) -> dict[str, str]:
        """The JWK that signs a provider's `jwt`-scheme notifications (made on first use; the
        store keeps it, with the state it signs for)."""
        keys = self.store.jwks
        if provider not in keys:
            ids = self.ids.derived(f"jwk:{provider}")
            keys[provider] = portable_jwk(ids.token(PORTABLE_K_LENGTH, "alnum"), ids.uuid4())
        return keys[provider]

    def _abandon(self, delivery: Delivery) -> None:
        """A delivery dropped from the log stops, so that pending deliveries stay bounded: one
        waiting for a retry at once; one not yet attempted only when more than twice the log's
        size are pending (the emulator is asked to send faster than it can); one with an attempt
        in flight finishes that attempt and is not retried."""
        task = self._tasks.get(delivery.id)
        if task is None or delivery.id in self._in_flight:
            return
        if not delivery.attempts and len(self._tasks) <= 2 * self.log.size:
            return
        delivery.status, delivery.error = "failed", DROPPED
        self._cancel(delivery)

    def _cancel(self, delivery: Delivery) -> None:
        """Stop a delivery's task, even one that never started (its own clean-up would not run)."""
        task = self._tasks.pop(delivery.id, None)
        if task is not None:
            task.cancel()
        delivery.done.set()

    def forget(self, provider: str | None = None) -> None:
        """Cancel and forget deliveries (of one provider), as a reset does."""
        for delivery in self.log.remove(provider):
            self._cancel(delivery)

    # -- choosing targets -------------------------------------------------------------------

    def target_for(self, provider: Provider, tenant: str, record: Record) -> Target:
        """The target a stored webhook describes."""
        spec = delivery_spec(provider)
        data = record.data
        headers = data.get(spec.headers_field) if spec.headers_field else None
        return Target(
            url=str(data.get(spec.url_field, "")),
            secret=self._webhook_secret(provider, data),
            headers={str(k): str(v) for k, v in (headers or {}).items()},
            tenant=tenant,
            webhook_id=record.id,
            webhook=webhook_values(provider, record, self.store.collection(provider.name, tenant).ref),
            delay=float(data.get(spec.delay_field) or 0) if spec.delay_field else 0.0,
            grouped=bool(data.get(spec.group_field)) if spec.group_field else False,
        )

    def explicit_target(self, provider: Provider, url: str, secret: Any = None,
                        headers: dict[str, str] | None = None, tenant: str | None = None) -> Target:
        """A target outside the store: one URL, with a given secret or a fresh one; its webhook
        values show `tenant`'s ref when one is given (as the objects stored for it do)."""
        defaults = {f.name: f.default for f in provider.fields.values() if f.source is None}
        if secret is None:
            secret = self._webhook_secret(provider, {})
        now = self.clock.wall()
        unstored = Record(self.ids.generate(provider.resource.id), defaults, now, now)
        ref = self.store.collection(provider.name, tenant).ref if tenant is not None else self.ids.objectid()
        return Target(url=url, secret=secret, headers=dict(headers or {}),
                      webhook=webhook_values(provider, unstored, ref))

    def _webhook_secret(self, provider: Provider, data: dict[str, Any]) -> Any:
        signature = signature_spec(provider)
        if signature.scheme == "jwt":
            return self.jwk(provider.name)
        name = signature.secret_field
        if not name:
            return None
        if name in data:
            return data[name]
        generate = provider.fields[name].generate if name in provider.fields else None
        return self.ids.generate(generate or DEFAULT_SECRET)

    def subscribers(self, provider: Provider, names: list[str], tenant: str | None = None,
                    scope: str | None = None) -> list[tuple[Target, list[str]]]:
        """Every stored webhook that wants any of `names`, with the names it wants, in creation
        order; limited to one tenant and to what a caller with `scope` sees, when given."""
        found = []
        for owner, collection in self.store.provider_collections(provider.name):
            if tenant is not None and owner != tenant:
                continue
            index = subscriber_index(provider, collection)
            # Each webhook that wants any of the names, once, in creation order.
            wanting = {position: record for name in names for position, record in index.get(name, ())}
            for position in sorted(wanting):
                record = wanting[position]
                if scope is not None and not record.seen_from(scope):
                    continue
                wanted = set(wanted_events(provider, record))
                found.append((self.target_for(provider, owner, record), [n for n in names if n in wanted]))
        return found

    def simulate(self, provider: Provider, tenant: str, record: Record) -> list[Delivery]:
        """Fire a sample of each known event a stored webhook subscribes to at it alone (a
        provider's "send a test event" route); one that wants no known event gets nothing."""
        names = [n for n in wanted_events(provider, record) if n in catalogue(provider)]
        return self.fire(provider, names, target=self.target_for(provider, tenant, record)) if names else []

    # -- firing -------------------------------------------------------------------------------

    def fire(self, provider: Provider, names: list[str], overrides: dict[str, Any] | None = None, *,
             tenant: str | None = None, scope: str | None = None, target: Target | None = None,
             mode: str = "valid", duplicate: int = 0, delay: float = 0.0, order: str | None = None,
             objects: dict[str, Any] | None = None) -> list[Delivery]:
        """Build each event once and start a delivery per subscriber (or to `target` alone);
        a subscriber with grouping on gets the events of this firing in one notification.
        Misbehaving on purpose: each notification is sent `duplicate` more times once delivered,
        held back `delay` more seconds, and with an `order` ("fired" or "reversed") a subscriber's
        notifications go one after the other in that order. `objects`: fields by object kind,
        laid over the objects the events are about (see prepare)."""
        deliveries = self.prepare(provider, names, overrides, tenant=tenant, scope=scope, target=target, mode=mode,
                                  order=order, objects=objects)
        spec = delivery_spec(provider)
        previous: dict[str, Delivery] = {}
        for delivery in deliveries:
            delivery.duplicates = duplicate
            if delay:
                delivery.target = replace(delivery.target, delay=delivery.target.delay + delay)
            if order is not None:
                delivery.after = previous.get(delivery.target.url)
                previous[delivery.target.url] = delivery
            self._saved(delivery, due=time.time(), commit=False)
        self._commit_firing(deliveries)
        for delivery in deliveries:
            self._tasks[delivery.id] = asyncio.create_task(self._run(provider, spec, delivery))
        for delivery in deliveries:  # a firing larger than the log pushed some of its own out
            if self.log.get(delivery.id) is not delivery:
                self._abandon(delivery)
        return deliveries

    def prepare(self, provider: Provider, names: list[str], overrides: dict[str, Any] | None = None, *,
                tenant: str | None = None, scope: str | None = None, target: Target | None = None,
                mode: str = "valid", order: str | None = None, logged: bool = True,
                objects: dict[str, Any] | None = None) -> list[Delivery]:
        """The deliveries a firing makes, not started (`fire` starts them; `redeliver` sends one
        once), in the delivery log unless `logged` is False (the audit's, which its report shows).
        First the objects the events are about are stored in each tenant the firing reaches (and in
        `tenant`, when given), `objects` laid over them, so a consumer can fetch what it is told of."""
        if self._closing:
            raise EventError("the emulator is stopping; it sends nothing more")
        spec = delivery_spec(provider)
        names = list(dict.fromkeys(canonical(provider, n) for n in names))
        if order == "reversed":
            names.reverse()
        built = firing(provider, names, overrides, self.ids, self.clock)
        targets = [(target, names)] if target is not None else self.subscribers(provider, names, tenant, scope)
        rule = spec.subscribers.payload_match
        given = rule is not None and isinstance(overrides, dict) and rule.payload in overrides
        if provider.objects is not None:  # (EventError, nothing stored or logged, if an object does not fit)
            on_firing(self, provider, built.values(), self._places(provider, targets, tenant, scope), objects)
        deliveries = []
        for each, wanted in targets:
            events = [built[n] for n in wanted]
            if rule is not None:  # (an explicit target gets every event it is sent)
                events = [m for e in events if (m := payload_matched(rule, e, each, given, target is None)) is not None]
            groups = [events] if each.grouped else [[e] for e in events]
            for group in groups:
                delivery = self._new_delivery(provider, spec, group, each, mode)
                if logged:
                    self._log(delivery)
                deliveries.append(delivery)
        return deliveries

    def _places(self, provider: Provider, targets: list[tuple[Target, list[str]]], tenant: str | None,
                scope: str | None) -> list[Place]:
        """Each tenant (and sub-scope) a firing reaches, once: its subscribers', and `tenant`."""
        places: dict[tuple[str, str | None], Place] = {}
        for target, _ in targets:
            if target.tenant is None:
                continue
            collection = self.store.existing(provider.name, target.tenant)
            record = collection.get(target.webhook_id) if collection and target.webhook_id else None
            where = scope or (record.scope if record else None)
            places.setdefault((target.tenant, where), Place(target.tenant, where, target.webhook))
        if tenant is not None and not any(t == tenant for t, _ in places):
            now = self.clock.wall()
            defaults = {f.name: f.default for f in provider.fields.values() if f.source is None}
            ref = self.store.collection(provider.name, tenant).ref
            unstored = Record("", defaults, now, now)
            places[(tenant, scope)] = Place(tenant, scope, webhook_values(provider, unstored, ref))
        return list(places.values())

    def _log(self, delivery: Delivery) -> None:
        """Put a delivery in the log; those it pushes out stop (see _abandon) and a durable store
        forgets them, so a restart does not send them again."""
        for gone in self.log.add(delivery):
            self._abandon(gone)
            self.store.delivery_forgotten(gone.id)

    def resume(self, delivery: Delivery, due: float) -> None:
        """Carry on a delivery restored from a durable store: its next attempt at `due` (epoch
        seconds; at once if that has passed), then the rest of its schedule."""
        provider = self.providers[delivery.provider]
        delivery.error = None
        delivery.body_limit = self.body_limit
        self._tasks[delivery.id] = asyncio.create_task(self._run(provider, delivery_spec(provider), delivery, due))
        self._log(delivery)

    def _commit_firing(self, deliveries: list[Delivery]) -> None:
        """Make a firing's deliveries durable before any is sent: when the store cannot write them,
        they leave the delivery log unsent and the error is raised (the firing has failed)."""
        try:
            self.store.commit()
        except Exception:
            for delivery in deliveries:  # (the store has forgotten them)
                self.log.discard(delivery.id)
                delivery.status, delivery.error = "failed", "not sent: the firing could not be saved"
                delivery.done.set()
            raise

    def _saved(self, delivery: Delivery, due: float | None = None, commit: bool = True) -> None:
        """Tell the store a delivery changed (a durable one writes it; `commit` at once, outside a
        request); one forgotten by a reset is not written again. A commit that fails changes
        nothing of the delivery: its attempts and outcome are what the receiver made them."""
        if self.log.get(delivery.id) is delivery:
            self.store.delivery_changed(delivery, due)
            if commit:
                try:
                    self.store.commit()
                except Exception as exc:  # (what else changed was rolled back; the store logs progress kept)
                    log.error("delivery %s: cannot save what changed with it (%s: %s)", delivery.id,
                              type(exc).__name__, exc)

    def _new_delivery(self, provider: Provider, spec: DeliverySpec, events: list[Event], target: Target,
                      mode: str) -> Delivery:
        delivery_id = self.ids.uuid4()

        def values(event: Event) -> Any:
            # The payload may name the webhook it goes to (`{webhook.company}`): filled here, per target.
            base = event.values.extend({"rid": delivery_id, "webhook": target.webhook})
            return base.extend({"payload": fill(event.payload, base)})

        extra: dict[str, Any] = {}
        if spec.entry is not None:
            extra["entries"] = [fill(spec.entry, values(e)) for e in events]
        body = fill(spec.body, values(events[0]).extend(extra))
        return Delivery(
            id=delivery_id,
            provider=provider.name,
            events=[e.name for e in events],
            event_ids=[e.id for e in events],
            target=target,
            body=dump_json(body),
            signature=mode,
            created=self._now(),
            body_limit=self.body_limit,
        )

    async def wait(self, deliveries: list[Delivery], timeout: float) -> bool:
        """Wait until each delivery has a final outcome; False if `timeout` passed first."""
        waits = [d.done.wait() for d in deliveries]
        try:
            await asyncio.wait_for(asyncio.gather(*waits), timeout)
        except TimeoutError:
            return False
        return True

    async def redeliver(self, delivery: Delivery) -> Delivery:
        """One more attempt of the same notification (same event ids and body), now."""
        provider = self.providers[delivery.provider]
        spec = delivery_spec(provider)
        outcome = await self._attempt(provider, spec, delivery)
        if delivery.id not in self._tasks:  # no schedule running: this attempt decides
            delivery.status = "delivered" if outcome == "delivered" else "failed"
            delivery.error = None if outcome == "delivered" else delivery.attempts[-1].error
            self._saved(delivery)
        return delivery

    # -- the schedule -------------------------------------------------------------------------

    def _now(self) -> str:
        return self.clock.wall().isoformat(timespec="milliseconds")

    async def _sleep(self, delivery: Delivery, seconds: float) -> None:
        scaled = seconds * self.settings.time_scale
        moment = self.clock.wall() + timedelta(seconds=scaled)
        delivery.next_attempt_at = moment.isoformat(timespec="milliseconds")
        self._saved(delivery, due=time.time() + scaled)
        try:
            await asyncio.sleep(scaled)
        finally:
            delivery.next_attempt_at = None

    async def _run(self, provider: Provider, spec: DeliverySpec, delivery: Delivery,
                   resume_at: float | None = None) -> None:
        """The schedule: from the first attempt, or (`resume_at`, epoch seconds) from the attempt
        after those already made."""
        try:
            if resume_at is not None:
                await self._sleep(delivery, max(0.0, resume_at - time.time()) / self.settings.time_scale)
            else:
                if delivery.after is not None:
                    await delivery.after.done.wait()
                    delivery.after = None  # it is done: no chain of earlier deliveries stays alive
                if delivery.target.delay:
                    await self._sleep(delivery, delivery.target.delay)
            delays = spec.retry.delays()
            for number in range(delivery.scheduled, len(delays) + 1):
                stopped = self._stopped_reason(provider, delivery)
                if stopped:
                    delivery.status, delivery.error = "failed", stopped
                    return
                self._in_flight.add(delivery.id)
                delivery.scheduled += 1
                try:
                    outcome = await self._attempt(provider, spec, delivery, of=len(delays) + 1)
                finally:
                    self._in_flight.discard(delivery.id)
                if outcome == "delivered":
                    delivery.status, delivery.error = "delivered", None
                    for _ in range(delivery.duplicates):
                        await self._attempt(provider, spec, delivery)
                    return
                if outcome == "refused":  # not allowed to go there: retrying cannot help
                    delivery.status, delivery.error = "failed", delivery.attempts[-1].error
                    return
                if number < len(delays):
                    if self._closing:
                        delivery.error = "the emulator stopped before the next attempt"
                        return
                    if self.log.get(delivery.id) is not delivery:
                        delivery.status, delivery.error = "failed", DROPPED
                        return
                    await self._sleep(delivery, delays[number])
            delivery.status = "failed"
            delivery.error = f"gave up after {delivery.attempt_count} attempts"
        except asyncio.CancelledError:
            delivery.error = delivery.error or "the emulator stopped before the next attempt"
            raise
        except Exception as exc:  # a bug must not leave a delivery pending for ever
            log.exception("delivery %s failed unexpectedly", delivery.id)
            delivery.status, delivery.error = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            self._tasks.pop(delivery.id, None)
            self._saved(delivery)
            delivery.done.set()

    def _collection(self, delivery: Delivery) -> Collection | None:
        tenant = delivery.target.tenant
        return None if tenant is None else self.store.collections.get((delivery.provider, tenant))

    def _record(self, delivery: Delivery) -> Record | None:
        collection = self._collection(delivery)
        webhook_id = delivery.target.webhook_id
        return collection.get(webhook_id) if collection and webhook_id is not None else None

    def _stopped_reason(self, provider: Provider, delivery: Delivery) -> str | None:
        """Why a stored webhook should get no more attempts (deleted or disabled), if it should not."""
        if delivery.target.webhook_id is None:
            return None
        record = self._record(delivery)
        if record is None:
            return "the webhook no longer exists"
        if is_disabled(provider, record):
            return "the webhook is disabled"
        return None

    def _count_failure(self, spec: DeliverySpec, delivery: Delivery) -> None:
        """The provider's side effect of a failed attempt: a counter, and disabling past a limit."""
        rule = spec.failure_counter
        record = self._record(delivery) if rule else None
        if rule is None or record is None:
            return
        count = int(record.data.get(rule.field) or 0) + 1
        record.data[rule.field] = count
        if rule.limit is not None and count > rule.limit:
            record.data.update(rule.then)
            if rule.touch:
                record.updated = record.modified = self.clock.wall()
        collection = self._collection(delivery)
        if collection is not None:
            collection.changed(record)

    def attempt_timeout(self, spec: DeliverySpec) -> float:
        """Seconds a receiver has to answer one attempt: --delivery-timeout, else the provider's own."""
        return self.settings.delivery_timeout or float(spec.timeout)

    async def _attempt(self, provider: Provider, spec: DeliverySpec, delivery: Delivery,
                       of: int | None = None) -> str:
        """POST the notification once, signed now; record the attempt; return its outcome. `of` is
        the schedule's number of attempts (None for a redelivery or a duplicate), for the log line."""
        assert self._session is not None, "the dispatcher is not started"
        now = self.clock.wall()
        signed = wire(spec, delivery, self.clock.signing_time())
        headers = signed.headers
        delivery.attempt_count += 1
        attempt = Attempt(delivery.attempt_count, now.isoformat(timespec="milliseconds"), headers,
                          recorded(signed.body, self.body_limit))
        delivery.attempts.append(attempt)
        if len(delivery.attempts) > self.attempts_kept:
            del delivery.attempts[:-self.attempts_kept]
        refusal = await self.policy.refusal(delivery.target.url) if self.policy else None
        if refusal is not None:
            attempt.error, attempt.outcome = refusal, "refused"
            log.warning("%s %s -> %s: refused: %s", provider.name, ",".join(delivery.events), delivery.target.url,
                        refusal)
            return attempt.outcome
        timeout = self.attempt_timeout(spec)
        async with self._slots:
            started = time.perf_counter()
            try:
                async with self._session.post(delivery.target.url, data=signed.body, headers=headers,
                                              timeout=aiohttp.ClientTimeout(total=timeout),
                                              allow_redirects=False) as response:
                    attempt.status = response.status
                    attempt.response_body = recorded(await _read_at_most(response.content, self.body_limit + 1),
                                                     self.body_limit)
            except TimeoutError:
                attempt.error = f"no response within {timeout:g} s"
            except (aiohttp.ClientError, OSError, ValueError) as exc:
                attempt.error = f"{type(exc).__name__}: {exc}"
            attempt.duration_ms = round((time.perf_counter() - started) * 1000, 3)
        if attempt.status is not None and spec.is_success(attempt.status):
            attempt.outcome = "delivered"
        else:
            attempt.error = attempt.error or f"HTTP {attempt.status} is not a success"
            self._count_failure(spec, delivery)
        if log.isEnabledFor(logging.INFO):
            log.info("%s %s -> %s: %s (%s) delivery %s", provider.name, ",".join(delivery.events),
                     delivery.target.url, attempt.status or attempt.error,
                     f"attempt {attempt.number} of {of}" if of else f"redelivery, attempt {attempt.number}",
                     delivery.id)
        if self.log.get(delivery.id) is delivery:  # what it holds has grown
            self._log(delivery)
        self._saved(delivery)
        return attempt.outcome
