"""What keeps a web page on another origin from driving an emulator through its visitor's browser:
control calls whose `Origin` is not the emulator's own are refused, control writes with a body
must say it is JSON (a browser sends a form or plain text without asking first), and, while the
emulator listens on a loopback address, a `Host` that is not a loopback name (nor one of
`--allowed-hosts`) is refused on every route (DNS rebinding)."""

from __future__ import annotations

import ipaddress

from aiohttp import web

from emulator.settings import Settings

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Host header values judged, kept so that a judgement is a dict lookup (cleared when this many).
MAX_SEEN = 256


def is_loopback(name: str) -> bool:
    """Whether a host name or address (no port, no brackets) is this machine's loopback."""
    name = name.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_name(value: str) -> str:
    """The name in a Host header value: `[::1]:8080` -> `::1`, `example.com:80` -> `example.com`."""
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    name, colon, port = value.rpartition(":")
    return name if colon and port.isdigit() else value


class Guard:
    """One emulator's checks of where a request comes from (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.checks_host = is_loopback(settings.host)
        self.allowed = {h.lower().rstrip(".") for h in settings.allowed_hosts}
        self._seen: dict[str, bool] = {}

    def host_allowed(self, value: str | None) -> bool:
        """Whether a request with this Host header is served (any, unless on a loopback address)."""
        if not self.checks_host or value is None:
            return True
        judged = self._seen.get(value)
        if judged is None:
            if len(self._seen) >= MAX_SEEN:
                self._seen.clear()
            name = host_name(value.strip()).lower().rstrip(".")
            judged = self._seen[value] = is_loopback(name) or name in self.allowed
        return judged

    def refusal(self, request: web.Request) -> tuple[int, str, str] | None:
        """Why a control call is refused (status, error kind, message), or None."""
        host = request.headers.get("Host")
        if not self.host_allowed(host):
            return 403, "forbidden", f"the Host {host!r} is not this emulator's (it listens on a loopback address; " \
                "--allowed-hosts adds names)"
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"{request.scheme}://{host}":
            return 403, "forbidden", f"control calls from another origin ({origin}) are refused"
        if request.method in WRITE_METHODS and request.body_exists and not _is_json(request.content_type):
            return 415, "unsupported_media_type", "a control call's body must be JSON: send " \
                "'Content-Type: application/json'"
        return None


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


GUARD = web.AppKey("emulator_guard", Guard)
