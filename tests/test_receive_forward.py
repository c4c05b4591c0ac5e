"""`webhook-emulator receive` as `stripe listen --forward-to` is used: it checks each
notification's signature and prints the verdict, and passes the request on unchanged to a local
app, answering the emulator with the app's answer and printing its status. All over real HTTP:
an emulator fires at the command's port, and a receiver stands in for the user's app."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from emulator import Emulator, Receiver
from tests.conftest import Output, free_port

SECRET = "c1329a085d65f7757838df5920fdcc9a"


@pytest.fixture
def app() -> Iterator[Receiver]:
    """The user's app the notifications are forwarded to."""
    with Receiver() as running:
        yield running


Start = Callable[..., tuple[str, Output]]


@pytest.fixture
def receive() -> Iterator[Start]:
    """`receive(*options)`: run `webhook-emulator receive --port 0 OPTIONS`; its URL and the rest
    of its output after the first line (which it checks says what the receiver does)."""
    started: list[subprocess.Popen[str]] = []

    def start(*options: str) -> tuple[str, Output]:
        process = subprocess.Popen([sys.executable, "-m", "emulator", "receive", "--port", "0", *options],
                                   stdout=subprocess.PIPE, text=True)
        started.append(process)
        assert process.stdout is not None
        output = Output(process.stdout)
        first = output.next_with("receiving on ")
        forward = options[options.index("--forward-to") + 1] if "--forward-to" in options else None
        assert (f"(forwarding to {forward}" if forward else "(answering 200") in first, first
        if "--provider" in options:
            assert f", checking {options[options.index('--provider') + 1]} signatures)" in first, first
        return first.split()[2], output

    yield start
    for process in started:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_it_prints_a_verdict_per_notification(emulator: Emulator, receive: Start) -> None:
    url, output = receive("--provider", "gigapay", "--secret", SECRET)
    for mode in ("valid", "wrong_secret", "missing"):
        emulator.client.fire("gigapay", "Payout.created", url=url + "/gp", secret=SECRET, signature=mode, wait=True)
    assert output.next_with("signature:") == "  signature: valid (Gigapay-Signature)\n"
    assert output.next_with("signature:") == ("  signature: INVALID (Gigapay-Signature does not match this body "
                                               "and secret, or is not fresh)\n")
    assert output.next_with("signature:") == "  signature: INVALID (no Gigapay-Signature header)\n"


def test_a_jwt_provider_takes_its_jwk_from_the_running_emulator(emulator: Emulator, receive: Start) -> None:
    url, output = receive("--provider", "syncfy", "--server", emulator.url)
    emulator.client.fire("syncfy", "credentials.created", url=url + "/s", wait=True)
    emulator.client.fire("syncfy", "credentials.created", url=url + "/s", signature="tampered_body", wait=True)
    assert output.next_with("signature:") == "  signature: valid (request-signature)\n"
    assert "INVALID" in output.next_with("signature:")


def test_a_jwk_changed_by_a_state_load_is_read_again_from_the_running_emulator(emulator: Emulator,
                                                                               receive: Start) -> None:
    url, output = receive("--provider", "syncfy", "--server", emulator.url)
    other = {"kty": "oct", "kid": "k2", "k": "a2V5LW9mLXRoaXJ0eS10d28tYnl0ZXMtZm9yLXRlc3Rz"}
    assert emulator.client.jwk("syncfy") != other
    emulator.client.load_state({"$emulator": {"jwks": {"syncfy": other}}})  # what the receiver read no longer verifies
    assert emulator.client.jwk("syncfy") == other
    emulator.client.fire("syncfy", "credentials.created", url=url + "/s", wait=True)
    emulator.client.fire("syncfy", "credentials.created", url=url + "/s", wait=True)
    emulator.client.fire("syncfy", "credentials.created", url=url + "/s", signature="wrong_secret", wait=True)
    assert output.next_with("signature:") == ("  signature: valid (request-signature, with the JWK read again "
                                               "from the server)\n")
    assert output.next_with("signature:") == "  signature: valid (request-signature)\n"
    assert output.next_with("signature:") == ("  signature: INVALID (request-signature does not match this body "
                                               "and secret, or is not fresh)\n")


def test_it_forwards_unchanged_and_answers_with_the_apps_answer(emulator: Emulator, app: Receiver,
                                                                receive: Start) -> None:
    url, output = receive("--provider", "gigapay", "--secret", SECRET, "--forward-to", app.url_for("/webhooks/gp"))
    app.respond_with(500)  # the app fails once: the emulator sees it, and retries
    emulator.client.fire("gigapay", "Payout.created", {"amount": "7.00"}, url=url + "/hook", secret=SECRET)
    delivery = emulator.client.wait_for_delivery(event="Payout.created", url=url + "/hook")
    assert [a["status"] for a in delivery["attempts"]] == [500, 200]
    assert output.next_with("forwarded to") == f"  forwarded to {app.url}/webhooks/gp: HTTP 500\n"
    assert output.next_with("forwarded to") == f"  forwarded to {app.url}/webhooks/gp: HTTP 200\n"
    _, second = app.received
    sent = delivery["attempts"][1]
    assert second.path == "/webhooks/gp" and second.method == "POST"
    assert second.body == sent["request_body"].encode() and json.loads(second.body)["amount"] == "7.00"
    for name, value in sent["request_headers"].items():
        assert second.headers[name] == value, name  # the signature among them
    assert app.verify("gigapay", second, SECRET)


def test_an_app_that_does_not_answer_is_a_502_and_a_line(emulator: Emulator, receive: Start) -> None:
    gone = f"http://127.0.0.1:{free_port()}/hook"
    url, output = receive("--forward-to", gone)
    [delivery] = emulator.client.fire("centry", "on_product_save", url=url + "/c", wait=True, timeout=0.5)
    assert delivery["attempts"][0]["status"] == 502
    assert output.next_with("forwarded to").startswith(f"  forwarded to {gone}: failed: ClientConnectorError")


@pytest.mark.parametrize(("options", "message"), [
    (["--provider", "gigapay"], "gigapay signs its notifications: give --secret\n"),
    (["--provider", "syncfy"], "syncfy signs its notifications: give --secret (or --server for its JWK)"),
    (["--provider", "stripe", "--secret", "s"], "no provider named 'stripe'; the providers are centry, gigapay"),
    (["--secret", "s"], "--secret and --server need --provider"),
    (["--provider", "syncfy", "--secret", "{bad"], "--secret must be a string or a JWK as JSON"),
    (["--forward-to", "localhost:5000"], "--forward-to must be an http(s) URL, not 'localhost:5000'"),
])
def test_usage_errors_are_one_line_and_exit_2(options: list[str], message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "emulator", "receive", "--port", "0", *options],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith(f"webhook-emulator: {message}") and len(done.stderr.splitlines()) == 1
