"""Load provider fixtures (YAML) and their JSON Schemas into typed, ready-to-serve Provider objects.

A fixture is validated against `schemas/fixture.schema.json` first; a broken one raises
`FixtureError` whose message is one line naming the file and the place inside it.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from emulator.engine.fast_validation import TwoTierValidator, fast_registry, schema_is_valid, two_tier
from emulator.engine.render import compile_template

# libyaml's loader where PyYAML was built with it: the same documents, several times faster.
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SCHEMA_BASE = "https://webhook-emulator.local/schemas/"
FORMAT_CHECKER = FormatChecker()
# What a provider's envelope wraps around each response body (see app._reply_response).
ENVELOPE_VALUES = ("status", "body", "rid")


@FORMAT_CHECKER.checks("http-url")
def is_http_url(value: object) -> bool:
    """An absolute http(s) URL with a host and no spaces or control characters, as the providers'
    URL fields require."""
    if not isinstance(value, str):
        return True
    return re.fullmatch(r"https?://[^\s\x00-\x1f\x7f/?#]+[^\s\x00-\x1f\x7f]*", value) is not None


# Headers that say how a message is framed or where it goes: a webhook's custom headers may not set them.
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "content-encoding", "host", "expect", "connection",
                             "keep-alive", "upgrade", "te", "trailer", "proxy-connection", "http2-settings"})


@FORMAT_CHECKER.checks("header-name")
def is_header_name(value: object) -> bool:
    """An HTTP header name a webhook may send: a token (RFC 9110), so it cannot smuggle another
    header in, and none of the FRAMING_HEADERS."""
    return not isinstance(value, str) or (re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", value) is not None
                                          and value.lower() not in FRAMING_HEADERS)


@FORMAT_CHECKER.checks("header-value")
def is_header_value(value: object) -> bool:
    """An HTTP header value: no control characters but tab (no CR/LF to end the header early)."""
    return not isinstance(value, str) or re.search(r"[\x00-\x08\x0a-\x1f\x7f]", value) is None


class FixtureError(Exception):
    """A fixture or schema cannot be used; the message is one line naming the file and place."""


def data_dir() -> Path:
    """Where the built-in fixtures/ and schemas/ live: inside the wheel, or the source tree."""
    package = Path(__file__).parent.parent  # emulator/
    packaged = package / "_data"
    return packaged if packaged.is_dir() else package.parent


@dataclass(frozen=True)
class FieldSpec:
    """One field of a provider's resource: where its value comes from and how it is rendered."""

    name: str
    source: str | None = None  # id | created | updated | modified | tenant_ref | deleted; None: the body
    default: Any = None
    generate: Any = None
    writable: bool = True
    hidden: bool = False
    format: str | None = None
    tz: str | None = None
    wrap: str | None = None

    @classmethod
    def parse(cls, name: str, spec: dict[str, Any]) -> FieldSpec:
        source = spec.get("from")
        return cls(
            name=name,
            source=source,
            default=spec.get("default"),
            generate=spec.get("generate"),
            writable=spec.get("writable", source is None),
            hidden=spec.get("hidden", False),
            format=spec.get("format"),
            tz=spec.get("tz"),
            wrap=spec.get("wrap"),
        )


@dataclass(frozen=True)
class Route:
    """One method + path of a provider's API and the generic action that serves it."""

    method: str
    path: str
    action: str
    pattern: re.Pattern[str]
    literal_length: int
    status: int = 200
    request: TwoTierValidator | None = None
    request_schema: str | None = None
    response_schema: str | None = None
    view: str = "default"
    body: Any = None
    has_body: bool = False


@dataclass
class Provider:
    """Everything the engine knows about one provider, read from its fixture."""

    name: str
    title: str
    source: Path
    prefixes: list[str]
    base_path: str
    trailing_slash: str
    routes: list[Route]
    auth: dict[str, Any]
    body_credentials: list[str]  # body fields that carry a credential: not stored with the webhook
    errors: dict[str, Any]
    resource: dict[str, Any]
    fields: dict[str, FieldSpec]
    client_id_field: str | None  # the field a client may choose the id with, if any
    views: dict[str, list[FieldSpec]]
    listing: dict[str, Any]
    envelope: Any
    # The envelope as compact JSON around its {status}, {body} and {rid} (render.compile_template).
    envelope_parts: list[str | bytes] | None
    idempotency: dict[str, Any] | None
    method_override: str | None
    oauth: dict[str, Any] | None
    raw: dict[str, Any]
    registry: Registry = field(repr=False, default_factory=Registry)

    def schema_uri(self, name: str) -> str:
        """The registry URI of one of this provider's schema files (relative to its folder)."""
        return f"{SCHEMA_BASE}{self.name}/{name}"

    def schema(self, name: str) -> dict[str, Any]:
        """One of this provider's schemas, as written."""
        return self.registry.contents(self.schema_uri(name))  # type: ignore[no-any-return]

    @functools.cached_property
    def fast_registry(self) -> Any:
        """The schemas again, for the fast tier of validation."""
        return fast_registry((uri, resource.contents) for uri, resource in self.registry.items())

    def validator(self, name: str) -> TwoTierValidator:
        """A validator for one of this provider's schemas, with `$ref`s resolved."""
        return two_tier({"$ref": self.schema_uri(name)}, registry=self.fast_registry, exact_registry=self.registry,
                        checker=FORMAT_CHECKER)


