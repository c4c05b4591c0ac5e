"""Load provider fixtures (YAML) and their JSON Schemas into typed, ready-to-serve Provider objects.

A fixture is validated against `schemas/fixture.schema.json` first; a broken one raises
`FixtureError` whose message is one line naming the file and the place inside it.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import gc
import json
import os
import re
import stat
from collections.abc import Iterator, Mapping
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
    ContentTypes,
    DeliverySpec,
    Errors,
    Events,
    FieldSpec,
    Fixture,
    Idempotency,
    Listing,
    OAuth,
    ObjectRoute,
    Objects,
    Resource,
    RouteSpec,
    parse_fixture,
)
from emulator.engine.render import compile_template, deep_merge
from emulator.engine.schema_files import at, content_problems, dialect_problem, place, unresolved_refs

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
    headers: Mapping[str, str] = field(default_factory=dict)
    kind: str | None = None  # the object kind of an `object_one` or `object_list` route
    object_route: ObjectRoute | None = None


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
    allow: tuple[str, ...]
    format_suffix: str | None
    dashboard: bool
    content_types: ContentTypes
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
    coerced: tuple[str, ...]  # fields whose numbers a body gives are read as text (`coerce: string`)
    views: Mapping[str, tuple[FieldSpec, ...]]
    listing: Listing
    routes: tuple[Route, ...]
    events: Events | None
    delivery: DeliverySpec | None
    objects: Objects | None
    object_pool: str  # whose stored objects this provider's are (`objects.pool`, else its name)
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

    def example(self, name: str) -> Any:
        """The first `examples` entry of one of this provider's schemas (or of the schema it `$ref`s), or None."""
        return first_example(self.registry, self.schema_uri(name))

    def validator(self, name: str) -> TwoTierValidator:
        """A validator for one of this provider's schemas, with `$ref`s resolved."""
        return _validator(self.name, self.registry, self.fast_registry, name)


def first_example(registry: Registry, uri: str) -> Any:
    """A schema's first `examples` entry, following its `$ref` when it has none of its own; None if none."""
    resolver = registry.resolver(base_uri=uri)
    contents = resolver.lookup(uri).contents
    for _ in range(8):  # (a chain of references is short)
        examples = contents.get("examples") if isinstance(contents, dict) else None
        if isinstance(examples, list) and examples:
            return examples[0]
        if not (isinstance(contents, dict) and isinstance(contents.get("$ref"), str)):
            return None
        resolved = resolver.lookup(contents["$ref"])
        contents, resolver = resolved.contents, resolved.resolver
    return None


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


class Reading:
    """What one load of providers has read that several fixtures share, so that it is read once:
    the fixtures an `extends` names (each fixture that extends one gets its own copy) and the
    shared schemas/common/ files (read-only once loaded, as every schema is)."""

    def __init__(self) -> None:
        self.documents: dict[Path, Any] = {}
        self.common: list[SchemaFile] | None = None

    def document(self, path: Path) -> Any:
        """The contents of a fixture file another extends, a copy of what was read."""
        if path not in self.documents:
            self.documents[path] = read_yaml(path, FixtureError)
        return copy.deepcopy(self.documents[path])

    def common_schemas(self) -> list[SchemaFile]:
        if self.common is None:
            self.common = schema_files(data_dir() / "schemas" / "common", "common")
        return self.common


# One JSON file of a schemas folder: its registry URI, its path, and its schema (its `$id` set)
# with the schema's registry resource, or the one-line problem that reading it is (and None).
SchemaFile = tuple[str, Path, dict[str, Any] | str, SchemaResource | None]


def schema_files(root: Path, prefix: str) -> list[SchemaFile]:
    """Every JSON file under `root` (none if it is no folder), in path order, its URI under `prefix`."""
    found: list[SchemaFile] = []
    for path in sorted(root.rglob("*.json")) if root.is_dir() else ():
        uri = f"{SCHEMA_BASE}{prefix}/{path.relative_to(root).as_posix()}"
        try:
            contents = _load_json(path)
        except FixtureError as exc:
            found.append((uri, path, str(exc), None))
            continue
        if not isinstance(contents, dict):
            found.append((uri, path, f"{path}: a JSON Schema file must hold an object", None))
            continue
        contents.setdefault("$id", uri)
        found.append((uri, path, contents, SchemaResource.from_contents(contents, default_specification=DRAFT202012)))
    return found


