"""Credentials -> tenant, following each provider's fixture `auth` section, or the provider's 401."""

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


def authenticate(
    provider: Provider, request: web.Request, body: Any, settings: Settings, store: Store, now: datetime
) -> Identity:
    """The caller's identity, or the provider's `unauthorized` / `invalid_credentials` error."""
    auth = provider.auth
    seen = False
    key = None
    for source in auth.credentials:
        present, key = _credential(source, request, body)
        seen = seen or present
        if key:
            break
    if not key:
        raise ProviderError("invalid_credentials" if seen else "unauthorized")
    tenant = key
    strict = settings.strict_for(provider.name)
    token = store.provider_tokens(provider.name).get(key)
    if token is not None:
        if token.expires <= now:
            raise ProviderError("invalid_credentials", "the access token expired")
        tenant = token.owner
    elif strict and key not in settings.credentials.get(provider.name, []):
        raise ProviderError("invalid_credentials")
    if strict:
        for source in auth.required_when_strict:
            if not _credential(source, request, body)[1]:
                raise ProviderError("unauthorized")
    scope_header = auth.scope_header
    scope = request.headers.get(scope_header, "").strip() or None if scope_header else None
    return Identity(tenant, scope)
