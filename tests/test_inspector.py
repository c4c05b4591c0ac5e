"""The inspector page at /_emulator/ui, driven end to end in headless Chromium (Debian's, through
Playwright for Python; nothing is downloaded): create a Syncfy subscription through its form, fire
at a receiver, see and redeliver the delivery, reset; user data shown as text, never run; the
admin token prompt; a narrow window; the Webhooks tab's tables. Screenshots of the main views go to
$INSPECTOR_SCREENSHOTS (a folder), or a temporary folder; its inspector.png and inspector-narrow.png
are the ones in docs/ (see docs/inspector.md)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from emulator import Emulator
from emulator.pytest_plugin import EmulatorHandle
from emulator.receiver import Receiver
from tests.conftest import free_port, in_process

try:
    from playwright.sync_api import Browser, Error, Locator, Page, expect, sync_playwright
except ImportError:  # the browser fixture fails, saying so
    sync_playwright = None

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 800}
NARROW = {"width": 390, "height": 844}
TOKEN = "inspector-admin-token"
KEY = "MY_SYNCFY_KEY"
WAIT_MS = 15_000  # polling and deliveries on a busy two-core machine: generous


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; the tests fail (never skip) when it cannot be had."""
    if sync_playwright is None:
        pytest.fail("the inspector tests need Playwright for Python: pip install -e '.[test]'", pytrace=False)
    if not Path(CHROMIUM).exists():
        pytest.fail(f"the inspector tests need Chromium at {CHROMIUM}: apt-get install chromium "
                    "(.ci/run installs it); Playwright's own browser download is not used", pytrace=False)
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        except Error as error:
            pytest.fail(f"Chromium at {CHROMIUM} does not start: {error.message.splitlines()[0]}", pytrace=False)
        yield launched
        launched.close()


@pytest.fixture
def emulator(webhook_emulator_pool: Callable[..., EmulatorHandle]) -> Emulator:
    return in_process(webhook_emulator_pool(seed=1))


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("INSPECTOR_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("inspector-screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def new_page(browser: Browser, viewport: dict[str, int]) -> tuple[Page, list[str]]:
    """A page in a fresh context (its own sessionStorage), and the script errors it will report.
    The page's Content-Security-Policy is bypassed, so that escaping alone must keep user data
    from running (and screenshots may hide the toast)."""
    page = browser.new_context(viewport=viewport, bypass_csp=True).new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    return page, problems


@pytest.fixture
def page(browser: Browser, emulator: Emulator) -> Iterator[Page]:
    opened, problems = new_page(browser, DESKTOP)
    yield opened
    opened.context.close()
    assert problems == []


def open_view(page: Page, url: str, view: str) -> None:
    page.goto(f"{url}/_emulator/ui#{view}")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator(f"#view-{view}")).to_be_visible()


def snap(page: Page, path: Path) -> None:
    """A screenshot of the window, without the passing toast."""
    page.screenshot(path=path, style="#toast { display: none; }", animations="disabled")


def delivery(page: Page) -> Locator:
    return page.get_by_test_id("delivery").first


