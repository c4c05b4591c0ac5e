"""The OpenAPI document: valid OpenAPI 3.1, covering every fixture route and the control API, the
same from the CLI and from GET /_emulator/openapi.json."""

from __future__ import annotations

import json
import subprocess
import sys

from openapi_spec_validator import validate

from tests.conftest import Api


async def test_served_document_is_valid_openapi_31(api: Api) -> None:
    answer = await api.get("/_emulator/openapi.json")
    assert answer.status == 200
    assert answer.json["openapi"] == "3.1.0"
    validate(answer.json)


async def test_document_has_every_route_of_every_provider_and_the_control_api(api: Api) -> None:
    paths = (await api.get("/_emulator/openapi.json")).json["paths"]
    for provider in api.state.providers.values():
        for route in provider.routes:
            assert route.method.lower() in paths[route.path], f"{provider.name} {route.method} {route.path}"
    # Every control route the app serves is documented (the routes below the catch-all).
    served = [(r.method.lower(), r.resource.canonical) for r in api.app.router.routes()
              if r.resource is not None and r.resource.canonical.startswith("/_emulator/") and r.method != "HEAD"]
    assert len(served) >= 12
    for method, path in served:
        assert method in paths.get(path, {}), f"control route {method.upper()} {path} is not in the document"


async def test_request_bodies_point_at_the_fixture_schemas(api: Api) -> None:
    document = (await api.get("/_emulator/openapi.json")).json
    create = document["paths"]["/v2/webhooks/"]["post"]
    ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    name = ref.rsplit("/", 1)[1]
    assert document["components"]["schemas"][name]["required"] == ["url", "events"]
    assert create["responses"]["201"]


def test_cli_prints_the_same_document() -> None:
    done = subprocess.run([sys.executable, "-m", "emulator", "openapi"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    validate(document)
    assert "/conexion/v1/webhooks/{id}.json" in document["paths"]
