"""The generic actions every provider's routes map to: list, create, retrieve, update, replace,
delete, and an OAuth2 token endpoint. Provider differences come from the fixture alone."""

from __future__ import annotations

import base64
import copy
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, overload

from aiohttp import web
from jsonschema import Draft202012Validator

from emulator.engine.auth import Identity, pattern
from emulator.engine.errors import Issue, ProviderError, language
from emulator.engine.events import catalogue
from emulator.engine.ids import IdSource
from emulator.engine.model import OAuth, Paging
from emulator.engine.provider import Provider, Route
from emulator.engine.render import Encoded, dump_json, fill, render_record
from emulator.engine.responses import EMPTY, wants_pretty
from emulator.engine.store import EVERYONE, Collection, Record, Token
from emulator.engine.validation import body_issues, param_error, raise_issues, unique_issue

if TYPE_CHECKING:  # (the composition root, which builds on the engine)
    from emulator.state import EmulatorState


@dataclass
class Call:
    """Everything an action needs about one request."""

    state: EmulatorState
    provider: Provider
    route: Route
    request: web.Request
    identity: Identity | None
    params: dict[str, str]
    body: Any

    @property
    def collection(self) -> Collection:
        """The tenant's records; until the tenant first creates one, an empty stand-in that is not
        kept, so that reads and rejected requests leave the state as it was."""
        assert self.identity is not None
        return self.state.store.existing(self.provider.name, self.identity.tenant) or Collection(ref="")

    @property
    def messages(self) -> Mapping[str, str]:
        """The validation messages, in the request's Accept-Language where the fixture has it."""
        lang = language(self.provider, self.request.headers.get("Accept-Language"))
        return {**self.provider.errors.messages, **lang.messages} if lang else self.provider.errors.messages

    def render(self, record: Record, keep: bool = True) -> dict[str, Any]:
        return render_record(self.provider.views[self.route.view], record, self.collection.ref, keep)


@dataclass
class Reply:
    status: int
    body: Any = EMPTY
    headers: dict[str, str] = field(default_factory=dict)


Action = Callable[[Call], Awaitable[Reply]]


def _caller_scope(call: Call) -> str | None:
    return call.identity.scope if call.identity else None


def _visible(call: Call) -> Callable[[Record], bool] | None:
    """Records a caller may see: with a sub-scope (a scope header such as an integration id) the unscoped ones
    and those of its own scope; without one, only the unscoped ones."""
    if call.provider.resource.scope is None:
        return None
    scope = _caller_scope(call)
    return lambda r: r.seen_from(scope)


def _find(call: Call) -> Record:
    record = call.collection.get(call.params.get("id", ""))
    keep = _visible(call)
    if record is None or (keep and not keep(record)):
        raise ProviderError("not_found")
    return record


def scope_for(provider: Provider, data: dict[str, Any], scope: str | None) -> str | None:
    """The sub-scope a record with `data` belongs to when created in `scope`, from the fixture's
    `resource.scope` rule; a validation error if it needs a scope and `scope` is None."""
    rule = provider.resource.scope
    if rule is None:
        return None
    unscoped = pattern(rule.unscoped, 0)
    values = data.get(rule.field) or []
    if all(isinstance(v, str) and unscoped.search(v) for v in values):
        return None
    if scope is None:
        raise ProviderError("validation", issues=[Issue((), provider.errors.messages.get(
            "scope_required", "this request needs the scope header"))])
    return scope


def field_values(provider: Provider, ids: IdSource, body: dict[str, Any], base: dict[str, Any] | None,
                 everything: bool = False) -> dict[str, Any]:
    """Data for a new record (`base` None) or a replaced one (every writable field not given is
    reset to its default), from the body's writable fields (`everything`: any stored field, as a
    state document may set a secret or a counter)."""
    data = {} if base is None else {k: v for k, v in base.items() if not provider.fields[k].writable}
    for spec in provider.fields.values():
        if spec.source is not None or (base is not None and not spec.writable):
            continue
        if (spec.writable or everything) and spec.name in body:
            data[spec.name] = body[spec.name]
        elif spec.generate is not None:
            data[spec.name] = ids.generate(spec.generate)
        else:
            data[spec.name] = _fresh(spec.default)
    return data