def _schema_registry(name: str, schema_dir: Path, thorough: bool = True,
                     reading: Reading | None = None) -> tuple[Registry, list[str]]:
    """Every JSON file under schemas/<name>/ (and the shared schemas/common/) in one registry, and
    (`thorough`) every problem of those files, one line each; a schema that names no `$schema` is
    read as draft 2020-12, and nothing is ever fetched (the registry retrieves nothing)."""
    problems: list[str] = []
    files: dict[str, Path] = {}
    resources = []
    for uri, path, contents, resource in [*schema_files(schema_dir / name, name),
                                          *(reading or Reading()).common_schemas()]:
        if resource is None or isinstance(contents, str):
            problems.append(str(contents))
            continue
        if thorough:
            problems += _schema_problems(path, contents)  # (still registered: what names it finds it)
        files[uri] = path
        resources.append((uri, resource))
    registry = Registry().with_resources(resources)
    for uri, path in files.items() if thorough else ():
        problems += unresolved_refs(path, uri, registry.contents(uri), registry, _schema_uri(name, ""), files)
    return registry, problems


def _schema_problems(path: Path, contents: dict[str, Any]) -> list[str]:
    """What is wrong with one schema file, one line each."""
    dialect = dialect_problem(path, contents)
    if dialect is not None:  # (checked first: the fast check would fetch an unknown meta-schema)
        return [dialect]
    problems = content_problems(path, contents, FORMAT_CHECKER.checkers)
    if not problems and not schema_is_valid(contents):  # the fast check; jsonschema explains what is wrong
        validator = Draft202012Validator(Draft202012Validator.META_SCHEMA,
                                         format_checker=Draft202012Validator.FORMAT_CHECKER)
        problems = [f"{path}: at {place(e.absolute_path)}: invalid JSON Schema: {e.message}"
                    for e in validator.iter_errors(contents)] or [f"{path}: not a valid JSON Schema"]
    return problems


def _extended(path: Path, raw: Any, seen: tuple[Path, ...] = (), reading: Reading | None = None) -> Any:
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
    reading = reading or Reading()
    base = _extended(found, reading.document(found), (*seen, path), reading)
    if not isinstance(base, dict):
        raise FixtureError(f"{found}: a fixture is a mapping of keys")
    base = {k: v for k, v in base.items() if k not in ("name", "extends")}
    return deep_merge(base, raw)


def load_provider(path: Path, schema_dir: Path, meta: TwoTierValidator | None = None,
                  thorough: bool = True, reading: Reading | None = None) -> Provider:
    """Read one fixture file (laid over the one it `extends`) and the schemas it names; raise
    FixtureError listing every problem found, one line each. A fixture whose shape the meta-schema
    refuses is still checked for all the rest that can be read. Without `thorough`, only what the
    engine cannot do without is checked (the shape, the schemas named): the lint of templates and
    fields, the schema files' own checks and the samples are `check`'s, and the built-in fixtures,
    which the test suite checks, are served without them. `reading`: what this load has read
    already (see Reading)."""
    from emulator.engine.fixture_lint import fixture_problems, sample_problems  # (it reads the engine)

    reading = reading or Reading()
    raw = _extended(path, read_yaml(path, FixtureError), (path,), reading)
    meta = meta or _meta_validator()
    errors = sorted(meta.iter_errors(raw), key=lambda e: [str(p) for p in e.absolute_path])
    shape = [f"{path}: at {place(e.absolute_path)}: {e.message}" for e in errors]
    raw_name = raw.get("name") if isinstance(raw, dict) else None
    name = raw_name if isinstance(raw_name, str) and not any(list(e.absolute_path)[:1] == ["name"]
                                                              for e in errors) else None
    registry, schema_problems = _schema_registry(name, schema_dir, thorough, reading) if name is not None \
        else (Registry(), [])
    lint = fixture_problems(path, raw, schema_dir / name if name is not None else None) \
        if isinstance(raw, dict) and thorough else []
    if shape:
        raise FixtureError("\n".join([*shape, *schema_problems, *lint]))
    fixture = parse_fixture(raw)
    missing = [f"{path}: at {where}: schema {schema!r} not found in {schema_dir / fixture.name}"
               for where, schema in _schema_names(fixture) if _schema_uri(fixture.name, schema) not in registry]
    problems = [*schema_problems, *_model_problems(path, fixture), *missing,
                *(_object_sample_problems(path, fixture, registry) if thorough else ()), *lint]
    if problems:
        raise FixtureError("\n".join(problems))
    try:
        provider = _provider(path, fixture, registry, raw)
    except ValueError as exc:  # (jsonschema-rs refusing a schema the checks above let through)
        raise FixtureError(f"{path}: its schemas cannot be compiled: {str(exc).splitlines()[0]}") from None
    problems = sample_problems(provider) if thorough else []  # (firing only a fixture found sound otherwise)
    if problems:
        raise FixtureError("\n".join(problems))
    return provider


