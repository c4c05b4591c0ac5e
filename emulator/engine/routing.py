"""Find the provider route for a request: path normalisation, method override, trailing-slash
policy, and the provider-styled 404 / 405 for paths and methods it does not serve."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from emulator.engine.errors import ProviderError
from emulator.engine.provider import Provider, Route

# Raw request paths whose match is remembered (see Router.find); past this the memory starts over.
MAX_REMEMBERED = 4096


@dataclass
class Match:
    provider: Provider
    route: Route
    params: dict[str, str]
    method: str  # the method the client means (see Router.effective_method)


@dataclass
class Redirect:
    """The canonical form of a path that differs only by its trailing slash."""

    provider: Provider
    location: str


@dataclass
class Miss:
    """No route: `provider` (if any prefix matched) answers with `error` in its style."""

    provider: Provider | None
    error: ProviderError
    allow: list[str] = field(default_factory=list)


def normalise_path(raw_path: str) -> str:
    """The path as clients mean it: query dropped, percent-decoded, repeated slashes folded,
    and trailing whitespace or a stray `?` removed (real clients send all of these)."""
    path = unquote(raw_path.split("?", 1)[0])
    path = re.sub(r"/{2,}", "/", path).rstrip()
    return path or "/"


def allowed(provider: Provider, methods: set[str]) -> list[str]:
    """A path's methods as its Allow header lists them: in the fixture's `allow` order (HEAD too
    where GET is served, when the order names HEAD), else alphabetically."""
    if not provider.allow:
        return sorted(methods)
    if "GET" in methods and "HEAD" in provider.allow:
        methods = methods | {"HEAD"}
    return [m for m in provider.allow if m in methods] + sorted(methods - set(provider.allow))


class Router:
    """Matches requests against every provider's routes; the most literal route wins."""

    def __init__(self, providers: dict[str, Provider]) -> None:
        self.providers = list(providers.values())
        self.routes = sorted(
            ((p, r) for p in self.providers for r in p.routes), key=lambda pr: -pr[1].literal_length
        )
        # Routes without parameters by their exact path (found by one lookup), and the others in
        # order; a literal route is always more literal than a templated one matching the same path.
        self.literal: dict[str, list[tuple[Provider, Route]]] = {}
        self.templated: list[tuple[Provider, Route]] = []
        for provider, route in self.routes:
            if "{" in route.path:
                self.templated.append((provider, route))
            else:
                self.literal.setdefault(route.path, []).append((provider, route))
        # The headers that can override a POST's method, and matches by (method, raw path, override).
        self.overrides = sorted({p.method_override for p in self.providers if p.method_override})
        self.remembered: dict[tuple[str | None, ...], Match] = {}

    def find(self, method: str, raw_path: str, headers: Mapping[str, str]) -> Match | Redirect | Miss:
        """`resolve` for a request as it arrived (its raw path, query included): a path that
        matched a route before is found by one lookup."""
        raw = raw_path.partition("?")[0]
        key: tuple[str | None, ...] = (method, raw)
        if method == "POST" and self.overrides:
            key = (method, raw, *(headers.get(h) for h in self.overrides))
        found = self.remembered.get(key)
        if found is not None:
            return found
        resolved = self.resolve(method, normalise_path(raw), headers)
        if isinstance(resolved, Match):
            if len(self.remembered) >= MAX_REMEMBERED:
                self.remembered.clear()
            self.remembered[key] = resolved
        return resolved

    def owner(self, path: str) -> Provider | None:
        """The provider whose prefix is the longest one `path` starts with."""
        best: tuple[int, Provider | None] = (0, None)
        for provider in self.providers:
            for prefix in provider.prefixes:
                if path.startswith(prefix) and len(prefix) > best[0]:
                    best = (len(prefix), provider)
        return best[1]

    def effective_method(self, method: str, headers: Mapping[str, str] | None, provider: Provider | None) -> str:
        """The method a client means: some SDKs POST with a method-override header."""
        if provider and provider.method_override and method == "POST" and headers:
            override = headers.get(provider.method_override, "").strip().upper()
            if override:
                return override
        return method

    def _matching(self, path: str) -> list[tuple[Provider, Route, dict[str, str]]]:
        found: list[tuple[Provider, Route, dict[str, str]]] = [(p, r, {}) for p, r in self.literal.get(path, ())]
        for provider, route in self.templated:
            m = route.pattern.match(path)
            if m:
                found.append((provider, route, m.groupdict()))
        return found

    def _other_format(self, owner: Provider | None, path: str) -> bool:
        """Whether `path` is one of `owner`'s routes with another format suffix than its `format_suffix`."""
        suffix = owner.format_suffix if owner is not None else None
        stem, dot, ext = path.rpartition(".")
        if not suffix or not dot or "/" in ext or not ext or f".{ext}" == suffix:
            return False
        return any(p is owner for p, _, _ in self._matching(stem + suffix))

    def resolve(self, method: str, path: str, headers: Mapping[str, str] | None = None) -> Match | Redirect | Miss:
        owner = self.owner(path)
        found = self._matching(path)
        if not found and owner is not None and owner.trailing_slash != "strict":
            alternative = path[:-1] if path.endswith("/") else path + "/"
            found = [f for f in self._matching(alternative) if f[0] is owner]
            if found and owner.trailing_slash == "redirect":
                return Redirect(owner, alternative)
        if not found:
            return Miss(owner, ProviderError("not_acceptable" if self._other_format(owner, path) else "not_found"))
        provider = found[0][0]
        method = self.effective_method(method, headers, provider)
        for p, route, params in found:
            if route.method == method or (method == "HEAD" and route.method == "GET"):
                return Match(p, route, params, method)
        allow = allowed(provider, {r.method for p, r, _ in found if p is provider})
        return Miss(provider, ProviderError("method_not_allowed", headers={"Allow": ", ".join(allow)}),
                    allow)
