"""Load provider fixtures (YAML) and their JSON Schemas into typed, ready-to-serve Provider objects.

A fixture is validated against `schemas/fixture.schema.json` first; a broken one raises
`FixtureError` whose message is one line naming the file and the place inside it.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing import Resource as SchemaResource
from referencing.jsonschema import DRAFT202012

from emulator.engine.fast_validation import TwoTierValidator, fast_registry, schema_is_valid, two_tier
from emulator.engine.formats import FORMAT_CHECKER
from emulator.engine.model import (
    Auth,
    DeliverySpec,
    Errors,
    Events,
    FieldSpec,
    Fixture,
    Idempotency,
    Listing,
    OAuth,
    Resource,
    RouteSpec,
    parse_fixture,
)
from emulator.engine.render import compile_template, deep_merge

# libyaml's loader where PyYAML was built with it: the same documents, several times faster.
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SCHEMA_BASE = "https://webhook-emulator.local/schemas/"
# What a provider's envelope wraps around each response body (see app._reply_response).
ENVELOPE_VALUES = ("status", "body", "rid")


class FixtureError(Exception):
    """A fixture or schema cannot be used; the message is one line naming the file and place."""


def data_dir() -> Path:
    """Where the built-in fixtures/ and schemas/ live: inside the wheel, or the source tree."""
    package = Path(__file__).parent.parent  # emulator/
    packaged = package / "_data"
    return packaged if packaged.is_dir() else package.parent


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class Provider:
    """Everything the engine knows about one provider: its fixture's typed sections, its compiled
    routes and views, and its schemas. The engine reads these attributes and nothing else."""

    name: str
    title: str
    source: Path
    prefixes: tuple[str, ...]
    base_path: str
    trailing_slash: str
    method_override: str | None
    dashboard: bool
    auth: Auth
    body_credentials: tuple[str, ...]  # body fields that carry a credential: not stored with the webhook
    oauth: OAuth | None
    envelope: Any
    # The envelope as compact JSON around its {status}, {body} and {rid} (render.compile_template).
    envelope_parts: list[str | bytes] | None
    errors: Errors
    idempotency: Idempotency | None
    resource: Resource
    fields: Mapping[str, FieldSpec]
    client_id_field: str | None  # the field a client may choose the id with, if any
    views: Mapping[str, tuple[FieldSpec, ...]]
    listing: Listing
    routes: tuple[Route, ...]
    events: Events | None
    delivery: DeliverySpec | None
    registry: Registry = field(repr=False)
    fast_registry: Any = field(repr=False)  # the schemas again, for the fast tier of validation
    # The fixture document as read (after `extends`), for check-like tooling only: the engine never reads it.
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    def schema_uri(self, name: str) -> str:
        """The registry URI of one of this provider's schema files (relative to its folder)."""
        return _schema_uri(self.name, name)

    def schema(self, name: str) -> dict[str, Any]:
        """One of this provider's schemas, as written."""
        return self.registry.contents(self.schema_uri(name))  # type: ignore[no-any-return]

    def validator(self, name: str) -> TwoTierValidator:
        """A validator for one of this provider's schemas, with `$ref`s resolved."""
        return _validator(self.name, self.registry, self.fast_registry, name)


def _schema_uri(provider: str, name: str) -> str:
    return f"{SCHEMA_BASE}{provider}/{name}"


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
    """Every JSON file under schemas/<name>/ (and the shared schemas/common/) in one registry; a
    schema that names no `$schema` is read as draft 2020-12."""
    registry = Registry()
    roots = [(schema_dir / name, name), (data_dir() / "schemas" / "common", "common")]
    for root, prefix in roots:
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*.json")):
            contents = _load_json(path)
            if not isinstance(contents, dict):
                raise FixtureError(f"{path}: a JSON Schema file must hold an object")
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
            resource = SchemaResource.from_contents(contents, default_specification=DRAFT202012)
            registry = registry.with_resource(uri, resource)
    return registry


def _extended(path: Path, raw: Any, seen: tuple[Path, ...] = ()) -> Any:
    """A fixture document with the fixture its `extends` names laid under it: objects merge key by
    key, any other value of this document replaces the other's, and `name` is never inherited."""
    if not isinstance(raw, dict) or "extends" not in raw:
        return raw
    wanted = raw["extends"]
    folders = (path.parent, data_dir() / "fixtures")
    candidates = [folder / sub / f"{wanted}.yaml" for folder in folders for sub in ("common", "")]
    found = next((p for p in candidates if isinstance(wanted, str) and p.is_file() and p not in seen), None)
    if found is None:
        why = "it extends itself" if any(p in seen for p in candidates) else "no such fixture"
        raise FixtureError(f"{path}: at $.extends: cannot extend {wanted!r}: {why} (looked for common/{wanted}.yaml "
                           f"and {wanted}.yaml beside it and among the built-in fixtures)")
    base = _extended(found, read_yaml(found, FixtureError), (*seen, path))
    if not isinstance(base, dict):
        raise FixtureError(f"{found}: a fixture is a mapping of keys")
    base = {k: v for k, v in base.items() if k not in ("name", "extends")}
    return deep_merge(base, raw)


