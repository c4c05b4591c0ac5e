"""Credentials -> tenant, following each provider's fixture `auth` section, or the provider's 401
with a reason (in the error's detail: the journal and the debug log show it) that says what was
expected, in the words of the fixture's credential sources."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from aiohttp import web

from emulator.engine.errors import ProviderError
from emulator.engine.model import Credential
from emulator.engine.provider import Provider
from emulator.engine.store import Store
from emulator.settings import Settings


class Identity(NamedTuple):
    """Who is calling: the tenant whose state they see, and an optional sub-scope inside it."""

    tenant: str
    scope: str | None = None


@cache
def pattern(text: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    """A fixture's regular expression, compiled once (case-insensitive unless `flags` says otherwise)."""
    return re.compile(text, flags)


def _credential(source: Credential, request: web.Request, body: Any) -> tuple[bool, str | None]:
    """(present, key) for one credential source: a header (with a pattern naming `key`), a query
    parameter, or a field of the JSON body."""
    if source.header is not None:
        raw = request.headers.get(source.header)
    elif source.query is not None:
        raw = request.query.get(source.query)
    else:
        raw = body.get(source.body) if isinstance(body, dict) else None
        raw = raw if isinstance(raw, str) else None
    if raw is None or not raw.strip():
        return False, None
    if source.pattern is None:
        return True, raw.strip()
    match = pattern(source.pattern).search(raw.strip())
    return True, (match.group("key") if match else None)


def _shape(text: str | None) -> str:
    """A credential pattern as a user would type it: `^Token\\s+(?P<key>\\S+)$` is `Token <key>`;
    a pattern that does not read as text stays a pattern."""
    if text is None:
        return "<key>"
    shape = re.sub(r"\(\?P<key>[^()]*\)", "<key>", text).removeprefix("^").removesuffix("$")
    shape = re.sub(r"\\s[+*]?", " ", shape)
    if re.search(r"[\\\[\](){}*+?|^$]", shape):
        return f"a value matching /{text}/"
    return shape


def how_to_send(source: Credential) -> str:
    """One credential source in words: the header `Authorization: Token <key>`, the query
    parameter `access_token=<key>` or the JSON body field `api_key`."""
    if source.header is not None:
        return f"the header `{source.header}: {_shape(source.pattern)}`"
    if source.query is not None:
        return f"the query parameter `{source.query}=<key>`"
    return f"the JSON body field `{source.body}`"


def _any_of(sources: tuple[Credential, ...]) -> str:
    ways = [how_to_send(s) for s in sources]
    return ways[0] if len(ways) == 1 else f"{', '.join(ways[:-1])} or {ways[-1]}"


def _unusable(source: Credential) -> str:
    """Why a credential source that was sent gave no key: its value is not of the fixture's form."""
    where = f"the {source.header} header" if source.header is not None else \
        f"the query parameter {source.query}" if source.query is not None else f"the body field {source.body}"
    return f"{where} is not of the form `{_shape(source.pattern)}`"


def _not_accepted(provider: Provider, settings: Settings) -> str:
    """Why --strict (or --credentials) refuses a key the provider would otherwise take."""
    configured = settings.credentials.get(provider.name)
    if not configured:
        return (f"--strict: {provider.name} accepts only keys given with --credentials (none are given for it) "
                "and tokens the emulator issued")
    return (f"the key is neither one of the {len(configured)} given for {provider.name} with --credentials nor a "
            "token the emulator issued")


def authenticate(
    provider: Provider, request: web.Request, body: Any, settings: Settings, store: Store, now: datetime
) -> Identity:
    """The caller's identity, or the provider's `unauthorized` / `invalid_credentials` error."""
    auth = provider.auth
    unusable = None
    key = None
    for source in auth.credentials:
        present, key = _credential(source, request, body)
        if present and not key and unusable is None:
            unusable = source
        if key:
            break
    if not key:
        if unusable is not None:
            raise ProviderError("invalid_credentials", f"{_unusable(unusable)}: send {_any_of(auth.credentials)}")
        raise ProviderError("unauthorized", f"no credentials: send {_any_of(auth.credentials)}")
    tenant = key
    strict = settings.strict_for(provider.name)
    token = store.provider_tokens(provider.name).get(key)
    if token is not None:
        if token.expires <= now:
            raise ProviderError("invalid_credentials", f"the access token expired at {token.expires.isoformat()}")
        tenant = token.owner
    elif strict and key not in settings.credentials.get(provider.name, []):
        raise ProviderError("invalid_credentials", _not_accepted(provider, settings))
    if strict:
        for source in auth.required_when_strict:
            if not _credential(source, request, body)[1]:
                raise ProviderError("unauthorized", f"--strict: {provider.name} also needs {how_to_send(source)}")
    scope_header = auth.scope_header
    scope = request.headers.get(scope_header, "").strip() or None if scope_header else None
    return Identity(tenant, scope)