def _model_problems(path: Path, fixture: Fixture) -> list[str]:
    """What the typed fixture says that does not hold together: a route's missing view, a
    `simulate` without a delivery section."""
    views = _views(fixture)
    problems = [f"{path}: at $.routes[{i}].view: no view named {r.view!r}"
                for i, r in enumerate(fixture.routes) if r.view not in views]
    problems += [f"{path}: at $.routes[{i}].action: 'simulate' needs a delivery section"
                 for i, r in enumerate(fixture.routes) if r.action == "simulate" and fixture.delivery is None]
    return problems


def _provider(path: Path, fixture: Fixture, registry: Registry, raw: dict[str, Any]) -> Provider:
    """The Provider of a checked fixture and its schemas."""
    name = fixture.name
    fields = fixture.resource.fields
    fast = fast_registry((uri, resource.contents) for uri, resource in registry.items())
    return Provider(
        name=name,
        title=fixture.title or name,
        source=path,
        prefixes=fixture.prefixes,
        base_path=fixture.base_path or fixture.prefixes[0],
        trailing_slash=fixture.trailing_slash,
        method_override=fixture.method_override,
        allow=fixture.allow,
        format_suffix=fixture.format_suffix,
        dashboard=fixture.dashboard,
        content_types=fixture.content_types,
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
        coerced=tuple(f.name for f in fields.values() if f.coerce == "string"),
        views=_views(fixture),
        listing=fixture.listing,
        routes=(*(_route(name, registry, fast, r) for r in fixture.routes), *_object_routes(fixture.objects)),
        events=fixture.events,
        delivery=fixture.delivery,
        objects=fixture.objects,
        object_pool=(fixture.objects.pool if fixture.objects else None) or name,
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
        names += [(at(at("$.events.catalogue", n), "schema"), e.schema)
                  for n, e in fixture.events.catalogue.items() if e.schema]
    if fixture.delivery is not None and fixture.delivery.schema:
        names.append(("$.delivery.schema", fixture.delivery.schema))
    for kind_name, kind in (fixture.objects.kinds.items() if fixture.objects else ()):
        where = f"$.objects.kinds.{kind_name}"
        names.append((f"{where}.schema", kind.schema))
        names += [(f"{where}.routes[{i}].response", r.response) for i, r in enumerate(kind.routes) if r.response]
        names += [(f"{where}.routes[{i}].options.response", r.options.response) for i, r in enumerate(kind.routes)
                  if r.options and r.options.response]
    return names


def _object_sample_problems(path: Path, fixture: Fixture, registry: Registry) -> list[str]:
    """Each object kind's schema must hold the documented sample as its first `examples` entry, and
    the sample must satisfy it (every new object starts from it)."""
    problems = []
    for kind_name, kind in (fixture.objects.kinds.items() if fixture.objects else ()):
        uri = _schema_uri(fixture.name, kind.schema)
        if uri not in registry:
            continue  # (reported as a missing schema)
        example = first_example(registry, uri)
        where = f"{path}: at $.objects.kinds.{kind_name}.schema"
        if not isinstance(example, dict):
            problems.append(f"{where}: {kind.schema} has no `examples` entry (the documented sample, an object)")
            continue
        validator = Draft202012Validator({"$ref": uri}, registry=registry, format_checker=FORMAT_CHECKER)
        wrong = next(iter(validator.iter_errors(example)), None)
        if wrong is not None:
            problems.append(f"{where}: its sample (examples[0]) does not satisfy it at "
                            f"{wrong.json_path}: {wrong.message}")
    return problems


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
        headers=spec.headers,
    )