def _fresh(default: Any) -> Any:
    """A field's default for a new record: containers are new each time (no two records share one)."""
    if isinstance(default, dict | list):
        return copy.deepcopy(default) if default else type(default)()
    return default


def _new_id(call: Call, body: dict[str, Any], current: str | None) -> str:
    """The record's id: a client-chosen one where the fixture allows it, else kept or generated."""
    field_name = call.provider.client_id_field
    if field_name and field_name in body:
        return str(body[field_name])
    return current or call.state.ids.generate(call.provider.resource.id)


def _coerced(provider: Provider, body: Any) -> Any:
    """The body with the numbers of `coerce: string` fields as their text."""
    if not isinstance(body, dict):
        return body
    numbers = {n: str(body[n]) for n in provider.coerced if isinstance(body.get(n), int | float)
               and not isinstance(body.get(n), bool)}
    return {**body, **numbers} if numbers else body


def _checked(call: Call, current: str | None) -> dict[str, Any]:
    """The body, if nothing is wrong with it; otherwise every problem at once: the schema's, and
    a client-chosen id another record of the tenant already has."""
    call.body = _coerced(call.provider, call.body)
    issues = body_issues(call.body, call.route.request, call.messages)
    field_name = call.provider.client_id_field
    if field_name and isinstance(call.body, dict):
        wanted = call.body.get(field_name)
        if isinstance(wanted, str) and wanted != current and call.collection.get(wanted) is not None:
            issues.append(unique_issue(field_name, wanted, call.messages))
    route = call.route
    if issues:
        raise_issues(issues, call.provider.schema(route.request_schema) if route.request_schema else None)
    return call.body



async def create(call: Call) -> Reply:
    body = _checked(call, None)
    record_id = _new_id(call, body, None)
    data = field_values(call.provider, call.state.ids, body, None)
    now = call.state.clock.now()
    scope = scope_for(call.provider, data, _caller_scope(call))
    record = Record(record_id, data, created=now, updated=now, scope=scope)
    assert call.identity is not None
    call.state.store.collection(call.provider.name, call.identity.tenant).add(record)
    return Reply(call.route.status, call.render(record, keep=False))  # (a list keeps what it shows)


async def retrieve(call: Call) -> Reply:
    return Reply(call.route.status, call.render(_find(call)))


def _save(call: Call, record: Record, data: dict[str, Any], new_id: str) -> Reply:
    scope = scope_for(call.provider, data, _caller_scope(call))
    old_id = record.id
    record.id, record.data, record.scope = new_id, data, scope
    record.updated = record.modified = call.state.clock.now()
    call.collection.touch(record, old_id)
    return Reply(call.route.status, call.render(record))


async def update(call: Call) -> Reply:
    """Partial update: only the writable fields the body gives change."""
    record = _find(call)
    body = _checked(call, record.id)
    writable = {n for n, f in call.provider.fields.items() if f.writable and f.source is None}
    data = {**record.data, **{k: v for k, v in body.items() if k in writable}}
    return _save(call, record, data, _new_id(call, body, record.id))


async def replace(call: Call) -> Reply:
    """Full replacement: writable fields the body omits go back to their defaults."""
    record = _find(call)
    body = _checked(call, record.id)
    data = field_values(call.provider, call.state.ids, body, record.data)
    return _save(call, record, data, _new_id(call, body, record.id))