def test_create_fire_redeliver_and_reset_from_the_page(page: Page, emulator: Emulator, receiver: Receiver,
                                                         shots: Path) -> None:
    open_view(page, emulator.url, "webhooks")
    facts = page.get_by_test_id("facts")
    expect(facts).to_contain_text("seed1")
    expect(facts).to_contain_text("time scale0.001")
    expect(page.locator("#version")).to_have_text(re.compile(r"^v\d"))
    expect(page.get_by_role("link", name="OpenAPI")).to_have_attribute("href", "/_emulator/openapi.json")

    page.get_by_role("link", name="Syncfy dashboard").click()
    form = page.get_by_test_id("subscription-form")
    form.locator("input[name=tenant]").fill(KEY)
    form.locator("input[name=url]").fill(receiver.url_for("/syncfy"))
    form.get_by_label("credentials.created").check()
    form.locator("textarea[name=headers]").fill("X-Team: payments")
    form.get_by_role("button", name="Create subscription").click()
    expect(page.get_by_test_id("subscriptions")).to_contain_text(receiver.url_for("/syncfy"))
    [created] = emulator.client.state("syncfy")["syncfy"]["tenants"][KEY]["records"]
    assert (created["events"], created["headers"], created["group_events"]) == (
        ["credentials.created"], {"X-Team": "payments"}, 0)

    page.get_by_test_id("subscriptions").get_by_role("button", name="Edit").click()
    form.get_by_label("Group events").check()
    form.get_by_label("credentials.updated").check()
    form.get_by_role("button", name="Save changes").click()
    expect(form.get_by_role("button", name="Create subscription")).to_be_visible()
    expect(page.get_by_test_id("subscriptions")).to_contain_text('["credentials.created","credentials.updated"]')
    [edited] = emulator.client.state("syncfy")["syncfy"]["tenants"][KEY]["records"]
    assert (edited["id_subscription"], edited["group_events"]) == (created["id_subscription"], 1)
    snap(page, shots / "syncfy-desktop.png")

    page.get_by_role("link", name="Fire an event").click()
    fire = page.locator("#fire-form")
    fire.locator("select[name=provider]").select_option("syncfy")
    fire.get_by_label("credentials.created").check()
    fire.locator("textarea[name=data]").fill('{"is_executing": 0}')
    fire.get_by_role("button", name="Fire").click()
    expect(page.get_by_test_id("fire-result")).to_contain_text("1 delivery")
    [received] = receiver.wait_for(1, timeout=WAIT_MS / 1000)
    assert received.headers["X-Team"] == "payments"
    assert received.json["events"][0]["payload"]["is_executing"] == 0
    snap(page, shots / "fire-desktop.png")

    page.get_by_role("link", name="Open the delivery log").click()
    item = delivery(page)
    expect(item).to_contain_text("delivered")
    expect(item.get_by_test_id("attempt-count")).to_have_text("1 attempt")
    item.locator("summary").first.click()
    expect(item.get_by_test_id("attempt")).to_contain_text("HTTP 200")
    expect(item).to_contain_text("request-signature")

    item.get_by_role("button", name="Redeliver").click()
    expect(item.get_by_test_id("attempt-count")).to_have_text("2 attempts")
    expect(item.get_by_test_id("attempt")).to_have_count(2)
    assert len(receiver.wait_for(2, timeout=WAIT_MS / 1000)) == 2
    item.get_by_text("Request headers").first.click()
    expect(item.locator("table.headers").first).to_contain_text("X-Team")
    snap(page, shots / "deliveries-desktop.png")
    item.get_by_text("Body", exact=True).click()
    expect(item.locator("pre").first).to_contain_text('"is_executing": 0')  # pretty-printed JSON

    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_test_id("webhooks")).to_contain_text(KEY)
    snap(page, shots / "webhooks-desktop.png")

    reset = page.get_by_role("button", name="Reset")
    reset.click()
    page.get_by_role("button", name="Really reset everything?").click()
    expect(page.get_by_test_id("webhooks")).to_contain_text("No webhooks registered yet")
    assert emulator.client.deliveries() == [] and emulator.client.state("syncfy")["syncfy"]["tenants"] == {}


def test_views_follow_changes_made_elsewhere(page: Page, emulator: Emulator, receiver: Receiver, shots: Path) -> None:
    open_view(page, emulator.url, "webhooks")
    expect(page.get_by_test_id("webhooks")).to_contain_text("No webhooks registered yet")
    emulator.client.create_webhook("gigapay", "MY_TOKEN", {"url": receiver.url_for("/gigapay"),
                                                           "events": ["Payout.created"]}, scope="my-integration")
    expect(page.get_by_test_id("webhooks")).to_contain_text(receiver.url_for("/gigapay"))  # no reload

    emulator.client.fire("gigapay", "Payout.created", wait=True)
    emulator.client.fire("gigapay", "Payout.accepted", url=receiver.url_for("/other"), secret="s", wait=True)
    page.get_by_role("link", name="Deliveries").click()
    expect(page.get_by_test_id("delivery")).to_have_count(2)
    filters = page.locator("#delivery-filters")
    filters.locator("select[name=provider]").select_option("gigapay")
    filters.locator("select[name=event]").select_option("Payout.accepted")
    expect(page.get_by_test_id("delivery")).to_have_count(1)
    expect(delivery(page)).to_contain_text("/other")
    filters.locator("select[name=status]").select_option("failed")
    expect(page.get_by_test_id("deliveries")).to_contain_text("No deliveries match")

    requests_view(page, emulator)
    snap(page, shots / "requests-desktop.png")
    emulator.client.add_fault("gigapay", status=429, times=2)
    page.get_by_role("link", name="Faults").click()
    expect(page.get_by_test_id("faults")).to_contain_text("HTTP 429")
    page.get_by_test_id("faults").get_by_role("button", name="Remove").click()
    page.get_by_test_id("faults").get_by_role("button", name="Remove?").click()
    expect(page.get_by_test_id("faults")).to_contain_text("No fault rules")
    assert emulator.client.faults() == []


