"""Where notifications may go (`--allow-targets`): host names, host:port pairs and CIDR ranges.
With no list, anything is allowed; with one, a delivery to anywhere else fails at once with an
error that says why, and is not retried. The dispatcher's connections resolve names through
resolver.PolicyResolver, so they go only to addresses the policy allows (a name cannot pass
the check with one address and then connect to another). Standard library only: settings read it."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
HOST_NAME = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?")


@dataclass(frozen=True)
class TargetPolicy:
    """The allowed targets: networks (a bare address is a /32 or /128), host names, and either
    with a port to allow only that port."""

    entries: tuple[str, ...]
    networks: tuple[tuple[Network, int | None], ...]
    hosts: tuple[tuple[str, int | None], ...]

    @classmethod
    def parse(cls, entries: list[str]) -> TargetPolicy:
        """A policy from entries such as `127.0.0.0/8`, `::1`, `app`, `app:8000`, `[::1]:9000`;
        ValueError naming the entry that is none of these."""
        networks: list[tuple[Network, int | None]] = []
        hosts: list[tuple[str, int | None]] = []
        for entry in entries:
            host, port = _split_port(entry.strip())
            try:
                networks.append((ipaddress.ip_network(host, strict=False), port))
                continue
            except ValueError:
                pass
            if not HOST_NAME.fullmatch(host):
                raise ValueError(f"{entry!r} is not a host, host:port or CIDR range")
            hosts.append((host.lower(), port))
        return cls(tuple(entries), tuple(networks), tuple(hosts))

    async def refusal(self, url: str) -> str | None:
        """Why a notification may not be sent to `url`, or None when it may. A host name is
        allowed by name, or when every address it resolves to is in an allowed range."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return f"{url} has no usable port"
        if self.allows_name(host, port):
            return None
        addresses = await _addresses(host, port)
        if addresses and all(self.allows_address(address, port) for address in addresses):
            return None
        return f"target {host}:{port} is not allowed by --allow-targets ({', '.join(self.entries)})"

    def allows_name(self, host: str, port: int) -> bool:
        """Whether `host` is allowed by name (then any address it resolves to is)."""
        return any(host.lower() == name and wanted in (None, port) for name, wanted in self.hosts)

    def allows_address(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int) -> bool:
        """Whether an address (and port) is in an allowed range."""
        return any(address in network and wanted in (None, port) for network, wanted in self.networks)


def _split_port(entry: str) -> tuple[str, int | None]:
    """`host:port`, `[v6]:port`, `v6`, `cidr` -> (host, port or None)."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, _port(rest.removeprefix(":"), entry) if rest else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, _port(port, entry)
    return entry, None


def _port(text: str, entry: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{entry!r} has no valid port")
    return int(text)


async def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