async def delete(call: Call) -> Reply:
    record = _find(call)
    soft_flag = call.provider.resource.soft_delete
    if soft_flag:
        record.deleted = True
        if call.provider.fields[soft_flag].source is None:  # a stored field (not `from: deleted`) says so too
            record.data[soft_flag] = True
    call.collection.remove(record, soft=bool(soft_flag))
    if call.route.status == 204:
        return Reply(204)
    if call.route.has_body:
        return Reply(call.route.status, call.route.body)
    return Reply(call.route.status, call.render(record))


async def simulate(call: Call) -> Reply:
    """Fire a sample of each event the webhook subscribes to at it alone (a provider's
    "send a test event" route), through the same dispatcher as every other firing."""
    record = _find(call)
    assert call.identity is not None  # (simulate is not a public action)
    call.state.dispatcher.simulate(call.provider, call.identity.tenant, record)
    return Reply(call.route.status)


async def describe(call: Call) -> Reply:
    """The route's own answer: its `body` and `headers` as written (e.g. an OPTIONS answer)."""
    route = call.route
    return Reply(route.status, route.body if route.has_body else EMPTY, dict(route.headers))


DEFAULT_CATALOGUE_ENTRY = {"ref": "{ref}", "name": "{event}"}


async def event_catalogue(call: Call) -> Reply:
    """The provider's own catalogue of its events: each event with a `ref`, as `events.catalogue_entry`
    shows it, paged by the list's offset and limit parameters (when its paging has them)."""
    events = call.provider.events
    entry = (events.catalogue_entry if events else None) or DEFAULT_CATALOGUE_ENTRY
    entries = [fill(entry, {"ref": spec.ref, "event": name}) for name, spec in catalogue(call.provider).items()
               if spec.ref]
    if call.provider.listing.paging.style == "offset":
        offset = _query_int(call, "offset", 0, 0)
        limit = _query_int(call, "limit", None, 0)
        entries = entries[offset:None if limit is None else offset + limit]
    return Reply(call.route.status, entries)


@overload
def _query_int(call: Call, role: str, default: int, minimum: int) -> int: ...
@overload
def _query_int(call: Call, role: str, default: None, minimum: int) -> int | None: ...
def _query_int(call: Call, role: str, default: int | None, minimum: int) -> int | None:
    """A paging parameter (`role` is page, size, offset or limit): absent or empty gives the
    default; an unusable value (not an integer >= minimum) follows the fixture's
    `paging.unusable` rule for the role: `default`, or (the default rule) `error`."""
    paging = call.provider.listing.paging
    name = paging.param(role)
    raw = call.request.query.get(name, "").strip()
    if not raw:
        return default
    try:
        value: int | None = int(raw)
    except ValueError:
        value = None
    if value is not None and value >= minimum:
        return value
    if getattr(paging.unusable, role) == "default":
        return default
    if role == "page":
        raise ProviderError("invalid_page")
    raise param_error(name, "integer", call.messages, limit=minimum)


def _filters(call: Call) -> list[Callable[[Record], bool]]:
    """Timestamp filters such as `created_at_gte=...` from the fixture's `list.filters` and
    `list.filter_suffixes`."""
    keeps: list[Callable[[Record], bool]] = []
    listing = call.provider.listing
    suffixes = {"": "eq", **{suffix: op for op, suffix in listing.filter_suffixes.items()}}
    for param, source in listing.filters.items():
        for suffix, op in suffixes.items():
            raw = call.request.query.get(param + suffix)
            if raw is None:
                continue
            try:
                bound = datetime.fromisoformat(raw.strip().replace(" ", "+"))
                if bound.tzinfo is None:
                    raise ValueError
            except ValueError:
                raise param_error(param + suffix, "timestamp", call.messages) from None
            keeps.append(_compare(source, op, bound))
    return keeps


def time_filters(call: Call, times: Iterable[str]) -> list[Callable[[Any], bool]]:
    """The list's timestamp and date-range filters (the fixture's `list.filters` and
    `list.date_range`), as the webhook list applies them, for lists of other things (the objects,
    whose kind names its `times`): each keeps what has that time (an attribute; None: it has none)
    within the bound. An unusable value is refused as the webhook list refuses it."""
    return _filters(call) + _date_range(call, tuple(times))