def requests_view(page: Page, emulator: Emulator) -> None:
    """The journal lists provider calls and filters them."""
    for url, auth in [(emulator.client.url_for("gigapay") + "/webhooks/", "Token MY_TOKEN"),
                      (emulator.client.url_for("paybook") + "/webhooks", "api_key api_key=K")]:
        requests.get(url, headers={"Authorization": auth}, timeout=10)
    page.get_by_role("link", name="Requests").click()
    journal = page.get_by_test_id("requests")
    expect(journal.locator("tbody tr")).to_have_count(2)
    page.locator("#request-filters select[name=provider]").select_option("paybook")
    expect(journal.locator("tbody tr")).to_have_count(1)
    expect(journal).to_contain_text("/v1/webhooks")


def test_the_dashboard_rotates_the_key_and_deletes_and_the_fire_form_misbehaves(
        page: Page, emulator: Emulator, receiver: Receiver) -> None:
    webhook = {"url": receiver.url_for("/syncfy"), "events": ["credentials.created"]}
    emulator.client.create_webhook("syncfy", KEY, webhook)
    before = emulator.client.jwk("syncfy")
    open_view(page, emulator.url, "dashboard")
    expect(page.get_by_test_id("jwk")).to_contain_text(before["k"])
    page.get_by_role("button", name="Rotate key").click()
    expect(page.get_by_test_id("jwk")).not_to_contain_text(before["k"])
    after = emulator.client.jwk("syncfy")
    assert after["k"] != before["k"] and after["kid"] != before["kid"]
    expect(page.get_by_test_id("jwk")).to_contain_text(after["k"])

    page.get_by_role("link", name="Fire an event").click()
    fire = page.locator("#fire-form")
    fire.locator("select[name=provider]").select_option("syncfy")
    fire.locator("select[name=signature]").select_option("missing")
    fire.locator("input[name=duplicate]").fill("1")
    fire.get_by_label("Wait for the outcome").check()
    fire.get_by_role("button", name="Fire").click()
    expect(page.get_by_test_id("fire-result")).to_contain_text("delivered")
    first, second = receiver.wait_for(2, timeout=WAIT_MS / 1000)
    assert first.body == second.body  # the same notification twice
    assert not {h.lower() for h in first.headers} & {"request-signature"}  # and unsigned, as asked

    page.get_by_role("link", name="Syncfy dashboard").click()
    subscriptions = page.get_by_test_id("subscriptions")
    subscriptions.get_by_role("button", name="Delete").click()
    subscriptions.get_by_role("button", name="Really delete?").click()
    expect(subscriptions).to_contain_text(f"{KEY}0 webhooksNo webhooks.")
    assert emulator.client.state("syncfy")["syncfy"]["tenants"][KEY]["records"] == []


def test_user_data_is_shown_as_text_and_never_run(page: Page, emulator: Emulator, receiver: Receiver) -> None:
    script = "<script>window.pwned=1</script>"
    image = "<img src=x onerror=window.pwned=2>"
    emulator.client.create_webhook("syncfy", KEY, {
        "url": receiver.url_for("/syncfy?q=" + script), "events": ["credentials.created"],
        "description": image, "headers": {"X-Note": script}})
    emulator.client.fire("syncfy", "credentials.created", {"note": image}, wait=True)

    open_view(page, emulator.url, "webhooks")
    webhooks = page.get_by_test_id("webhooks")
    expect(webhooks).to_contain_text(image)
    expect(webhooks).to_contain_text(script)
    page.get_by_role("link", name="Deliveries").click()
    item = delivery(page)
    item.locator("summary").first.click()
    item.get_by_text("Body", exact=True).click()
    expect(item.locator("pre").first).to_contain_text(image)
    expect(item).to_contain_text(script)
    assert page.locator("main img, main script").count() == 0  # no element was made of the data
    assert page.evaluate("window.pwned") is None


