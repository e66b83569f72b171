"""The account page in a real Chromium: a person signed in on a laptop and a phone sees both,
signs the laptop out from the phone, then changes the password."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.support.browser import DESKTOP, PHONE, SQLITE_ONLY, Site, serve_site

pytestmark = [pytest.mark.browser, SQLITE_ONLY]

MAC_CHROME = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new secret"


@pytest.fixture(scope="module")
def site(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve_site(database_url, tmp_path_factory, []) as served:
        yield served


def _device(browser: Browser, site: Site, *, phone: bool) -> BrowserContext:
    context = browser.new_context(
        base_url=site.base_url,
        viewport=PHONE if phone else DESKTOP,
        user_agent=IPHONE_SAFARI if phone else MAC_CHROME,
        has_touch=phone,
        is_mobile=phone,
    )
    context.set_default_timeout(20_000)
    return context


def _shoot(page: Page, name: str, *, full_page: bool = True) -> None:
    """Screenshots for people to look at, when MICRODRAMA_SCREENSHOTS names a folder."""
    folder = os.environ.get("MICRODRAMA_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=full_page)


def test_a_person_signs_out_the_laptop_from_the_phone_and_changes_the_password(
    browser: Browser, site: Site
) -> None:
    email = f"ana-{uuid.uuid4().hex[:8]}@example.com"
    laptop = _device(browser, site, phone=False).new_page()
    laptop.goto("/signup")
    laptop.fill("input[name=email]", email)
    laptop.fill("input[name=password]", PASSWORD)
    laptop.click("button[type=submit]")
    expect(laptop.get_by_test_id("account-email")).to_have_text(email)

    phone = _device(browser, site, phone=True).new_page()
    phone.goto("/signin")
    phone.fill("input[name=email]", email)
    phone.fill("input[name=password]", PASSWORD)
    phone.click("button[type=submit]")

    sessions = phone.get_by_test_id("session")
    expect(sessions).to_have_count(2)
    this_device = phone.locator("[data-testid=session][data-current=true]")
    expect(this_device.get_by_test_id("session-device")).to_have_text("Safari on iPhone")
    expect(this_device.get_by_test_id("this-device")).to_have_text("This device")
    expect(this_device.get_by_test_id("session-seen")).to_contain_text("Active now")
    other = phone.locator("[data-testid=session][data-current=false]")
    expect(other.get_by_test_id("session-device")).to_have_text("Chrome on Mac")
    _shoot(phone, "account-sessions-phone")
    laptop.reload()
    _shoot(laptop, "account-sessions-desktop")

    phone.get_by_role("button", name="Sign out of the other session").click()

    expect(phone.get_by_test_id("account-notice")).to_have_text("Signed out of 1 other session.")
    expect(sessions).to_have_count(1)
    expect(phone.get_by_test_id("only-here")).to_be_visible()
    _shoot(phone, "account-signed-out-others-phone", full_page=False)
    laptop.reload()
    expect(laptop.get_by_test_id("guest-invite")).to_be_visible()

    # The laptop signs in again; then the phone changes the password.
    laptop.goto("/signin")
    laptop.fill("input[name=email]", email)
    laptop.fill("input[name=password]", PASSWORD)
    laptop.click("button[type=submit]")
    expect(laptop.get_by_test_id("account-email")).to_have_text(email)
    phone.reload()
    expect(sessions).to_have_count(2)

    form = phone.get_by_test_id("password-form")
    form.locator("input[name=current_password]").fill("not my password")
    form.locator("input[name=new_password]").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Change password").click()
    expect(phone.get_by_test_id("current-password-error")).to_have_text(
        "That is not your current password."
    )
    _shoot(phone, "account-password-error-phone")

    form.locator("input[name=current_password]").fill(PASSWORD)
    form.locator("input[name=new_password]").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Change password").click()

    expect(phone.get_by_test_id("account-notice")).to_have_text(
        "Password changed. Your other sessions were signed out."
    )
    expect(sessions).to_have_count(1)
    _shoot(phone, "account-password-changed-phone", full_page=False)
    laptop.reload()
    expect(laptop.get_by_test_id("guest-invite")).to_be_visible()
    laptop.goto("/signin")
    laptop.fill("input[name=email]", email)
    laptop.fill("input[name=password]", NEW_PASSWORD)
    laptop.click("button[type=submit]")
    expect(laptop.get_by_test_id("account-email")).to_have_text(email)
