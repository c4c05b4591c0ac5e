"""Centry's OAuth token endpoint, round two: under --strict only configured clients (id and
secret) get tokens; by default a token acts for its client id and secret together, so a bearer
that only guesses the client id reaches nothing of that client's; a client without a secret gets
no token, a refresh authenticates its client, and two authentications must agree."""

from __future__ import annotations

import base64

from tests.conftest import Api, MakeApi

LIST = "/conexion/v1/webhooks.json"
HOOK = {"callback_url": "https://example.cl/centry", "on_product_save": True}


async def issue(api: Api, client_id: str, secret: str | None = None) -> tuple[int, dict]:
    body = {"grant_type": "client_credentials", "client_id": client_id}
    if secret is not None:
        body["client_secret"] = secret
    answer = await api.post("/oauth/token", json=body)
    return answer.status, answer.json


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_bearer_equal_to_a_client_id_does_not_reach_that_clients_webhooks(api: Api) -> None:
    status, token = await issue(api, "my-app", "s3cret")
    assert status == 200
    assert (await api.post(LIST, json=HOOK, headers=bearer(token["access_token"]))).status in (200, 201)
    assert len((await api.get(LIST, headers=bearer(token["access_token"]))).json) == 1
    assert (await api.get(LIST, headers=bearer("my-app"))).json == []
    _, other = await issue(api, "my-app", "a-guess")  # another secret: another client's tenant
    assert (await api.get(LIST, headers=bearer(other["access_token"]))).json == []


async def test_strict_issues_tokens_only_for_configured_clients_with_their_secret(make_api: MakeApi) -> None:
    api = await make_api(strict=True, credentials={"centry": ["my-app:s3cret"]})
    assert (await issue(api, "my-app", "wrong"))[0] == 401
    assert (await issue(api, "my-app"))[0] == 401
    status, refused = await issue(api, "someone-else", "x")
    assert (status, refused["error"]) == (401, "invalid_client")
    status, token = await issue(api, "my-app", "s3cret")
    assert status == 200
    assert (await api.get(LIST, headers=bearer(token["access_token"]))).status == 200
    basic = base64.b64encode(b"my-app:s3cret").decode()
    answer = await api.post("/oauth/token", json={"grant_type": "client_credentials"},
                            headers={"Authorization": f"Basic {basic}"})
    assert answer.status == 200


async def test_strict_without_configured_clients_issues_no_token(make_api: MakeApi) -> None:
    api = await make_api(strict=True)
    assert (await issue(api, "my-app", "anything"))[0] == 401


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


async def test_a_client_without_a_secret_gets_no_token(api: Api) -> None:
    """Its tenant would be `my-app:`, which anyone knowing the client id could name as a bearer."""
    status, refused = await issue(api, "my-app")
    assert (status, refused["error"]) == (401, "invalid_client")
    status, refused = await issue(api, "my-app", "")
    assert (status, refused["error"]) == (401, "invalid_client")
    answer = await api.post("/oauth/token", json={"grant_type": "client_credentials"}, headers=basic("my-app", ""))
    assert (answer.status, answer.json["error"]) == (401, "invalid_client")


async def test_basic_and_body_credentials_that_disagree_are_refused(api: Api) -> None:
    for body in ({"client_secret": "s"}, {"client_id": "other", "client_secret": "bad"}, {"client_id": "other"}):
        answer = await api.post("/oauth/token", json={"grant_type": "client_credentials", **body},
                                headers=basic("app", "bad"))
        assert (answer.status, answer.json["error"]) == (401, "invalid_client"), body
    agreeing = await api.post("/oauth/token", json={"grant_type": "client_credentials", "client_id": "app",
                                                    "client_secret": "bad"}, headers=basic("app", "bad"))
    assert agreeing.status == 200


async def refresh(api: Api, token: str, **client: str) -> tuple[int, dict]:
    answer = await api.post("/oauth/token", json={"grant_type": "refresh_token", "refresh_token": token, **client})
    return answer.status, answer.json


async def test_a_refresh_authenticates_its_client(make_api: MakeApi) -> None:
    strict = await make_api(strict=True, credentials={"centry": ["my-app:s3cret", "other:x"]})
    for api, guessed in ((await make_api(), 400), (strict, 401)):  # (by default my-app:guess is another client)
        _, token = await issue(api, "my-app", "s3cret")
        status, refused = await refresh(api, token["refresh_token"])
        assert (status, refused["error"]) == (401, "invalid_client")
        status, refused = await refresh(api, token["refresh_token"], client_id="other", client_secret="x")
        assert (status, refused["error"]) == (400, "invalid_grant")  # issued to another client
        status, refused = await refresh(api, token["refresh_token"], client_id="my-app", client_secret="guess")
        assert status == guessed
        status, renewed = await refresh(api, token["refresh_token"], client_id="my-app", client_secret="s3cret")
        assert status == 200
        assert (await api.get(LIST, headers=bearer(renewed["access_token"]))).status == 200