def test_the_page_asks_for_the_admin_token_and_then_sends_it(
        browser: Browser, webhook_emulator_pool: Callable[..., EmulatorHandle]) -> None:
    guarded = webhook_emulator_pool(seed=1, admin_token=TOKEN)
    page, problems = new_page(browser, DESKTOP)
    sent: list[str | None] = []
    page.on("request", lambda request: sent.append(request.headers.get("authorization"))
            if "/_emulator/" in request.url and "/_emulator/ui" not in request.url else None)
    page.goto(guarded.url + "/_emulator/ui")
    dialog = page.locator("#token-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Token").fill("wrong")
    dialog.get_by_role("button", name="Use token").click()
    expect(dialog).to_contain_text("refused")
    dialog.get_by_label("Token").fill(TOKEN)
    dialog.get_by_role("button", name="Use token").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.get_by_test_id("facts")).to_contain_text("providers")
    assert f"Bearer {TOKEN}" in sent and "Bearer wrong" in sent
    page.reload()  # the token is kept for the tab
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.get_by_role("button", name="Forget token")).to_be_visible()
    assert not dialog.is_visible()
    page.context.close()
    assert [p for p in problems if "401" not in p] == []  # the browser logs each 401 it got


def test_a_narrow_window_gets_one_column_and_no_sideways_scrolling(browser: Browser, emulator: Emulator,
                                                                      receiver: Receiver, shots: Path) -> None:
    emulator.client.create_webhook("syncfy", KEY, {"url": receiver.url_for("/syncfy"),
                                                   "events": ["credentials.created"]})
    emulator.client.fire("syncfy", "credentials.created", wait=True)
    page, problems = new_page(browser, NARROW)
    for view in ("webhooks", "deliveries", "fire", "dashboard", "requests", "faults"):
        open_view(page, emulator.url, view)
        if view == "deliveries":
            expect(delivery(page)).to_contain_text("delivered")
            delivery(page).locator("summary").first.click()
        if view == "dashboard":
            expect(page.get_by_test_id("subscriptions")).to_contain_text(KEY)
            form = page.get_by_test_id("subscription-form").bounding_box()
            key = page.locator("#jwk-card").bounding_box()
            assert form and key and key["y"] >= form["y"] + form["height"]  # stacked, not side by side
        assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"], view
        snap(page, shots / f"{view}-narrow.png")
    page.context.close()
    assert problems == []


WIDE = {"width": 1400, "height": 1000}


def one_line(locator: Locator) -> bool:
    """Whether an element's text sits on one line (no wrapping)."""
    return locator.evaluate("el => el.getBoundingClientRect().height < "
                            "1.5 * parseFloat(getComputedStyle(el).lineHeight)")


def some_webhooks(emulator: Emulator, receiver: Receiver) -> None:
    """Webhooks of every provider (two of one tenant), as the README's examples create them."""
    client = emulator.client
    client.create_webhook("gigapay", "MY_TOKEN", {"url": receiver.url_for("/gigapay"), "events": [
        "Payout.created", "Payout.accepted"]}, scope="my-integration")
    client.create_webhook("gigapay", "MY_TOKEN", {"url": receiver.url_for("/gigapay/employees"),
                                                  "events": ["Employee.created"]}, scope="my-integration")
    client.create_webhook("syncfy", KEY, {"url": receiver.url_for("/syncfy"), "events": ["credentials.created"],
                                          "headers": {"X-Team": "payments"}, "description": "main"})
    client.create_webhook("paybook", "MY_KEY", {"url": receiver.url_for("/hook"),
                                                "events": ["credential_create", "refresh"]})
    client.create_webhook("centry", "MY_CENTRY_TOKEN", {"callback_url": receiver.url_for("/centry"),
                                                        "on_product_save": True})
    client.create_webhook("shareactor", "MY_SHARE_KEY", {"endpoint": receiver.url_for("/share"),
                                                         "event_type": "order.created"})


