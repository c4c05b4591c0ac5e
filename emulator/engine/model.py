"""The fixture language as types: each section of a provider fixture is a frozen, slotted dataclass,
parsed once at load from the (already meta-schema-valid) YAML document.

Every default of the language is the default of a field here, and only here:
`schemas/fixture.schema.json` documents each key with the same default (tests/test_fixture_model.py
holds the two to each other). A field's YAML key is its name, unless its metadata names another
(`from`, `list`). Templates (JSON values whose strings hold `{placeholders}`) stay as written:
`Any`; an id generator is its name (`objectid`, `uuid4`) or a Token.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import UnionType
from typing import Any

# What a notification's `authenticity` advice says when a provider that signs nothing gives none.
DEFAULT_AUTHENTICITY = ("Treat a notification as a hint: fetch the object it names from the provider's API before "
                        "acting on it, and keep the endpoint's URL unguessable.")
# The OAuth token endpoint's answer when the fixture's `oauth.answer` gives no other (RFC 6749 section 5.1).
DEFAULT_TOKEN_ANSWER = {"access_token": "{access_token}", "token_type": "bearer", "expires_in": "{expires_in}",
                        "refresh_token": "{refresh_token}", "scope": "{scope}"}


def _key(name: str) -> dict[str, str]:
    return {"key": name}


# -- id generators ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class Token:
    """An id generator of `token` random characters of an alphabet: a named one (`hex`,
    `lower_alnum`, `alnum`, `urlsafe`; see engine/ids.py) or the characters themselves."""

    token: int
    alphabet: str = "hex"


# An id generator: `objectid`, `uuid4`, or a Token.
Generator = str | Token
# What a webhook's signing secret is made with when its field names no generator of its own.
DEFAULT_SECRET = Token(token=32)


# -- auth ------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class Credential:
    """One place a credential is read from: a header (optionally matched by `pattern`), a query
    parameter or a field of the JSON body."""

    header: str | None = None
    query: str | None = None
    body: str | None = None
    pattern: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Auth:
    credentials: tuple[Credential, ...]
    required_when_strict: tuple[Credential, ...] = ()
    scope_header: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OAuth:
    expires_in: int = 7200
    scope: str = ""
    token: Generator = field(default_factory=lambda: Token(token=64))
    answer: Any = field(default_factory=lambda: dict(DEFAULT_TOKEN_ANSWER))


# -- request bodies --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class ContentTypes:
    """The media types whose bodies the provider reads, and what --strict does with another:
    `unsupported_media_type`, `ignore_body` or `lenient` (see the meta-schema)."""

    accepted: tuple[str, ...] = ("application/json",)
    strict_error: str = "unsupported_media_type"

    def reads(self, header: str | None) -> bool:
        """Whether the provider reads a body sent with this Content-Type header (None: none sent)."""
        media = (header or "").split(";", 1)[0].strip().lower()
        return media in (m.lower() for m in self.accepted)


# -- errors ----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorKind:
    """One kind of error: its status and message (None: the kind's usual ones, see engine/errors.py),
    a body of its own (None: the section's `body`) and extra headers."""

    status: int | None = None
    message: str | None = None
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Language:
    """The messages of one Accept-Language: per error kind, and per validation message key."""

    kinds: Mapping[str, str] = field(default_factory=dict)
    messages: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Errors:
    schema: str | None = None
    body: Any
    non_field_key: str = "non_field_errors"
    kinds: Mapping[str, ErrorKind] = field(default_factory=dict)
    messages: Mapping[str, str] = field(default_factory=dict)
    languages: Mapping[str, Language] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Idempotency:
    header: str
    ttl: float
    methods: tuple[str, ...] = ("POST",)


# -- the resource ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class FieldSpec:
    """One field of a provider's resource: where its value comes from and how it is rendered."""

    name: str = field(metadata={"from_key": True})
    source: str | None = field(default=None, metadata=_key("from"))  # id, created, ...; None: the body
    default: Any = None
    generate: Generator | None = None
    writable: bool | None = None  # None: True for a body field, False for one with `from`
    hidden: bool = False
    format: str | None = None
    tz: str | None = None
    wrap: str | None = None
    coerce: str | None = None  # `string`: a number given for the field is read as its text

    def __post_init__(self) -> None:
        if self.writable is None:
            object.__setattr__(self, "writable", self.source is None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Scope:
    field: str
    unscoped: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource:
    name: str
    schema: str | None = None
    id: Generator
    soft_delete: str | None = None
    scope: Scope | None = None
    fields: Mapping[str, FieldSpec]


@dataclass(frozen=True, slots=True, kw_only=True)
class View:
    """A named rendering: fields left out, and fields rendered otherwise (each merged over the
    resource's own `from`, `format`, `tz` and `wrap` at load)."""

    omit: tuple[str, ...] = ()
    fields: Mapping[str, FieldSpec] = field(default_factory=dict)


# -- lists -----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class Unusable:
    """Per paging role, what a value that is not a usable integer gets: `error` or `default`."""

    page: str = "error"
    size: str = "error"
    offset: str = "error"
    limit: str = "error"


@dataclass(frozen=True, slots=True, kw_only=True)
class Paging:
    style: str = "offset"
    page: str = "page"
    size: str = "size"
    default_size: int = 10
    max_size: int | None = None
    first: int = 0
    links: bool = False
    first_in_links: bool = False
    out_of_range: str = "empty"
    total_header: str | None = None
    offset: str = "offset"
    limit: str = "limit"
    default_limit: int | None = None
    after: str | None = None
    unusable: Unusable = field(default_factory=Unusable)

    def param(self, role: str) -> str:
        """The query parameter of a paging role (page, size, offset or limit)."""
        return str(getattr(self, role))


@dataclass(frozen=True, slots=True, kw_only=True)
class Sort:
    param: str
    default: str
    keys: Mapping[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class Search:
    """A query parameter whose text a listed webhook must contain in one of `fields`."""

    param: str
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class DateRange:
    """Query parameters bounding a time (epoch numbers), and the one naming which time (a sort key)."""

    since: str = field(metadata=_key("from"))
    until: str = field(metadata=_key("to"))
    field_param: str | None = None
    default: str = "created"


@dataclass(frozen=True, slots=True, kw_only=True)
class Listing:
    body: Any = "{items}"
    paging: Paging = field(default_factory=Paging)
    sort: Sort | None = None
    filters: Mapping[str, str] = field(default_factory=dict)
    filter_suffixes: Mapping[str, str] = field(default_factory=dict)
    equals: Mapping[str, str] = field(default_factory=dict)  # query parameter -> the stored field it must equal
    search: Search | None = None
    date_range: DateRange | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteSpec:
    method: str
    path: str
    action: str
    status: int = 200
    request: str | None = None
    view: str = "default"
    body: Any = None
    response: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


# -- events ----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class FreshTime:
    """A fresh variable that is the firing's time in a format (and time zone)."""

    time: str
    tz: str | None = None
    before: float = 0  # seconds before the firing's time


@dataclass(frozen=True, slots=True, kw_only=True)
class FreshValue:
    """A fresh variable that is a constant a caller may override."""

    value: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EventSpec:
    ref: str | None = None  # the id the provider's event catalogue gives it: one more name it answers to
    values: Mapping[str, Any] = field(default_factory=dict)  # this event's own constants, e.g. its object's type
    schema: str | None = None
    sample: Any


def _fresh(value: Any) -> Any:
    """A fresh variable's spec: FreshTime, FreshValue, or an id generator."""
    if isinstance(value, dict) and "time" in value:
        return parse(FreshTime, value)
    if isinstance(value, dict) and "value" in value:
        return parse(FreshValue, value)
    return _convert(Generator, value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Events:
    id: Generator = "uuid4"
    fresh: Mapping[str, Any] = field(default_factory=dict, metadata={"each": _fresh})
    shared: tuple[str, ...] = ()  # fresh variables one firing's events share (one job, one user)
    aliases: Mapping[str, str] = field(default_factory=dict)
    catalogue_entry: Any = None  # how the `event_catalogue` route shows one event with a `ref`
    catalogue: Mapping[str, EventSpec]

    def __post_init__(self) -> None:
        refs = {spec.ref: name for name, spec in self.catalogue.items() if spec.ref}
        if refs:  # an event's `ref` is one more name it answers to
            object.__setattr__(self, "aliases", {**refs, **self.aliases})


# -- delivery --------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class PayloadMatch:
    """A webhook field that, when set (not null), must equal a field of the event's payload."""

    webhook: str
    payload: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscribers:
    field: str | None = None
    match: str
    skip_when: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # (`field` is a key here)
    payload_match: PayloadMatch | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Signature:
    scheme: str = "none"
    header: str | None = None
    secret_field: str | None = None
    message: str = "{body}"
    value: str = "{digest}"
    ttl: int = 300
    claims: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Retry:
    retries: int = 5
    backoff: str = "exponential"
    initial: float = 1
    factor: float = 2

    def delays(self) -> list[float]:
        """Seconds to wait before each retry."""
        if self.backoff == "fixed":
            return [float(self.initial)] * self.retries
        return [float(self.initial * self.factor ** n) for n in range(self.retries)]


@dataclass(frozen=True, slots=True, kw_only=True)
class FailureCounter:
    field: str
    limit: int | None = None
    then: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # (`field` is a key here)
    touch: bool = False  # what `then` sets is a change: the webhook's modified time moves


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverySpec:
    subscribers: Subscribers
    url_field: str
    headers_field: str | None = None
    delay_field: str | None = None
    group_field: str | None = None
    schema: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    entry: Any = None
    body: Any = "{payload}"
    signature: Signature = field(default_factory=Signature)
    success: tuple[int, ...] | None = None  # None: any 2xx
    authenticity: str = DEFAULT_AUTHENTICITY
    retry: Retry = field(default_factory=Retry)
    timeout: float = 10
    failure_counter: FailureCounter | None = None

    def is_success(self, status: int) -> bool:
        """Whether a receiver's status counts as delivered: the `success` list, else 2xx."""
        return status in self.success if self.success else 200 <= status < 300


# -- objects: what notifications point to ------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectZip:
    """A route that answers a ZIP archive: one entry per object, named by a field, holding the
    base64-decoded `content` field (None: the object as JSON)."""

    name: str
    content: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectOptions:
    """What OPTIONS on an object route answers (a metadata document, a CORS preflight)."""

    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    response: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectRoute:
    """One GET route of an object kind: one object by its id, or a list (filtered, paged)."""

    path: str
    answer: str  # one | list
    body: Any = None  # None: "{object}" (one), the provider's `list.body` (list)
    filters: Mapping[str, str] = field(default_factory=dict)
    decode: tuple[str, ...] = ()
    zip: ObjectZip | None = None
    response: str | None = None
    options: ObjectOptions | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectKind:
    """One kind of object the provider's notifications refer to (a payout, a product, a credential)."""

    name: str = field(metadata={"from_key": True})
    schema: str
    id: str = "id"  # the field holding its id, dotted for a nested one (`_id.$oid`)
    generate: Any = "uuid4"
    scoped: bool = False
    new: Any = field(default_factory=dict)
    at: Mapping[str, Any] = field(default_factory=dict)  # paths (`[]`: each element) set on a new object
    hidden: tuple[str, ...] = ()
    soft_delete: str | None = None
    deleted_answer: str = "not_found"
    not_found: str | None = None  # its 404's message; unsaid: the provider's, `{detail}` the kind's name
    times: Mapping[str, str] = field(default_factory=dict)  # `created`/`updated` -> the field holding it
    routes: tuple[ObjectRoute, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectEffect:
    """What one event does to one kind of object in the tenant it is fired for."""

    kind: str
    id: Any = None
    ensure: int | None = None
    object: Any = None
    exact: bool = False  # the object is `object` as it is (the notified one), nothing of the sample's
    assign: Any = field(default_factory=dict, metadata=_key("set"))
    delete: bool = False
    if_missing: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Objects:
    pool: str | None = None  # None: the provider's name
    cap: int = 1000
    fresh: Mapping[str, Any] = field(default_factory=dict, metadata={"each": _fresh})
    kinds: Mapping[str, ObjectKind]
    events: Mapping[str, tuple[ObjectEffect, ...]] = field(default_factory=dict)


# -- the whole fixture -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class Fixture:
    """One provider's fixture, every section typed. `title` and `base_path` None: the name and the
    first prefix."""

    name: str
    extends: str | None = None
    title: str | None = None
    prefixes: tuple[str, ...]
    base_path: str | None = None
    trailing_slash: str = "strict"
    method_override: str | None = None
    allow: tuple[str, ...] = ()  # the Allow header's order (unsaid: alphabetical, without HEAD)
    format_suffix: str | None = None  # every route's path ends with it; another suffix is not_acceptable
    dashboard: bool = False
    content_types: ContentTypes = field(default_factory=ContentTypes)
    auth: Auth
    oauth: OAuth | None = None
    envelope: Any = None
    errors: Errors
    idempotency: Idempotency | None = None
    resource: Resource
    views: Mapping[str, View] = field(default_factory=dict)
    listing: Listing = field(default_factory=Listing, metadata=_key("list"))
    routes: tuple[RouteSpec, ...]
    events: Events | None = None
    delivery: DeliverySpec | None = None
    objects: Objects | None = None


def yaml_key(f: dataclasses.Field[Any]) -> str:
    """The YAML key of a model field."""
    return str(f.metadata.get("key", f.name))


# How a value of the fixture becomes a model value (None: as it is).
Convert = Callable[[Any], Any] | None


@functools.cache
def _fields(cls: type) -> tuple[tuple[str, str, bool, Convert], ...]:
    """Each field of a model dataclass as `parse` fills it: its name, its YAML key, whether it is
    the mapping's key (`from_key`), and how its value is converted (worked out once per class)."""
    hints = typing.get_type_hints(cls)
    return tuple((f.name, yaml_key(f), bool(f.metadata.get("from_key")),
                  _converter(hints[f.name], f.metadata.get("each"))) for f in dataclasses.fields(cls))


def parse(cls: type, data: Any, name: str | None = None) -> Any:
    """A model dataclass from its section of a (meta-schema-valid) fixture; absent keys take the
    field's default. `name` fills a field marked `from_key` (a mapping's key)."""
    data = data or {}
    given: dict[str, Any] = {}
    for field_name, key, from_key, convert in _fields(cls):
        if from_key:
            given[field_name] = name
        elif key in data:
            given[field_name] = data[key] if convert is None else convert(data[key])
    return cls(**given)


def _convert(tp: Any, value: Any) -> Any:
    """`value` as the annotated type `tp` (see _converter)."""
    convert = _converter(tp)
    return value if convert is None else convert(value)


@functools.cache
def _converter(tp: Any, each: Convert = None) -> Convert:
    """How a value becomes the annotated type `tp`: dataclasses parsed, sequences made tuples,
    mappings' values converted (each by `each`, when the field names one); None: as it is."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is UnionType or origin is typing.Union:
        members = [a for a in args if a is not type(None)]  # (an object is the member that is a dataclass)
        obj: Any = next((a for a in members if dataclasses.is_dataclass(a)), None)
        first, as_obj = _converter(members[0], each), _converter(obj, each) if obj is not None else None

        def union(value: Any) -> Any:
            if value is None:
                return None
            convert = as_obj if obj is not None and isinstance(value, dict) else first
            return value if convert is None else convert(value)
        return union
    if dataclasses.is_dataclass(tp):
        return functools.partial(parse, tp)  # type: ignore[arg-type]
    if origin is tuple:
        item = _converter(args[0])
        return tuple if item is None else lambda value: tuple(map(item, value))
    if origin is Mapping:
        member = args[1]
        if each is not None:
            return lambda value: {k: each(v) for k, v in value.items()}
        if dataclasses.is_dataclass(member):
            return lambda value: {k: parse(member, v, k) for k, v in value.items()}  # type: ignore[arg-type]
        convert = _converter(member)
        return dict if convert is None else lambda value: {k: convert(v) for k, v in value.items()}
    return None


def parse_fixture(raw: dict[str, Any]) -> Fixture:
    """The typed fixture of a meta-schema-valid document; each view's field overrides are merged
    over the resource field's own rendering keys first."""
    fields = raw["resource"]["fields"]
    views = {}
    for view_name, view in (raw.get("views") or {}).items():
        overrides = {}
        for field_name, override in (view.get("fields") or {}).items():
            own = fields.get(field_name) or {}
            overrides[field_name] = {k: own[k] for k in ("from", "format", "tz", "wrap") if k in own} | (override or {})
        views[view_name] = {**view, "fields": overrides}
    return parse(Fixture, {**raw, "views": views})  # type: ignore[no-any-return]
