"""The pytest plugin, used the way users use it: real test files run by pytester in a subprocess,
where installing the package is all it takes for the fixtures to exist."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

USER_TESTS = '''
import requests

GIGAPAY = {"Authorization": "Token T", "Integration-ID": "i1"}


def register(emulator, url, events=("Payout.created",)):
    answer = requests.post(emulator.url_for("gigapay") + "/webhooks/", json={"url": url, "events": list(events)},
                           headers=GIGAPAY, timeout=30)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_sync_delivery_is_received_and_verifies(webhook_emulator, webhook_receiver):
    webhook = register(webhook_emulator, webhook_receiver.url_for("/pay"))
    webhook_emulator.fire("gigapay", "Payout.created", {"amount": "5.00"})
    delivery = webhook_emulator.wait_for_delivery(event="Payout.created", timeout=5)
    [received] = webhook_receiver.wait_for(1)
    assert delivery["status"] == "delivered" and received.path == "/pay"
    assert received.json["amount"] == "5.00"
    assert webhook_receiver.verify("gigapay", received, webhook["secret_key"])
    assert not webhook_receiver.verify("gigapay", received, "another-secret")


def test_state_was_reset_before_this_test(webhook_emulator):
    listed = requests.get(webhook_emulator.url_for("gigapay") + "/webhooks/", headers=GIGAPAY, timeout=30).json()
    assert listed["count"] == 0
    assert webhook_emulator.deliveries() == []
    assert webhook_emulator.requests(provider="gigapay")[-1]["path"] == "/v2/webhooks/"


def test_scripted_answers_make_the_emulator_retry(webhook_emulator, webhook_receiver):
    register(webhook_emulator, webhook_receiver.url_for("/pay"))
    webhook_receiver.respond_with(500, 503)
    webhook_emulator.fire("gigapay", "Payout.created")
    delivery = webhook_emulator.wait_for_delivery(event="Payout.created", timeout=5)
    assert [a["status"] for a in delivery["attempts"]] == [500, 503, 200]


async def test_async_waits(webhook_emulator, webhook_receiver):
    jwk = webhook_emulator.jwk("syncfy")
    webhook_emulator.fire("syncfy", "credentials.created", url=webhook_receiver.url_for("/syncfy"))
    delivery = await webhook_emulator.wait_for_delivery_async(event="credentials.created", timeout=5)
    [received] = await webhook_receiver.wait_for_async(1)
    assert delivery["status"] == "delivered"
    assert webhook_receiver.verify("syncfy", received, jwk)


def test_factory_emulators_are_separate(webhook_emulator_factory):
    strict = webhook_emulator_factory(strict=True, credentials={"gigapay": ["good"]})
    other = webhook_emulator_factory()
    assert strict.url != other.url
    refused = requests.get(strict.url_for("gigapay") + "/webhooks/", headers={"Authorization": "Token bad"}, timeout=30)
    assert refused.status_code == 401
    assert requests.get(other.url_for("gigapay") + "/webhooks/", headers=GIGAPAY, timeout=30).status_code == 200


def test_waiting_for_a_delivery_that_never_comes_fails(webhook_emulator):
    webhook_emulator.wait_for_delivery(event="Payout.created", timeout=0.2)
'''


@pytest.fixture
def user_project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    return pytester


def test_fixtures_work_in_sync_and_async_tests_and_failures_read_well(user_project: pytest.Pytester) -> None:
    user_project.makepyfile(test_user=USER_TESTS)
    result = user_project.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(["*TimeoutError: no delivery matching {'event': 'Payout.created'} reached "
                                 "delivered within 0.2 s: none was ever created: *gigapay has no webhooks*"])


def test_settings_fixtures_can_be_overridden_in_a_conftest(user_project: pytest.Pytester) -> None:
    user_project.makeconftest('''
import pytest

@pytest.fixture(scope="session")
def webhook_emulator_seed():
    return 7
''')
    user_project.makepyfile(test_seeded='''
import requests

def test_prints_a_seeded_id(webhook_emulator):
    answer = requests.post(webhook_emulator.url_for("paybook") + "/webhooks",
                           json={"url": "http://example.com/h", "events": ["refresh"]},
                           headers={"Authorization": "api_key api_key=K"}, timeout=30)
    print("ID=" + answer.json()["response"]["id_webhook"])
''')
    ids = []
    for _ in range(2):
        result = user_project.runpytest_subprocess("-q", "-s", "-p", "no:cacheprovider")
        result.assert_outcomes(passed=1)
        ids += re.findall(r"ID=([0-9a-f]{24})", result.stdout.str())
    assert len(ids) == 2 and ids[0] == ids[1]


def test_the_fixture_builds_a_notification_signed_with_the_emulators_jwk(user_project: pytest.Pytester) -> None:
    user_project.makepyfile(test_notification='''
def test_notifications(webhook_emulator, webhook_receiver):
    signed = webhook_emulator.notification("gigapay", "Payout.created", {"amount": "1.00"}, secret="s")
    assert signed.json["amount"] == "1.00" and signed.headers["Content-Type"] == "application/json"
    syncfy = webhook_emulator.notification("syncfy", "credentials.created")
    assert syncfy.secret == webhook_emulator.jwk("syncfy")  # what the emulator's own deliveries are signed with
    forged = webhook_emulator.notification("syncfy", "credentials.created", signature="wrong_secret")
    from emulator import Received
    as_received = [Received("POST", "/s", n.headers, n.body) for n in (syncfy, forged)]
    assert [webhook_receiver.verify("syncfy", r, syncfy.secret) for r in as_received] == [True, False]
''')
    user_project.runpytest_subprocess("-q", "-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_project_module_named_emulator_shadows_the_plugin_under_python_m_pytest(
        pytester: pytest.Pytester) -> None:
    """What docs/pytest.md's troubleshooting says: `python -m pytest` puts the project's folder
    first on sys.path, where its own emulator.py hides this package; `python -P` does not."""
    pytester.makepyfile(emulator="X = 1", test_one="def test_one(webhook_emulator):\n    assert webhook_emulator.url\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def run(*python_options: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, *python_options, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                              cwd=pytester.path, env=env, capture_output=True, text=True, timeout=120)

    shadowed = run()
    assert shadowed.returncode != 0
    assert "No module named 'emulator.pytest_plugin'; 'emulator' is not a package" in shadowed.stdout + shadowed.stderr
    safe = run("-P")
    assert safe.returncode == 0, safe.stdout + safe.stderr


POOL_TESTS = '''
import pytest
import requests

PAYBOOK = {"Authorization": "api_key api_key=K"}
SEEN = {}


def webhooks(handle):
    return requests.get(handle.url_for("paybook") + "/webhooks", headers=PAYBOOK, timeout=30).json()["response"]


def test_first_hand_out_starts_one(webhook_emulator_pool):
    strict = webhook_emulator_pool(strict=True, credentials={"paybook": ["K"]})
    requests.post(strict.url_for("paybook") + "/webhooks", json={"url": "http://example.com/h", "events": ["refresh"]},
                  headers=PAYBOOK, timeout=30)
    assert len(webhooks(strict)) == 1
    SEEN["strict"] = strict


def test_the_same_settings_get_the_same_emulator_reset(webhook_emulator_pool):
    again = webhook_emulator_pool(credentials={"paybook": ["K"]}, strict=True)
    assert again.url == SEEN["strict"].url and again.emulator is SEEN["strict"].emulator
    assert webhooks(again) == [] and again.deliveries() == []
    refused = requests.get(again.url_for("paybook") + "/webhooks", headers={"Authorization": "api_key api_key=X"},
                           timeout=30)
    assert refused.status_code == 401  # still strict


def test_other_settings_get_another_emulator(webhook_emulator_pool, webhook_emulator):
    seeded = webhook_emulator_pool(seed=3)
    assert seeded.health()["seed"] == 3 and seeded.url not in (SEEN["strict"].url, webhook_emulator.url)
    assert webhook_emulator_pool(seed=3).url == seeded.url


def test_one_a_test_stopped_is_started_again(webhook_emulator_pool):
    stopped = webhook_emulator_pool(seed=4)
    stopped.emulator.stop()
    assert webhook_emulator_pool(seed=4).health()["seed"] == 4


def test_start_up_only_settings_are_refused(webhook_emulator_pool):
    with pytest.raises(ValueError, match="faults act only at start-up.*use webhook_emulator_factory"):
        webhook_emulator_pool(faults="rules.yaml")
'''

POOL_CONFTEST = '''
def pytest_sessionfinish(session):
    import requests
    from test_pool import SEEN
    try:
        requests.get(SEEN["strict"].url + "/_emulator/health", timeout=5)
        print("STILL RUNNING")
    except requests.ConnectionError:
        print("STOPPED AT THE END")
'''


def test_the_pool_shares_an_emulator_per_settings_resets_it_and_stops_it(user_project: pytest.Pytester) -> None:
    user_project.makepyfile(test_pool=POOL_TESTS)
    user_project.makeconftest(POOL_CONFTEST)
    result = user_project.runpytest_subprocess("-q", "-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["*STOPPED AT THE END*"])