def _equals(call: Call) -> list[Callable[[Record], bool]]:
    """Filters such as `id_environment=...` from the fixture's `list.equals`: the stored field equals the value."""
    query = call.request.query

    def equal(param: str, field_name: str, value: str) -> Callable[[Record], bool]:
        _check_filter(call, param, field_name, value)
        return lambda record: str(record.data.get(field_name)) == value

    return [equal(param, field_name, query[param]) for param, field_name in call.provider.listing.equals.items()
            if param in query]


TEXT_RULES = ("pattern", "enum", "minLength", "maxLength")  # (what a query value, always text, is checked by)


def _check_filter(call: Call, param: str, field_name: str, value: str) -> None:
    """Refuse a filter value the stored field could never hold (its resource schema's `pattern`,
    `enum`, `maxLength`), as a 400 naming the parameter, like any other unusable query value."""
    schema = call.provider.resource.schema
    rules = call.provider.schema(schema).get("properties", {}).get(field_name, {}) if schema else {}
    for error in Draft202012Validator({k: v for k, v in rules.items() if k in TEXT_RULES}).iter_errors(value):
        raise param_error(param, str(error.validator), call.messages, value=value, limit=error.validator_value)


def _search(call: Call) -> list[Callable[[Record], bool]]:
    """The fixture's `list.search`: the webhooks one of whose fields contains the text (any case)."""
    spec = call.provider.listing.search
    text = call.request.query.get(spec.param, "").strip().lower() if spec else ""
    if not spec or not text:
        return []
    ids = {n for n in spec.fields if call.provider.fields.get(n) and call.provider.fields[n].source == "id"}
    return [lambda r: any(text in str(r.id if n in ids else r.data.get(n, "")).lower() for n in spec.fields)]


