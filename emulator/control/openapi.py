"""An OpenAPI 3.1 document of every emulated route and the control API, generated from the
providers' fixtures and schemas (served at /_emulator/openapi.json, printed by `openapi`)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urldefrag, urljoin

from emulator import __version__
from emulator.engine.provider import SCHEMA_BASE, Provider

if TYPE_CHECKING:
    from emulator.control.base import ControlRoute

def _schema_ref(provider: Provider, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{_component(provider.schema_uri(name))}"}


def _component(uri: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", uri.removeprefix(SCHEMA_BASE).removesuffix(".json"))


def _embedded(value: Any, uri: str) -> Any:
    """A schema made to live under components: `$id` dropped, every `$ref` (relative to `uri`)
    pointed at the component that holds its target."""
    if isinstance(value, list):
        return [_embedded(v, uri) for v in value]
    if not isinstance(value, dict):
        return value
    result = {}
    for key, item in value.items():
        if key == "$id":
            continue
        if key == "$ref" and isinstance(item, str):
            document, fragment = urldefrag(urljoin(uri, item))
            item = f"#/components/schemas/{_component(document)}{fragment}"
        result[key] = _embedded(item, uri)
    return result


def _security(provider: Provider) -> dict[str, dict[str, Any]]:
    schemes = {}
    for i, source in enumerate(provider.auth.credentials):
        name = f"{provider.name}_{i}"
        if source.header is not None:
            schemes[name] = {"type": "apiKey", "in": "header", "name": source.header,
                             "description": f"value matching {source.pattern or '.+'}"}
        elif source.query is not None:
            schemes[name] = {"type": "apiKey", "in": "query", "name": source.query}
        else:
            schemes[name] = {"type": "apiKey", "in": "header", "name": "X-Body-Field",
                             "description": f"or the JSON body field {source.body!r}"}
    return schemes


def _path_params(path: str) -> list[dict[str, Any]]:
    return [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in re.findall(r"\{(\w+)\}", path)]


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def _list_params(provider: Provider) -> list[dict[str, Any]]:
    """A list route's query parameters, from the fixture's paging, sort and filters."""
    listing = provider.listing
    paging = listing.paging
    minimum = {"page": paging.first, "size": 1} if paging.style == "page" else {"offset": 0, "limit": 0}
    params = [_query(paging.param(role), {"type": "integer", "minimum": low}) for role, low in minimum.items()]
    if paging.after is not None:
        params.append(_query(paging.after, {"type": "string"}))
    if listing.sort is not None:
        keys = list(listing.sort.keys)
        params.append(_query(listing.sort.param, {"enum": keys + [f"-{k}" for k in keys]}))
    params += [_query(name + suffix, {"type": "string", "format": "date-time"})
               for name in listing.filters for suffix in ("", *listing.filter_suffixes.values())]
    return params


def _operation(provider: Provider, index: int, route: Any, security: list[dict[str, list[str]]]) -> dict[str, Any]:
    responses: dict[str, Any] = {str(route.status): {"description": "success"}}
    if route.response_schema:
        responses[str(route.status)]["content"] = {
            "application/json": {"schema": _schema_ref(provider, route.response_schema)}}
    if provider.errors.schema:
        responses["default"] = {"description": f"an error in {provider.title}'s style",
                                "content": {"application/json": {"schema": _schema_ref(provider,
                                                                                       provider.errors.schema)}}}
    operation: dict[str, Any] = {
        "tags": [provider.name],
        "summary": f"{provider.title}: {route.action}",
        "operationId": f"{provider.name}_{index}_{route.action}",
        "parameters": _path_params(route.path) + (_list_params(provider) if route.action == "list" else []),
        "responses": responses,
    }
    if route.action != "oauth_token":
        operation["security"] = security
    if route.request_schema:
        operation["requestBody"] = {"content": {"application/json": {
            "schema": _schema_ref(provider, route.request_schema)}}}
    return operation


def build_openapi(providers: dict[str, Provider], control_routes: list[ControlRoute]) -> dict[str, Any]:
    """The OpenAPI 3.1 document for these providers and the control API's routes."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    security_schemes: dict[str, Any] = {}
    for provider in providers.values():
        schemes = _security(provider)
        security_schemes.update(schemes)
        security: list[dict[str, list[str]]] = [{name: []} for name in schemes]
        for uri, resource in provider.registry.items():
            schemas[_component(uri)] = _embedded(resource.contents, uri)
        for index, route in enumerate(provider.routes):
            paths.setdefault(route.path, {})[route.method.lower()] = _operation(provider, index, route, security)
    for control in control_routes:
        params = _path_params(control.path) + [_query(name, {"type": "string"}) for name in control.query]
        operation: dict[str, Any] = {
            "tags": ["control"], "summary": control.summary, "parameters": params,
            "responses": {str(control.status): {"description": "success",
                                              "content": {control.content_type: {"schema": {}}}},
                          "default": {"description": "an error: {\"error\": kind, \"message\": text}"}}}
        if control.body is not None:
            operation["requestBody"] = {"content": {"application/json": {"schema": control.body}}}
        paths.setdefault(control.path, {})[control.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "webhook-emulator", "version": __version__,
                 "description": "The emulated webhook APIs of " + ", ".join(p.title for p in providers.values())
                 + ", and the emulator's control API under /_emulator/."},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": security_schemes},
    }