def _object_routes(objects: Objects | None) -> list[Route]:
    """The GET routes of every object kind, served by the `object_one` and `object_list` actions."""
    routes = []
    for kind_name, kind in (objects.kinds.items() if objects else ()):
        for spec in kind.routes:
            pattern, literal = _compile_path(spec.path)
            routes.append(Route(method="GET", path=spec.path, action=f"object_{spec.answer}", pattern=pattern,
                                literal_length=literal, response_schema=spec.response, kind=kind_name,
                                object_route=spec))
            if spec.options is not None:
                routes.append(Route(method="OPTIONS", path=spec.path, action="describe", pattern=pattern,
                                    literal_length=literal, response_schema=spec.options.response,
                                    body=spec.options.body, has_body=spec.options.body is not None,
                                    headers=spec.options.headers))
    return routes


def load_providers(dirs: list[Path], check_builtin: bool = False) -> dict[str, Provider]:
    """The built-in providers plus every `*.yaml` in each extra fixtures dir (their schemas beside
    them in `schemas/`); a later provider with the same name replaces an earlier one. The extra
    folders get every check of `load_provider`; the built-in fixtures only with `check_builtin`
    (`webhook-emulator check` asks for it; the test suite checks them), so start-up stays quick.

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
    with _collection_paused():
        return dict(_load_sources(tuple(sources), _fingerprint(sources, builtin / "schemas"), check_builtin))


def fixture_files(folder: Path) -> list[Path]:
    """The fixture files of one folder (`*.yaml` and `*.yml`), in name order."""
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def _fingerprint(sources: list[tuple[Path, Path]], shared: Path) -> tuple[tuple[str, int, int], ...]:
    files = [p for fixture_dir, _ in sources
             for p in (*fixture_files(fixture_dir), *(fixture_dir / "common").glob("*.y*ml"))]
    found = [(str(p), s.st_mtime_ns, s.st_size) for p in files if p.is_file() for s in [p.stat()]]
    for folder in {shared, *(schema_dir for _, schema_dir in sources)}:
        found += _tree_stats(folder)
    return tuple(sorted(found))


def _tree_stats(folder: Path) -> list[tuple[str, int, int]]:
    """(path, modification time, size) of every file under `folder` (links to folders not followed)."""
    found = []
    for top, _, names in os.walk(folder):
        for name in names:
            with contextlib.suppress(OSError):  # (a broken link)
                s = os.stat(os.path.join(top, name))
                if stat.S_ISREG(s.st_mode):
                    found.append((os.path.join(top, name), s.st_mtime_ns, s.st_size))
    return found


@contextlib.contextmanager
def _collection_paused() -> Iterator[None]:
    """No cycle collection while providers load: what a load makes is all kept (or all dropped on
    a problem), so the collector's passes over it are wasted (about 25 ms of a first load); the
    collector is as it was afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@functools.lru_cache(maxsize=16)
def _load_sources(sources: tuple[tuple[Path, Path], ...], fingerprint: tuple[Any, ...],
                  check_builtin: bool) -> dict[str, Provider]:
    """Every provider of these folders (the first, the built-in one, checked thoroughly only with
    `check_builtin`); FixtureError listing every problem of every file."""
    meta = _meta_validator()
    reading = Reading()
    providers: dict[str, Provider] = {}
    problems = []
    for index, (fixture_dir, schema_dir) in enumerate(sources):
        named: dict[str, Path] = {}  # this folder's providers so far: one name, one fixture
        for path in fixture_files(fixture_dir):
            try:
                provider = load_provider(path, schema_dir, meta, index > 0 or check_builtin, reading)
            except FixtureError as exc:
                problems.append(str(exc))
                continue
            first = named.setdefault(provider.name, path)
            if first != path:
                problems.append(f"{path}: at $.name: {provider.name!r} is the name of {first} already (one of "
                                "them would replace the other): give each provider its own name")
            providers[provider.name] = provider
    if problems:
        raise FixtureError("\n".join(problems))
    return providers
