"""The name resolver of the dispatcher's connections: only addresses the target policy (see
targets.py, which stays standard library only) allows."""

from __future__ import annotations

import ipaddress
import socket

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from emulator.delivery.targets import TargetPolicy


class PolicyResolver(AbstractResolver):
    """Resolves names as `inner` does and keeps only the addresses `policy` allows."""

    def __init__(self, policy: TargetPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self.inner = inner or aiohttp.DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        found = await self.inner.resolve(host, port, family)
        if self.policy.allows_name(host, port):
            return found
        kept = [r for r in found
                if self.policy.allows_address(ipaddress.ip_address(r["host"].split("%")[0]), port)]
        if not kept:
            raise OSError(f"{host} resolves to no address --allow-targets allows")
        return kept

    async def close(self) -> None:
        await self.inner.close()