def _epoch(call: Call, param: str) -> datetime | None:
    raw = call.request.query.get(param, "").strip()
    if not raw:
        return None
    try:
        number = float(raw)
        return datetime.fromtimestamp(number if abs(number) < 1e11 else number / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        raise param_error(param, "timestamp", call.messages) from None


def _date_range(call: Call, times: tuple[str, ...] = ("created", "updated")) -> list[Callable[[Record], bool]]:
    """The fixture's `list.date_range`: epoch bounds (ms, or s below 10^11) on the time a parameter
    names: one of `times`, or a sort key's name for one (`modified` for `updated`)."""
    spec = call.provider.listing.date_range
    if spec is None:
        return []
    sort = call.provider.listing.sort.keys if call.provider.listing.sort else {}
    keys = {**{t: t for t in times}, **{name: source for name, source in sort.items() if source in times}}
    name = (call.request.query.get(spec.field_param, "").strip() if spec.field_param else "") or spec.default
    source = keys.get(name)
    if source is None:
        raise param_error(spec.field_param or spec.since, "choice", call.messages, choices=", ".join(keys))
    bounds = [(op, bound) for op, param in (("gte", spec.since), ("lte", spec.until))
              if (bound := _epoch(call, param)) is not None]
    return [_compare(source, op, bound) for op, bound in bounds]


def _compare(source: str, op: str, bound: datetime) -> Callable[[Record], bool]:
    def keep(record: Record) -> bool:
        value: datetime | None = getattr(record, source)
        if value is None:
            return False
        return {"eq": value == bound, "gt": value > bound, "gte": value >= bound,
                "lt": value < bound, "lte": value <= bound}[op]
    return keep


def _sort(call: Call) -> tuple[str, bool]:
    spec = call.provider.listing.sort
    if spec is None:
        return "created", False
    raw = call.request.query.get(spec.param) or spec.default
    descending = raw.startswith("-")
    key = spec.keys.get(raw.lstrip("-+ "))
    if key is None:
        raise param_error(spec.param, "sort", call.messages, choices=", ".join(spec.keys))
    return key, descending


async def list_records(call: Call) -> Reply:
    """A page of the caller's records: rendered once as compact JSON, then answered from the
    collection's kept pages until the collection changes (curl's indented answers are not kept)."""
    assert call.identity is not None
    collection = call.state.store.existing(call.provider.name, call.identity.tenant)
    if collection is None or wants_pretty(call.request):
        return _list_page(call)
    request = call.request
    key = ("page", id(call.route), request.raw_path, request.headers.get("Host"), call.identity.scope)
    page = collection.derived.get(key)
    if page is None:
        reply = _list_page(call)
        page = Reply(reply.status, Encoded(dump_json(reply.body)), reply.headers)
        collection.keep(key, page)
    return page  # type: ignore[no-any-return]


def _list_page(call: Call) -> Reply:
    listing = call.provider.listing
    paging = listing.paging
    keeps = _filters(call) + _equals(call) + _search(call) + _date_range(call)
    scope = _caller_scope(call) if call.provider.resource.scope is not None else EVERYONE
    after = paging.after and call.request.query.get(paging.after)
    if after:
        keeps.append(_after(call.collection, after))
    keep = (lambda r: all(k(r) for k in keeps)) if keeps else None
    key, descending = _sort(call)
    offset, limit, page = window(call)
    records, total = call.collection.page(offset, limit, key, descending, keep, scope)
    view, ref = call.provider.views[call.route.view], call.collection.ref
    values, headers = page_values(call, page, limit, total, bool(records))
    values["items"] = [render_record(view, r, ref) for r in records]
    return Reply(call.route.status, fill(listing.body, values), headers)


def window(call: Call) -> tuple[int, int | None, int | None]:
    """The offset and limit a list request asks for, as the provider's `list.paging` reads them, and
    its page number (None with offset paging)."""
    paging = call.provider.listing.paging
    if paging.style == "page":
        first = paging.first
        size = _query_int(call, "size", paging.default_size, 1)
        size = min(size, paging.max_size or size)
        page = _query_int(call, "page", first, first)
        return (page - first) * size, size, page
    return _query_int(call, "offset", 0, 0), _query_int(call, "limit", paging.default_limit, 0), None


def page_values(call: Call, page: int | None, size: int | None, total: int, found: bool
                ) -> tuple[dict[str, Any], dict[str, str]]:
    """A list body's {count}, {next} and {previous}, and the total header, for one page (`found`:
    whether it holds anything); invalid_page for an empty page past the first where paging says so."""
    paging = call.provider.listing.paging
    values: dict[str, Any] = {"count": total}
    if page is not None and size is not None:
        first = paging.first
        if not found and page != first and paging.out_of_range == "error":
            raise ProviderError("invalid_page")
        if paging.links:
            values["next"] = _link(call, paging, page + 1, first) if (page - first + 1) * size < total else None
            values["previous"] = _link(call, paging, page - 1, first) if page > first else None
    return values, ({paging.total_header: str(total)} if paging.total_header else {})


def _after(collection: Collection, after: str) -> Callable[[Record], bool]:
    anchor = collection.get(after)
    if anchor is None:
        return lambda r: False
    return lambda r: (r.created, r.id) > (anchor.created, anchor.id)


def _link(call: Call, paging: Paging, page: int, first: int) -> str:
    """An absolute URL to another page on the request's own host, other parameters kept, the query
    sorted by name as Django REST Framework writes its links (`?page=1&page_size=2`, whatever order
    the request had) [encode/django-rest-framework:rest_framework/utils/urls.py, replace_query_param]."""
    query = [(k, v) for k, v in call.request.query.items() if k != paging.page]
    if page != first or paging.first_in_links:
        query.append((paging.page, str(page)))
    return str(call.request.url.with_path(call.request.path).with_query(sorted(query, key=lambda item: item[0])))


def _basic_client(request: web.Request) -> tuple[str | None, str | None]:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("basic "):
        return None, None
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
    except ValueError:
        return None, None
    return user, password


def _oauth_error(status: int, code: str, description: str) -> Reply:
    return Reply(status, {"error": code, "error_description": description})


def _client(call: Call, body: dict[str, Any]) -> str | None:
    """The client as the request authenticates it, `ID:SECRET` (Basic, or the body's client_id and
    client_secret, which must agree with Basic when both are given); None when it does not: no
    id, no secret (a confidential client's, RFC 6749 2.3.1), or under --strict a client that is
    not configured (`--credentials NAME=ID:SECRET`; one configured with an empty secret needs none)."""
    basic = _basic_client(call.request)
    given = body.get("client_id"), body.get("client_secret")
    if any(v is not None and not isinstance(v, str) for v in given):
        return None
    if basic != (None, None) and any(v is not None and v != b for v, b in zip(given, basic, strict=True)):
        return None  # two authentications that disagree
    client_id, secret = given[0] or basic[0], given[1] or basic[1] or ""
    if not client_id:
        return None
    client, settings = f"{client_id}:{secret}", call.state.settings
    if settings.strict_for(call.provider.name):
        return client if client in settings.credentials.get(call.provider.name, []) else None
    return client if secret else None


async def oauth_token(call: Call) -> Reply:
    """An OAuth2 token endpoint (RFC 6749): client_credentials, authorization_code and
    refresh_token grants, each for an authenticated client (see _client). The issued token acts
    for the tenant `CLIENT_ID:CLIENT_SECRET` (the client's credentials together, so that a bearer
    guessing a client id reaches nothing of it); a refresh token is only good for its own client."""
    body = call.body if isinstance(call.body, dict) else {}
    spec = call.provider.oauth or OAuth()
    grant = body.get("grant_type")
    if not grant:
        return _oauth_error(400, "invalid_request", "Missing required parameter: grant_type.")
    if grant not in ("client_credentials", "authorization_code", "refresh_token"):
        return _oauth_error(400, "unsupported_grant_type",
                            "The authorization grant type is not supported by the authorization server.")
    owner = _client(call, body)
    if owner is None:
        return _oauth_error(401, "invalid_client", "Client authentication failed due to unknown client, no client "
                            "authentication included, or unsupported authentication method.")
    if grant == "authorization_code" and not body.get("code"):
        return _oauth_error(400, "invalid_request", "Missing required parameter: code.")
    if grant == "refresh_token":
        tokens = call.state.store.provider_tokens(call.provider.name)
        old = next((t for t, v in tokens.items() if v.refresh == body.get("refresh_token") and v.owner == owner), None)
        if old is None:
            return _oauth_error(400, "invalid_grant", "The provided authorization grant is invalid, "
                                "expired, revoked, does not match the redirection URI used in the "
                                "authorization request, or was issued to another client.")
        del tokens[old]
    ids, now = call.state.ids, call.state.clock.wall()
    expires_in = spec.expires_in
    scope = body.get("scope") or spec.scope
    access = ids.generate(spec.token)
    refresh = ids.generate(spec.token)
    token = Token(owner, now + timedelta(seconds=expires_in), refresh, scope)
    call.state.store.issue(call.provider.name, access, token, now)
    return Reply(200, fill(spec.answer, {"access_token": access, "refresh_token": refresh, "expires_in": expires_in,
                                         "scope": scope, "created_at": int(now.timestamp())}))


ACTIONS: dict[str, Action] = {
    "list": list_records,
    "create": create,
    "retrieve": retrieve,
    "update": update,
    "replace": replace,
    "delete": delete,
    "oauth_token": oauth_token,
    "simulate": simulate,
    "event_catalogue": event_catalogue,
    "describe": describe,
}
# Actions that act for a caller without credentials of the provider's API.
PUBLIC_ACTIONS = {"oauth_token", "describe"}
