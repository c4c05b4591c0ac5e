"""The consumer audit: send a battery of notifications to a user's webhook endpoint and report,
check by check, what a safe consumer does, what this one did, and the verdict.

The checks, per endpoint: every event it can receive, validly signed, is accepted by the provider's
own success rule; the same notification twice is accepted both times; every answer comes within
the provider's timeout; each forgery (wrong secret, tampered body, missing signature, stale
timestamp or expired token) is rejected, or, for a provider that signs nothing, a note says what
the consumer can check instead. Each notification is sent once (no retries) through the
dispatcher, so every one is in the delivery log too.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, replace
from typing import Any
from xml.etree import ElementTree

from emulator.delivery.dispatcher import Dispatcher
from emulator.delivery.records import Attempt, Target
from emulator.delivery.signing import forgeries
from emulator.delivery.specs import delivery_spec
from emulator.engine.provider import Provider


@dataclass
class Check:
    """One line of the report."""

    check: str
    safe: str
    observed: str
    verdict: str  # pass, fail or note

    def as_json(self) -> dict[str, str]:
        return vars(self)


class Unreachable(Exception):
    """The consumer could not be reached at all (nothing accepted the connection, or the target is
    not allowed): auditing it further would only repeat the same error."""


def unreachable(attempt: Attempt) -> bool:
    """Whether an attempt got no answer for want of a connection (not for want of time)."""
    return attempt.status is None and not (attempt.error or "").startswith("no response")


def _observed(attempt: Attempt) -> str:
    return f"HTTP {attempt.status}" if attempt.status is not None else f"no answer: {attempt.error}"


class Auditor:
    """Runs the checks against one endpoint (a target) with one dispatcher."""

    def __init__(self, dispatcher: Dispatcher, provider: Provider) -> None:
        self.dispatcher = dispatcher
        self.provider = provider
        self.spec = delivery_spec(provider)
        self.timeout = dispatcher.attempt_timeout(self.spec)

    async def _send(self, target: Target, event: str, mode: str = "valid", times: int = 1) -> list[Attempt]:
        """One notification of `event`, sent `times` times (no retries); its attempts."""
        [delivery] = self.dispatcher.prepare(self.provider, [event], target=target, mode=mode, logged=False)
        for _ in range(times):
            await self.dispatcher.redeliver(delivery)
        return delivery.attempts

    def _success_rule(self) -> str:
        accepted = self.spec.success
        statuses = " or ".join(map(str, accepted or []))
        return f"answers {statuses} (only {statuses} counts)" if accepted else "answers 2xx"

    async def run(self, target: Target, events: list[str]) -> list[Check]:
        """Every check against one endpoint, in order."""
        checks: list[Check] = []
        valid: list[Attempt] = []
        rule = self._success_rule()
        for event in events:
            [attempt] = await self._send(target, event)
            if not valid and unreachable(attempt):
                raise Unreachable(attempt.error)
            valid.append(attempt)
            checks.append(Check(f"event {event}", f"accepts it: {rule}", _observed(attempt),
                                "pass" if attempt.outcome == "delivered" else "fail"))
        twice = await self._send(target, events[0], times=2)
        valid += twice
        checks.append(Check(f"the same {events[0]} twice", f"accepts both: {rule}",
                            ", then ".join(_observed(a) for a in twice),
                            "pass" if all(a.outcome == "delivered" for a in twice) else "fail"))
        late = [a for a in valid if a.status is None and (a.error or "").startswith("no response")]
        answered = [a for a in valid if a.status is not None]
        if late or not answered:
            observed, verdict = f"{len(late)} answer(s) too late" if late else "no answer at all", "fail"
        else:
            observed, verdict = f"slowest answer {max(a.duration_ms for a in answered):.0f} ms", "pass"
        checks.append(Check("answer time", f"answers within {self.timeout:g} s (the provider's timeout)",
                            observed, verdict))
        signature = self.spec.signature
        if signature.scheme == "none":
            advice = self.spec.authenticity
            checks.append(Check("authenticity", f"cannot tell a forgery: {self.provider.name} signs nothing",
                                " ".join(advice.split()), "note"))
            return checks
        for mode, what in forgeries(signature):
            [attempt] = await self._send(target, events[0], mode)
            rejected = attempt.status is not None and not 200 <= attempt.status < 300
            checks.append(Check(f"forgery: {what}", "rejects it (not 2xx)", _observed(attempt),
                                "pass" if rejected else "fail"))
        return checks


def summary(checks: list[Check]) -> dict[str, int]:
    """How many checks passed, failed and are notes."""
    return {verdict: sum(c.verdict == verdict for c in checks) for verdict in ("pass", "fail", "note")}


async def audit(dispatcher: Dispatcher, provider: Provider, targets: list[tuple[Target, list[str]]]
                ) -> dict[str, Any]:
    """Audit each (target, events) and return the report: per endpoint its checks, and whether all passed."""
    auditor = Auditor(dispatcher, provider)
    endpoints, passed = [], True
    for target, events in targets:
        endpoint: dict[str, Any] = {"url": target.url, "tenant": target.tenant, "webhook_id": target.webhook_id}
        try:
            # The audit's own notifications leave a stored webhook's failure counter alone.
            checks = await auditor.run(replace(target, webhook_id=None), events)
        except Unreachable as exc:
            endpoint["unreachable"], checks = str(exc), []
        counts = summary(checks)
        passed = passed and counts["fail"] == 0 and "unreachable" not in endpoint
        endpoints.append({**endpoint, "checks": [c.as_json() for c in checks], "summary": counts})
    return {"provider": provider.name, "passed": passed, "endpoints": endpoints}


# -- reports -----------------------------------------------------------------------------------------

COLUMNS = (("check", "CHECK"), ("safe", "A SAFE CONSUMER"), ("observed", "THIS ONE"), ("verdict", "VERDICT"))


def render_table(report: dict[str, Any]) -> str:
    """The report as text: a table per endpoint and a closing line."""
    lines = []
    for endpoint in report["endpoints"]:
        where = endpoint["url"] + (f" (webhook {endpoint['webhook_id']})" if endpoint["webhook_id"] else "")
        if "unreachable" in endpoint:
            lines += [f"{report['provider']} consumer audit of {where}: {unreachable_line(endpoint)}", ""]
            continue
        lines.append(f"{report['provider']} consumer audit of {where}")
        notes = [c for c in endpoint["checks"] if c["verdict"] == "note"]
        rows = [tuple(head for _, head in COLUMNS)] + [
            tuple("see the note below" if key == "observed" and c in notes else c[key] for key, _ in COLUMNS)
            for c in endpoint["checks"]]
        widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
        for row in rows:
            padded = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            lines.append("  ".join([*padded, row[-1]]))
        counts = endpoint["summary"]
        lines.append(f"{sum(counts.values())} checks: {counts['pass']} passed, {counts['fail']} failed, "
                     f"{counts['note']} note(s)")
        lines += [textwrap.fill(f"note ({c['check']}): {c['observed']}", 100, subsequent_indent="  ") for c in notes]
        lines.append("")
    lines.append("SAFE" if report["passed"] else "UNSAFE: see the failed checks above")
    return "\n".join(lines)


def unreachable_line(endpoint: dict[str, Any]) -> str:
    """Why an endpoint was not audited, in one line."""
    return f"cannot reach {endpoint['url']}, nothing audited: {endpoint['unreachable']}"


def junit_xml(report: dict[str, Any]) -> str:
    """The report as JUnit XML: a test suite per endpoint, a test case per check."""
    suites = ElementTree.Element("testsuites", name=f"webhook-emulator audit {report['provider']}")
    for endpoint in report["endpoints"]:
        counts = endpoint["summary"]
        suite = ElementTree.SubElement(suites, "testsuite", name=f"{report['provider']} {endpoint['url']}",
                                       tests=str(sum(counts.values())), failures=str(counts["fail"]), errors="0",
                                       skipped="0")
        if "unreachable" in endpoint:
            suite.set("errors", "1")
            case = ElementTree.SubElement(suite, "testcase", classname=f"audit.{report['provider']}", name="reach")
            ElementTree.SubElement(case, "error", message=unreachable_line(endpoint))
        for check in endpoint["checks"]:
            case = ElementTree.SubElement(suite, "testcase", classname=f"audit.{report['provider']}",
                                          name=check["check"])
            if check["verdict"] == "fail":
                ElementTree.SubElement(case, "failure", message=f"expected: {check['safe']}; got: {check['observed']}")
            elif check["verdict"] == "note":
                ElementTree.SubElement(case, "system-out").text = f"{check['safe']}. {check['observed']}"
    return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
