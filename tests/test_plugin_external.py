"""The pytest plugin with an emulator that already runs (as a compose service would): told its URL,
a user's test session uses it, resetting it before each test, instead of starting one; and the
receiver binds the address it is told and hands the emulator URLs with the advertised host."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator import Emulator

TOKEN = "s3cret-admin"

# Two tests of a user's project. The first does not see the webhook made before the run (the plugin
# reset the emulator) and creates one; the second does not see that one (reset again) and leaves
# one of its own, which the outer test then finds in the emulator it started.
USER_TESTS = '''
import os


def test_first_sees_a_reset_emulator_and_creates_a_webhook(webhook_emulator):
    assert webhook_emulator.emulator is None  # nothing was started in this session
    assert webhook_emulator.url == os.environ["EXPECTED_URL"]
    assert webhook_emulator.state("gigapay")["gigapay"]["tenants"] == {}
    webhook_emulator.create_webhook("gigapay", "FIRST", {"url": "http://app.test/one", "events": ["Payout.created"]},
                                    scope="I")


def test_second_sees_the_emulator_reset_again(webhook_emulator):
    assert webhook_emulator.state("gigapay")["gigapay"]["tenants"] == {}
    webhook_emulator.create_webhook("gigapay", "SECOND", {"url": "http://app.test/two", "events": ["Payout.created"]},
                                    scope="I")
'''


@pytest.fixture
def running() -> Iterator[Emulator]:
    """The emulator that "already runs": started here, outside the user's test session."""
    with Emulator(time_scale=0.001, admin_token=TOKEN) as emulator:
        emulator.client.create_webhook("gigapay", "BEFORE", {"url": "http://app.test/before",
                                                             "events": ["Payout.created"]}, scope="I")
        yield emulator


def tenants(emulator: Emulator) -> list[str]:
    return sorted(emulator.client.state("gigapay")["gigapay"]["tenants"])


def test_the_url_option_uses_the_running_emulator_and_resets_it_per_test(
        pytester: pytest.Pytester, running: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPECTED_URL", running.url)
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "--webhook-emulator-url", running.url,
                                           "--webhook-emulator-admin-token", TOKEN)
    result.assert_outcomes(passed=2)
    assert tenants(running) == ["SECOND"]  # what the last test left, in the emulator that was running


def test_the_environment_variables_do_the_same(pytester: pytest.Pytester, running: Emulator,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPECTED_URL", running.url)
    monkeypatch.setenv("WEBHOOK_EMULATOR_URL", running.url)
    monkeypatch.setenv("WEBHOOK_EMULATOR_ADMIN_TOKEN", TOKEN)
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert tenants(running) == ["SECOND"]


def test_a_wrong_admin_token_or_no_emulator_fails_in_one_line(pytester: pytest.Pytester, running: Emulator) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    refused = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "--webhook-emulator-url", running.url,
                                            "--webhook-emulator-admin-token", "wrong")
    refused.assert_outcomes(errors=2)
    refused.stdout.fnmatch_lines([f"*the webhook emulator at {running.url} refused: *"])
    url = running.url
    running.stop()
    absent = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "--webhook-emulator-url", url)
    absent.assert_outcomes(errors=2)
    absent.stdout.fnmatch_lines([f"*no webhook emulator answers at {url} (--webhook-emulator-url): *"])


def test_the_receiver_binds_the_host_given_and_advertises_another(pytester: pytest.Pytester) -> None:
    """Bound to every interface, advertised as `localhost` (standing in for host.docker.internal):
    the emulator delivers to the advertised URL, and the test reaches the receiver at `local_url`."""
    pytester.makepyfile(test_receiver='''
import requests


def test_delivery_to_the_advertised_url(webhook_emulator, webhook_receiver):
    assert webhook_receiver.host == "0.0.0.0"
    assert webhook_receiver.url_for("/hook").startswith("http://localhost:")
    assert webhook_receiver.local_url.startswith("http://127.0.0.1:")
    webhook_emulator.fire("centry", "on_product_save", url=webhook_receiver.url_for("/hook"), wait=True)
    [got] = webhook_receiver.wait_for(1)
    assert got.path == "/hook"
    assert requests.post(webhook_receiver.local_url + "/direct", data=b"{}", timeout=10).status_code == 200
''')
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "--webhook-receiver-host", "0.0.0.0",
                                           "--webhook-receiver-advertised-host", "localhost")
    result.assert_outcomes(passed=1)
