"""What a client of each built-in provider knows, in one table for the whole suite: how it
authenticates (`auth`), where its webhooks live, a body that creates one, and how to read a list
answer and a created webhook's path (`CLIENTS`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def _api_key(key: str) -> dict[str, str]:
    return {"Authorization": f"api_key api_key={key}"}


def _shareactor(key: str, jwt: str | None = None) -> dict[str, str]:
    # (The bearer JWT is what ShareActor's strict mode wants beside the key.)
    return {"X-Share-Api-Key": key, **({"Authorization": f"Bearer {jwt}"} if jwt else {})}


def _gigapay(key: str, integration: str = "int-1") -> dict[str, str]:
    return {"Authorization": f"Token {key}", "Integration-ID": integration}


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


AUTH: dict[str, Callable[..., dict[str, str]]] = {
    "paybook": _api_key, "syncfy": _api_key, "shareactor": _shareactor, "gigapay": _gigapay, "centry": _bearer,
}


def auth(provider: str, key: str = "k", **more: str) -> dict[str, str]:
    """The headers a client of `provider` authenticates with as the tenant `key` (gigapay:
    `integration=`, shareactor: `jwt=`)."""
    return AUTH[provider](key, **more)


@dataclass(frozen=True)
class Client:
    """How a client of one provider lists, creates and addresses webhooks."""

    name: str
    collection: str
    body: dict[str, Any]
    items: Callable[[Any], list[Any]]  # a list answer's body -> its webhooks
    member: Callable[[Any], str]  # a create answer's body -> the webhook's path
    retrievable: bool = True  # whether GET answers one webhook (Paybook v1 has no such route)
    auth_options: tuple[tuple[str, str], ...] = ()  # what `auth` gets besides the key

    def auth(self, key: str) -> dict[str, str]:
        """The headers of the tenant `key`."""
        return auth(self.name, key, **dict(self.auth_options))


def _envelope_items(body: Any) -> list[Any]:
    return list(body["response"])


CLIENTS = {client.name: client for client in [
    Client("paybook", "/v1/webhooks", {"url": "https://example.com/pb", "events": ["refresh"]}, _envelope_items,
           lambda body: f"/v1/webhooks/{body['response']['id_webhook']}", retrievable=False),
    Client("syncfy", "/v1/webhooks/subscriptions", {"url": "https://example.com/sy", "events": ["credentials.created"]},
           _envelope_items, lambda body: f"/v1/webhooks/subscriptions/{body['response']['id_subscription']}"),
    Client("shareactor", "/webhooks", {"endpoint": "https://example.com/sa", "event_type": "order.created"},
           lambda body: list(body), lambda body: f"/webhooks/{body['_id']['$oid']}",
           auth_options=(("jwt", "eyJ.jwt"),)),
    Client("gigapay", "/v2/webhooks/", {"url": "https://example.com/gp", "events": ["Payout.created"]},
           lambda body: list(body["results"]), lambda body: f"/v2/webhooks/{body['id']}/"),
    Client("centry", "/conexion/v1/webhooks.json", {"callback_url": "https://example.com/ct", "on_product_save": True},
           lambda body: list(body), lambda body: f"/conexion/v1/webhooks/{body['_id']}.json"),
]}