def _compile_path(template: str) -> tuple[re.Pattern[str], int]:
    """`/v2/webhooks/{id}/` -> an anchored regex with named groups, and its literal length."""
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+?)" for i, part in enumerate(parts)
    )
    literal = sum(len(part) for part in parts[::2])
    return re.compile(f"^{regex}$"), literal


def read_yaml(path: Path, error: type[Exception], problem: str = "invalid YAML") -> Any:
    """A YAML (or JSON) file's contents; otherwise `error`, one line naming the file and the line."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}:" if mark else ""
        detail = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{path}:{where} {problem}: {detail}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise FixtureError(f"{path}: line {exc.lineno}: invalid JSON: {exc.msg}") from None
    except OSError as exc:
        raise FixtureError(f"{path}: cannot read: {exc.strerror}") from None


def _meta_validator() -> TwoTierValidator:
    return two_tier(_load_json(data_dir() / "schemas" / "fixture.schema.json"))


def _schema_registry(name: str, schema_dir: Path) -> Registry:
    """Every JSON file under schemas/<name>/ (and the shared schemas/common/) in one registry."""
    registry = Registry()
    roots = [(schema_dir / name, name), (data_dir() / "schemas" / "common", "common")]
    for root, prefix in roots:
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*.json")):
            contents = _load_json(path)
            rel = path.relative_to(root).as_posix()
            uri = f"{SCHEMA_BASE}{prefix}/{rel}"
            contents.setdefault("$id", uri)
            try:
                if not schema_is_valid(contents):  # the fast check; jsonschema explains what is wrong
                    Draft202012Validator.check_schema(contents)
            except Exception as exc:
                where = "/".join(str(p) for p in getattr(exc, "absolute_path", []))
                message = getattr(exc, "message", str(exc))
                raise FixtureError(f"{path}: invalid JSON Schema at /{where}: {message}") from None
            registry = registry.with_resource(uri, Resource.from_contents(contents))
    return registry


def load_provider(path: Path, schema_dir: Path, meta: TwoTierValidator | None = None) -> Provider:
    """Read one fixture file and the schemas it names; raise FixtureError on any problem."""
    raw = read_yaml(path, FixtureError)
    meta = meta or _meta_validator()
    errors = sorted(meta.iter_errors(raw), key=lambda e: list(e.absolute_path))
    if errors:
        raise FixtureError("\n".join(f"{path}: at {e.json_path}: {e.message}" for e in errors))
    name = raw["name"]
    registry = _schema_registry(name, schema_dir)
    fields = {n: FieldSpec.parse(n, s or {}) for n, s in raw["resource"]["fields"].items()}
    provider = Provider(
        name=name,
        title=raw.get("title", name),
        source=path,
        prefixes=raw["prefixes"],
        base_path=raw.get("base_path", raw["prefixes"][0]),
        trailing_slash=raw.get("trailing_slash", "strict"),
        routes=[],
        auth=raw["auth"],
        body_credentials=[source["body"] for source in raw["auth"]["credentials"] if "body" in source],
        errors=raw["errors"],
        resource=raw["resource"],
        fields=fields,
        client_id_field=next((f.name for f in fields.values() if f.source == "id" and f.writable), None),
        views={},
        listing=raw.get("list", {}),
        envelope=raw.get("envelope"),
        envelope_parts=compile_template(raw.get("envelope"), ENVELOPE_VALUES),
        idempotency=raw.get("idempotency"),
        method_override=raw.get("method_override"),
        oauth=raw.get("oauth"),
        raw=raw,
        registry=registry,
    )
    provider.views = _views(provider, raw.get("views", {}))
    problems = [f"{path}: at $.routes[{i}].view: no view named {r['view']!r}"
                for i, r in enumerate(raw["routes"]) if r.get("view", "default") not in provider.views]
    problems += [f"{path}: at $.routes[{i}].action: 'simulate' needs a delivery section"
                 for i, r in enumerate(raw["routes"]) if r["action"] == "simulate" and not raw.get("delivery")]
    problems += [f"{path}: at {where}: schema {schema!r} not found in {schema_dir / name}"
                 for where, schema in _schema_names(raw) if provider.schema_uri(schema) not in registry]
    if problems:
        raise FixtureError("\n".join(problems))
    provider.routes = [_route(provider, i, r) for i, r in enumerate(raw["routes"])]
    return provider


def _schema_names(raw: dict[str, Any]) -> list[tuple[str, str]]:
    names = [(f"$.routes[{i}].{key}", r[key]) for i, r in enumerate(raw["routes"])
             for key in ("request", "response") if r.get(key)]
    names += [(f"$.{sect}.schema", raw[sect]["schema"]) for sect in ("resource", "errors")
              if raw.get(sect, {}).get("schema")]
    names += [(f"$.events.catalogue.{n}.schema", e["schema"])
              for n, e in raw.get("events", {}).get("catalogue", {}).items() if e.get("schema")]
    if raw.get("delivery", {}).get("schema"):
        names.append(("$.delivery.schema", raw["delivery"]["schema"]))
    return names


def _views(provider: Provider, views: dict[str, Any]) -> dict[str, list[FieldSpec]]:
    """The default view (every field not hidden) and each named view's omissions and overrides."""
    result = {"default": [f for f in provider.fields.values() if not f.hidden]}
    for view_name, view in views.items():
        omit = set(view.get("omit", []))
        overrides = view.get("fields", {})
        specs = []
        for f in result["default"]:
            if f.name in omit:
                continue
            if f.name in overrides:
                merged = {"from": f.source, "format": f.format, "tz": f.tz, "wrap": f.wrap,
                          **overrides[f.name]}
                f = FieldSpec.parse(f.name, merged)
            specs.append(f)
        result[view_name] = specs
    return result