def test_the_webhooks_tab_is_a_table_per_provider_and_tenant_that_uses_the_width(
        browser: Browser, emulator: Emulator, receiver: Receiver, shots: Path) -> None:
    some_webhooks(emulator, receiver)
    page, problems = new_page(browser, WIDE)
    open_view(page, emulator.url, "webhooks")
    groups = page.get_by_test_id("webhook-group")
    expect(groups).to_have_count(5)
    gigapay = page.locator("[data-testid=webhook-group][data-provider=gigapay]")
    expect(gigapay.locator("h3")).to_contain_text("MY_TOKEN2 webhooks")
    expect(gigapay.locator("th")).to_have_text(["id", "url", "events", "scope", "created"])
    rows = gigapay.locator("tbody tr:not(.other)")
    expect(rows).to_have_count(2)
    expect(gigapay.locator("tbody tr.other").first).to_contain_text("secret_key")  # the other fields, below
    expect(rows.first).to_contain_text("Payout.createdPayout.accepted")
    expect(rows.first).to_contain_text("my-integration")
    centry = page.locator("[data-testid=webhook-group][data-provider=centry] tbody tr").first
    expect(centry).to_contain_text("on_product_save")  # the events a flag-style webhook wants, by name
    # Ids, scopes, times and URLs of this length do not wrap: 6 webhooks, 2 with a scope.
    for cell, count in (("span.nowrap", 6 + 2 + 6), ("span.url", 6)):
        spans = page.locator(f"table.webhook-table {cell}")
        expect(spans).to_have_count(count)
        assert [spans.nth(i).inner_text() for i in range(count) if not one_line(spans.nth(i))] == [], cell
    page.locator("#webhook-filters input[name=tenant]").fill("MY_T")
    expect(groups).to_have_count(1)
    page.locator("#webhook-filters input[name=tenant]").fill("")
    page.locator("#webhook-filters input[name=tenant]").blur()
    expect(groups).to_have_count(5)
    snap(page, shots / "inspector.png")
    page.context.close()

    narrow, narrow_problems = new_page(browser, NARROW)
    open_view(narrow, emulator.url, "webhooks")
    expect(narrow.get_by_test_id("webhook-group")).to_have_count(5)
    assert narrow.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    first = narrow.locator("table.webhook-table tbody td").first.bounding_box()
    second = narrow.locator("table.webhook-table tbody td").nth(1).bounding_box()
    assert first and second and second["y"] >= first["y"] + first["height"]  # cells stacked, labelled
    snap(narrow, shots / "inspector-narrow.png")
    narrow.context.close()
    assert problems == [] and narrow_problems == []


def test_a_delivery_nobody_answers_shows_why_without_opening_it(page: Page, emulator: Emulator) -> None:
    closed = f"http://127.0.0.1:{free_port()}/refused"
    emulator.client.fire("gigapay", "Payout.created", url=closed, secret="s")
    open_view(page, emulator.url, "deliveries")
    error = delivery(page).get_by_test_id("delivery-error")
    expect(error).to_contain_text(f"Cannot connect to host 127.0.0.1:{closed.split(':')[2].split('/')[0]}")
    expect(delivery(page).locator("summary").first).to_contain_text("no answer")


def test_the_delivery_log_shows_the_newest_deliveries_past_one_page(page: Page, emulator: Emulator,
                                                                     receiver: Receiver) -> None:
    for number in range(105):
        emulator.client.fire("gigapay", "Payout.created", url=receiver.url_for(f"/n{number}"), secret="s")
    open_view(page, emulator.url, "deliveries")
    items = page.get_by_test_id("delivery")
    expect(items).to_have_count(100)  # one page: the newest 100, newest first
    expect(items.first.locator(".summary-url")).to_have_text(receiver.url_for("/n104"))
    expect(items.last.locator(".summary-url")).to_have_text(receiver.url_for("/n5"))
    emulator.client.fire("gigapay", "Payout.created", url=receiver.url_for("/n105"), secret="s")
    expect(items.first.locator(".summary-url")).to_have_text(receiver.url_for("/n105"))  # (the page polls)


def test_the_objects_tab_shows_what_notifications_point_to(page: Page, emulator: Emulator) -> None:
    emulator.client.put_object("centry", "MY_CENTRY", "product", {"_id": "597644781d41c846ea0000ab", "name": "Mug"})
    emulator.client.fire("gigapay", "Payrun.created", tenant="MY_GIGAPAY", scope="my-integration")
    open_view(page, emulator.url, "objects")
    groups = page.get_by_test_id("object-group")
    expect(groups).to_have_count(2)
    centry = page.locator("[data-testid=object-group][data-provider=centry]")
    expect(centry.locator("h3")).to_contain_text("MY_CENTRY1 object")
    expect(centry.locator("article[data-kind=product]")).to_contain_text("597644781d41c846ea0000ab")
    expect(page.locator("[data-testid=object-group][data-provider=gigapay] article[data-kind=payrun]")).to_contain_text(
        "my-integration")
