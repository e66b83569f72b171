"""The paywall in a real Chromium: free episodes, the sheet, buying coins, unlocking, the wallet.

A series of four 3-second episodes, the first two free at 60 coins an episode. Every wait is on
something the viewer sees (the sheet, a label, the video's clock), never a sleep.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import SQLITE_ONLY, SeriesPlan, Site, serve_site

# On PostgreSQL, the production database, the first journeys run behind nginx
# (test_nginx_journeys.py).
pytestmark = [pytest.mark.browser, SQLITE_ONLY]

WAIT_MS = 30_000
SERIES = "Locked Legacy"
GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"

PLAYING = """(episodeId) => window.__player && window.__player.episodeId === episodeId
  && window.__player.video.currentTime > 0.5 && !window.__player.video.paused"""


@pytest.fixture(scope="module")
def site(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    plan = [SeriesPlan(SERIES, "revenge", "maroon", [3.0] * 4, free_episodes=2)]
    with serve_site(database_url, tmp_path_factory, plan) as served:
        yield served


def _pay_on_sandbox_checkout(page: Page, card: str) -> None:
    expect(page.get_by_test_id("sandbox-checkout")).to_be_visible()
    page.get_by_label("Card number").fill(card)
    page.get_by_label("Expiry").fill("12/39")
    page.get_by_label("CVC").fill("123")
    page.get_by_test_id("checkout-pay").click()


def _buy_coins_through_the_api(page: Page, pack: str = "coins_500") -> None:
    """A top-up done beforehand (the checkout page itself is exercised by the story above)."""
    created = page.request.post(
        "/api/purchases",
        data={"coin_pack": pack, "return_to": "/wallet"},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert created.status == 201, created.text()
    paid = page.request.post(
        created.json()["checkout_url"],
        form={"card_number": GOOD_CARD, "expiry": "12/39", "cvc": "123", "return_to": "/wallet"},
        max_redirects=0,
    )
    assert paid.status == 303, paid.text()


def test_guest_hits_the_paywall_buys_coins_unlocks_and_the_episode_plays(
    page: Page, site: Site
) -> None:
    first, second, third, _fourth = site.series[SERIES].episode_ids
    gated: list[str] = []
    page.on("request", lambda r: gated.append(r.url) if f"/episodes/{third}/hls" in r.url else None)

    page.goto(f"/watch/{first}")
    page.wait_for_function(PLAYING, arg=first, timeout=WAIT_MS)
    page.wait_for_function(PLAYING, arg=second, timeout=WAIT_MS)

    # Autoplay reaches episode 3: the sheet over the last frame of episode 2, nothing loaded.
    sheet = page.get_by_role("dialog", name="Episode 3 is locked")
    expect(sheet).to_be_visible(timeout=WAIT_MS)
    expect(sheet.get_by_test_id("paywall-price")).to_have_text("60 coins ($0.60)")
    expect(sheet.get_by_test_id("paywall-balance")).to_contain_text("Your balance: 0 coins")
    expect(sheet.get_by_role("heading", name="You need 60 more coins")).to_be_visible()
    expect(sheet.get_by_test_id("paywall-unlock")).to_be_hidden()
    expect(page.get_by_test_id("episode-label")).to_have_text("Episode 2 / 4")
    assert page.evaluate("window.__player.episodeId") == second
    assert gated == []

    sheet.get_by_role("button", name="Buy 100 coins for $0.99").click()
    _pay_on_sandbox_checkout(page, GOOD_CARD)

    # Back in the player, the sheet is ready to unlock with the new balance.
    expect(page).to_have_url(re.compile(f"/watch/{third}"))
    sheet = page.get_by_role("dialog", name="Episode 3 is locked")
    expect(sheet.get_by_test_id("paywall-notice")).to_contain_text("Payment received: 100 coins")
    expect(sheet.get_by_test_id("paywall-balance")).to_contain_text("Your balance: 100 coins")
    expect(page.get_by_test_id("coin-pill")).to_contain_text("100")
    sheet.get_by_role("button", name="Unlock for 60 coins").click()

    expect(sheet).to_be_hidden()
    page.wait_for_function(PLAYING, arg=third, timeout=WAIT_MS)
    expect(page.get_by_test_id("episode-label")).to_have_text("Episode 3 / 4")
    expect(page.get_by_test_id("coin-pill")).to_contain_text("40")
    tap_to_frame_ms = page.evaluate("__player.firstFrameAt - __paywall.unlockTappedAt")
    print(f"unlock tap to first frame: {tap_to_frame_ms:.0f} ms")
    assert tap_to_frame_ms > 0

    page.goto("/wallet")
    expect(page.get_by_test_id("wallet-balance")).to_contain_text("40")
    rows = page.get_by_test_id("history-row")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(f"Unlocked episode 3 of {SERIES}")
    expect(rows.nth(0)).to_contain_text("\u221260 coins")  # a real minus sign
    expect(rows.nth(1)).to_contain_text("+100 coins")
    expect(rows.nth(1)).to_contain_text("paid $0.99")


def test_a_declined_card_leaves_the_balance_unchanged(page: Page, site: Site) -> None:
    third = site.series[SERIES].episode_ids[2]
    page.goto(f"/series/{site.series[SERIES].id}")
    page.get_by_role("link", name=re.compile("^Episode 3, .*locked")).click()

    sheet = page.get_by_role("dialog", name="Episode 3 is locked")
    expect(sheet).to_be_visible()
    sheet.get_by_role("button", name="Buy 100 coins for $0.99").click()
    _pay_on_sandbox_checkout(page, DECLINED_CARD)

    expect(page.get_by_test_id("checkout-error")).to_contain_text("declined")
    page.get_by_role("link", name="Cancel").click()

    expect(page).to_have_url(re.compile(f"/watch/{third}$"))
    sheet = page.get_by_role("dialog", name="Episode 3 is locked")
    expect(sheet.get_by_test_id("paywall-balance")).to_contain_text("Your balance: 0 coins")
    page.goto("/wallet")
    expect(page.get_by_test_id("wallet-balance")).to_contain_text("0 coins")
    expect(page.get_by_test_id("wallet-page")).to_have_attribute("aria-busy", "false")
    expect(page.get_by_test_id("history-row")).to_have_count(0)
    expect(page.get_by_text("Nothing yet: purchases, unlocks")).to_be_visible()


def test_with_auto_unlock_on_the_next_episode_plays_without_the_sheet(
    page: Page, site: Site
) -> None:
    _first, _second, third, fourth = site.series[SERIES].episode_ids
    page.goto("/")  # the device cookie, so the API top-up and the player share one guest
    _buy_coins_through_the_api(page)

    page.goto(f"/watch/{third}")
    sheet = page.get_by_role("dialog", name="Episode 3 is locked")
    expect(sheet.get_by_test_id("paywall-balance")).to_contain_text("Your balance: 500 coins")
    sheet.get_by_role("switch", name=re.compile("Auto-unlock next episode")).check()
    expect(page.get_by_test_id("toast")).to_contain_text("Auto-unlock is on")
    sheet.get_by_role("button", name="Unlock for 60 coins").click()
    page.wait_for_function(PLAYING, arg=third, timeout=WAIT_MS)

    # Episode 3 ends: episode 4 unlocks and plays by itself, with a small note instead of the sheet.
    page.wait_for_function(PLAYING, arg=fourth, timeout=WAIT_MS)
    expect(page.get_by_test_id("toast")).to_have_text("Unlocked episode 4 · 60 coins")
    expect(page.get_by_test_id("paywall")).to_be_hidden()
    expect(page.get_by_test_id("coin-pill")).to_contain_text("380")


def test_watch_an_ad_to_unlock_plays_the_ad_then_the_episode(page: Page, site: Site) -> None:
    third = site.series[SERIES].episode_ids[2]
    page.goto(f"/watch/{third}")
    sheet = page.get_by_role("dialog", name="Episode 3 is locked")

    sheet.get_by_role("button", name=re.compile("Watch an ad to unlock")).click()

    ad = page.get_by_role("dialog", name="Advertisement")
    expect(ad).to_be_visible()
    expect(ad).to_contain_text(re.compile(r"Reward in \d+ s"))
    expect(ad.get_by_role("button")).to_have_count(0)  # no skip, no close
    page.wait_for_function(PLAYING, arg=third, timeout=WAIT_MS)
    expect(ad).to_be_hidden()
    expect(page.get_by_test_id("toast")).to_contain_text("Unlocked episode 3")


def test_a_gentle_reminder_after_the_daily_watch_time_the_viewer_chose(
    page: Page, site: Site
) -> None:
    first = site.series[SERIES].episode_ids[0]
    page.goto("/")
    changed = page.request.patch("/api/me/settings", data={"watch_reminder_minutes": 5})
    assert changed.ok, changed.text()
    page.goto(f"/watch/{first}")
    page.wait_for_function(PLAYING, arg=first, timeout=WAIT_MS)

    page.evaluate("window.__reminder.add(5 * 60)")  # five minutes of watching, fast-forwarded

    reminder = page.get_by_test_id("watch-reminder")
    expect(reminder).to_contain_text("You have watched for 5 minutes today")
    reminder.get_by_role("button", name="Keep watching").click()
    expect(reminder).to_be_hidden()
    page.reload()
    page.wait_for_function(PLAYING, arg=first, timeout=WAIT_MS)
    page.evaluate("window.__reminder.add(60)")
    expect(page.get_by_test_id("watch-reminder")).to_have_count(0)


def _sign_in(page: Page, path: str, email: str) -> None:
    page.goto(path)
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/(account)?$"))


def test_after_signing_out_and_in_the_wallet_remembers_todays_check_in(
    page: Page, browser: Browser, site: Site
) -> None:
    email = f"checkin-{uuid.uuid4().hex[:8]}@example.com"
    _sign_in(page, "/signup", email)
    page.goto("/wallet")
    page.get_by_test_id("checkin").click()
    expect(page.get_by_test_id("checkin")).to_have_text("Checked in")
    page.goto("/account")
    page.get_by_test_id("logout-form").get_by_role("button").click()
    page.wait_for_load_state()

    # Signing in again in a browser with nothing stored (another phone, cleared data).
    other = browser.new_context(base_url=site.base_url)
    again = other.new_page()
    _sign_in(again, "/signin", email)
    again.goto("/wallet")

    expect(again.get_by_test_id("wallet-page")).to_have_attribute("aria-busy", "false")
    expect(again.get_by_test_id("checkin")).to_be_disabled()
    expect(again.get_by_test_id("checkin")).to_have_text("Checked in")
    expect(again.get_by_test_id("wallet-history")).to_contain_text("Daily check-in")
    other.close()