def load_provider(path: Path, schema_dir: Path, meta: TwoTierValidator | None = None) -> Provider:
    """Read one fixture file (laid over the one it `extends`) and the schemas it names; raise
    FixtureError on any problem."""
    raw = _extended(path, read_yaml(path, FixtureError), (path,))
    meta = meta or _meta_validator()
    errors = sorted(meta.iter_errors(raw), key=lambda e: list(e.absolute_path))
    if errors:
        raise FixtureError("\n".join(f"{path}: at {e.json_path}: {e.message}" for e in errors))
    fixture = parse_fixture(raw)
    name = fixture.name
    registry = _schema_registry(name, schema_dir)
    fields = fixture.resource.fields
    views = _views(fixture)
    problems = [f"{path}: at $.routes[{i}].view: no view named {r.view!r}"
                for i, r in enumerate(fixture.routes) if r.view not in views]
    problems += [f"{path}: at $.routes[{i}].action: 'simulate' needs a delivery section"
                 for i, r in enumerate(fixture.routes) if r.action == "simulate" and fixture.delivery is None]
    soft = fixture.resource.soft_delete
    if soft is not None and soft not in fields:
        problems.append(f"{path}: at $.resource.soft_delete: no field named {soft!r} in $.resource.fields")
    problems += [f"{path}: at {where}: schema {schema!r} not found in {schema_dir / name}"
                 for where, schema in _schema_names(fixture) if _schema_uri(name, schema) not in registry]
    from emulator.engine.fixture_lint import fixture_problems  # (it reads the engine, which reads this module)
    problems += fixture_problems(path, raw, schema_dir / name)
    if problems:
        raise FixtureError("\n".join(problems))
    fast = fast_registry((uri, resource.contents) for uri, resource in registry.items())
    return Provider(
        name=name,
        title=fixture.title or name,
        source=path,
        prefixes=fixture.prefixes,
        base_path=fixture.base_path or fixture.prefixes[0],
        trailing_slash=fixture.trailing_slash,
        method_override=fixture.method_override,
        dashboard=fixture.dashboard,
        auth=fixture.auth,
        body_credentials=tuple(c.body for c in fixture.auth.credentials if c.body is not None),
        oauth=fixture.oauth,
        envelope=fixture.envelope,
        envelope_parts=compile_template(fixture.envelope, ENVELOPE_VALUES),
        errors=fixture.errors,
        idempotency=fixture.idempotency,
        resource=fixture.resource,
        fields=fields,
        client_id_field=next((f.name for f in fields.values() if f.source == "id" and f.writable), None),
        views=views,
        listing=fixture.listing,
        routes=tuple(_route(name, registry, fast, r) for r in fixture.routes),
        events=fixture.events,
        delivery=fixture.delivery,
        registry=registry,
        fast_registry=fast,
        raw=raw,
    )


def _schema_names(fixture: Fixture) -> list[tuple[str, str]]:
    """Every schema file a fixture names, with the place it names it."""
    names = [(f"$.routes[{i}].{key}", schema) for i, r in enumerate(fixture.routes)
             for key, schema in (("request", r.request), ("response", r.response)) if schema]
    names += [(f"$.{sect}.schema", schema) for sect, schema in (("resource", fixture.resource.schema),
                                                                 ("errors", fixture.errors.schema)) if schema]
    if fixture.events is not None:
        names += [(f"$.events.catalogue.{n}.schema", e.schema) for n, e in fixture.events.catalogue.items()
                  if e.schema]
    if fixture.delivery is not None and fixture.delivery.schema:
        names.append(("$.delivery.schema", fixture.delivery.schema))
    return names


def _views(fixture: Fixture) -> dict[str, tuple[FieldSpec, ...]]:
    """The default view (every field not hidden) and each named view's omissions and overrides."""
    default = tuple(f for f in fixture.resource.fields.values() if not f.hidden)
    result = {"default": default}
    for view_name, view in fixture.views.items():
        result[view_name] = tuple(view.fields.get(f.name, f) for f in default if f.name not in view.omit)
    return result


def _validator(name: str, registry: Registry, fast: Any, schema: str) -> TwoTierValidator:
    return two_tier({"$ref": _schema_uri(name, schema)}, registry=fast, exact_registry=registry,
                    checker=FORMAT_CHECKER)


def _route(name: str, registry: Registry, fast: Any, spec: RouteSpec) -> Route:
    pattern, literal = _compile_path(spec.path)
    return Route(
        method=spec.method.upper(),
        path=spec.path,
        action=spec.action,
        pattern=pattern,
        literal_length=literal,
        status=spec.status,
        request=_validator(name, registry, fast, spec.request) if spec.request else None,
        request_schema=spec.request,
        response_schema=spec.response,
        view=spec.view,
        body=spec.body,
        has_body=spec.body is not None,
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
    files = [p for fixture_dir, schema_dir in sources
             for p in (*fixture_files(fixture_dir), *(fixture_dir / "common").glob("*.y*ml"), *schema_dir.rglob("*"))]
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