def _route(provider: Provider, index: int, spec: dict[str, Any]) -> Route:
    pattern, literal = _compile_path(spec["path"])
    view = spec.get("view", "default")
    request = spec.get("request")
    return Route(
        method=spec["method"].upper(),
        path=spec["path"],
        action=spec["action"],
        pattern=pattern,
        literal_length=literal,
        status=spec.get("status", 200),
        request=provider.validator(request) if request else None,
        request_schema=request,
        response_schema=spec.get("response"),
        view=view,
        body=spec.get("body"),
        has_body="body" in spec,
    )


def load_providers(dirs: list[Path]) -> dict[str, Provider]:
    """The built-in providers plus every `*.yaml` in each extra fixtures dir (their schemas beside
    them in `schemas/`); a later provider with the same name replaces an earlier one.

    Providers are read-only once loaded, so loads are cached per set of files (keyed by their
    paths, sizes and modification times): starting many emulators in one process is cheap, and
    an edited fixture is read again."""
    builtin = data_dir()
    sources = [(builtin / "fixtures", builtin / "schemas")]
    problems = []
    for d in map(Path, dirs):
        if not d.is_dir():
            problems.append(f"{d}: fixtures directory not found")
        elif not fixture_files(d):
            problems.append(f"{d}: no fixture here (a provider is a *.yaml or *.yml file in the folder itself)")
        sources.append((d, d / "schemas"))
    if problems:
        raise FixtureError("\n".join(problems))
    return dict(_load_sources(tuple(sources), _fingerprint(sources, builtin / "schemas")))


def fixture_files(folder: Path) -> list[Path]:
    """The fixture files of one folder (`*.yaml` and `*.yml`), in name order."""
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def _fingerprint(sources: list[tuple[Path, Path]], shared: Path) -> tuple[tuple[str, int, int], ...]:
    files = [p for fixture_dir, schema_dir in sources for p in (*fixture_files(fixture_dir), *schema_dir.rglob("*"))]
    files += list(shared.rglob("*"))
    return tuple(sorted((str(p), s.st_mtime_ns, s.st_size) for p in files if p.is_file() for s in [p.stat()]))


@functools.lru_cache(maxsize=16)
def _load_sources(sources: tuple[tuple[Path, Path], ...], fingerprint: tuple[Any, ...]) -> dict[str, Provider]:
    """Every provider of these folders; FixtureError listing every problem of every file."""
    meta = _meta_validator()
    providers: dict[str, Provider] = {}
    problems = []
    for fixture_dir, schema_dir in sources:
        for path in fixture_files(fixture_dir):
            try:
                provider = load_provider(path, schema_dir, meta)
            except FixtureError as exc:
                problems.append(str(exc))
                continue
            providers[provider.name] = provider
    if problems:
        raise FixtureError("\n".join(problems))
    return providers
