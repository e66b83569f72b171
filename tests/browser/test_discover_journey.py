"""The Discover tab in a real Chromium, on a phone and a laptop: rows of posters with their
free or locked badge and the viewer's progress, a row that scrolls sideways (by keyboard and
by wheel) with its lazy posters loading as they come into view, the For You | Discover tabs,
and nothing wider than the screen.

No transcoding: the series are rows with poster files, their views written directly, and the
charts computed as the job computes them."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import update

from microdrama.accounts import service as accounts
from microdrama.accounts.models import Role, SessionKind
from microdrama.config import Settings
from microdrama.db import make_engine, make_sessionmaker, session_scope, utcnow
from microdrama.discovery import rankings
from microdrama.discovery.models import SeriesFollow
from tests.support.browser import SQLITE_ONLY, SeededSeries, Site, _context, serve_site
from tests.support.rankings import genre_series, viewers, watched

pytestmark = [pytest.mark.browser, SQLITE_ONLY]

GENRES = ["romance", "revenge", "fantasy"]
COLOURS = ["#6a2c8c", "#8c2c2c", "#2c6a8c", "#2c8c4a", "#8c6a2c", "#3c3c8c"]
SERIES = 12  # more than a phone shows across, so the rows scroll
# Screenshots for a person to look at (set MICRODRAMA_SCREENSHOTS to a folder).
SHOTS = os.environ.get("MICRODRAMA_SCREENSHOTS")


@pytest.fixture(scope="module")
def site(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve_site(database_url, tmp_path_factory, []) as served:
        engine = make_engine(database_url)
        now = utcnow()
        with session_scope(make_sessionmaker(engine)) as db:
            for n in range(SERIES):
                series = genre_series(db, f"Series {n + 1:02d}", GENRES[n % 3], episodes=4)
                series.free_episodes = (4, 2, 0)[n % 3]
                series.published_at = now - timedelta(days=n)
                poster = served.data_dir / "media" / series.episodes[0].media_asset.poster_key
                poster.parent.mkdir(parents=True, exist_ok=True)
                Image.new("RGB", (90, 160), COLOURS[n % len(COLOURS)]).save(poster, "JPEG")
                for viewer in viewers(db, SERIES - n):
                    watched(db, viewer, series, now - timedelta(hours=2), episodes=2)
                served.series[series.title] = SeededSeries(
                    series.id, series.title, [e.id for e in series.episodes]
                )
            rankings.refresh(db)
        engine.dispose()
        yield served


def _watch_two_episodes(page: Page, site: Site, title: str) -> None:
    """The device's viewer finished episodes 1 and 2 and stopped 12 s into episode 3."""
    page.goto("/")  # the device cookie
    episodes = site.series[title].episode_ids
    for episode_id in episodes[:2]:
        answer = page.request.post(
            f"/api/episodes/{episode_id}/progress", data={"position_ms": 30_000, "completed": True}
        )
        assert answer.ok, answer.text()
    page.request.post(f"/api/episodes/{episodes[2]}/progress", data={"position_ms": 12_000})


def _followed_when_three_were_out(database_url: str, series_id: int) -> None:
    """As if the viewer had followed the series one episode ago: it has a new one now."""
    engine = make_engine(database_url)
    with session_scope(make_sessionmaker(engine)) as db:
        db.execute(
            update(SeriesFollow).where(SeriesFollow.series_id == series_id).values(seen_episodes=3)
        )
    engine.dispose()


def _no_page_overflow(page: Page, width: int) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, scroll_width


def _one_line_header(page: Page) -> None:
    """The tabs and the viewer's links side by side, not wrapped onto two lines."""
    tabs = page.get_by_test_id("view-tabs").bounding_box()
    links = page.get_by_test_id("viewer-header").locator(".topbar-links").bounding_box()
    assert (
        tabs
        and links
        and abs(tabs["y"] + tabs["height"] / 2 - links["y"] - links["height"] / 2) < 8
    )


def _clear_of_continue_watching(page: Page) -> None:
    """The feed's header ends above its Continue watching row (a second line covered it)."""
    header = page.get_by_test_id("viewer-header").locator(".topbar-links").bounding_box()
    row = page.get_by_test_id("continue-watching").bounding_box()
    assert header and row and header["y"] + header["height"] <= row["y"], (header, row)


def _shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / name), full_page=True)


def test_a_phone_shows_rows_with_progress_and_a_row_scrolls_sideways(
    phone_page: Page, site: Site, database_url: str
) -> None:
    _watch_two_episodes(phone_page, site, "Series 05")
    followed = phone_page.request.put(f"/api/my-list/{site.series['Series 09'].id}")
    assert followed.ok, followed.text()
    _followed_when_three_were_out(database_url, site.series["Series 09"].id)

    _one_line_header(phone_page)  # the feed's header: tabs, search, My list, coins, sign in
    phone_page.get_by_test_id("tab-discover").click()

    expect(phone_page).to_have_url("/discover")
    rows = phone_page.get_by_test_id("discover-row")
    expect(rows.first).to_have_attribute("data-row", "continue")
    resume = rows.first.get_by_test_id("discover-poster").first
    expect(resume).to_contain_text("Series 05")
    expect(resume).to_contain_text("Ep 3 · 0:12")
    progress = resume.get_by_test_id("poster-progress")
    expect(progress).to_have_attribute("data-watched", "2")
    expect(resume.locator("img")).to_have_js_property("naturalWidth", 90)
    expect(rows.nth(1)).to_have_attribute("data-row", "my_list")
    listed = rows.nth(1).get_by_test_id("discover-poster")
    expect(listed).to_have_text(re.compile("Series 09"))
    expect(listed.get_by_test_id("poster-new")).to_have_text("New episode")
    # Free, "2 free" and locked posters side by side in New releases.
    new = phone_page.locator('[data-row="new"]')
    badges = new.get_by_test_id("poster-access")
    expect(badges.nth(0)).to_have_attribute("data-access", "free")
    expect(badges.nth(1)).to_have_text("2 free")
    expect(badges.nth(2)).to_have_attribute("data-access", "locked")
    # The same progress in every row that shows the series.
    everywhere = phone_page.locator('[data-testid="discover-poster"]:has-text("Series 05")')
    expect(everywhere.first.get_by_test_id("poster-progress")).to_be_visible()
    assert everywhere.count() >= 3
    _no_page_overflow(phone_page, 390)
    _one_line_header(phone_page)
    _shot(phone_page, "discover-phone.png")

    expect(phone_page.get_by_test_id("row-forward").first).to_be_hidden()  # touch: no arrows
    # Tab walks the Trending row: the row follows the focus sideways.
    trending = phone_page.locator('[data-row="trending"]')
    shelf = trending.get_by_test_id("row-shelf")
    posters = trending.get_by_test_id("discover-poster")
    expect(posters).to_have_count(SERIES)
    last = posters.last.locator("img")
    assert last.evaluate("img => img.complete && img.naturalWidth") == 0  # not loaded yet
    posters.first.focus()
    for _ in range(SERIES - 1):
        phone_page.keyboard.press("Tab")
    expect(posters.last).to_be_focused()
    assert shelf.evaluate("el => el.scrollLeft") > 300
    expect(last).to_have_js_property("naturalWidth", 90)  # loaded once in view
    _no_page_overflow(phone_page, 390)
    _shot(phone_page, "discover-phone-scrolled.png")

    trending.get_by_test_id("see-all").click()
    expect(phone_page).to_have_url("/rankings?period=weekly")


def test_a_laptop_shows_the_column_and_a_wheel_scrolls_a_row(page: Page) -> None:
    page.goto("/discover")

    rows = page.get_by_test_id("discover-row")
    expect(rows.first).to_have_attribute("data-row", "trending")  # a new device: shared rows
    keys = rows.evaluate_all("rows => rows.map(r => r.dataset.row)")
    assert keys[:4] == ["trending", "new", "binged", "free"], keys
    assert {"genre:romance", "genre:revenge", "genre:fantasy"} <= set(keys), keys
    expect(page.get_by_test_id("tab-discover")).to_have_attribute("aria-current", "page")
    expect(page.get_by_test_id("rankings-link")).to_be_visible()
    column = page.get_by_test_id("discover-page").bounding_box()
    assert column is not None and 400 <= column["width"] <= 480, column
    _no_page_overflow(page, 1280)

    shelf = page.locator('[data-row="new"]').get_by_test_id("row-shelf")
    box = shelf.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(400, 0)
    page.wait_for_function("el => el.scrollLeft > 100", arg=shelf.element_handle())
    # A mouse also gets arrows: forward scrolls Trending by most of its width.
    trending = page.locator('[data-row="trending"]')
    back, forward = trending.get_by_test_id("row-back"), trending.get_by_test_id("row-forward")
    expect(back).to_be_disabled()
    forward.click()
    page.wait_for_function(
        "el => el.scrollLeft > 300", arg=trending.get_by_test_id("row-shelf").element_handle()
    )
    expect(back).to_be_enabled()
    _shot(page, "discover-laptop.png")

    page.get_by_test_id("tab-for-you").click()
    expect(page.get_by_test_id("feed-card").first).to_be_visible()
    expect(page.get_by_test_id("tab-for-you")).to_have_attribute("aria-current", "page")
    _one_line_header(page)


@pytest.mark.parametrize(
    ("role", "menu"),
    [
        (Role.creator, ["Your account", "Studio"]),
        (Role.admin, ["Your account", "Studio", "Brand"]),
    ],
)
def test_a_creators_and_an_admins_header_is_one_line_on_a_phone_with_studio_in_the_menu(
    browser: Browser, site: Site, database_url: str, role: Role, menu: list[str]
) -> None:
    engine = make_engine(database_url)
    with session_scope(make_sessionmaker(engine)) as db:
        person = accounts.create_account(db=db, display_name=f"A {role.value}", role=role)
        token, _ = accounts.start_session(
            db=db,
            settings=Settings(environment="test", database_url=database_url),
            account=person,
            kind=SessionKind.cookie,
        )
    engine.dispose()
    context = _context(browser, site, phone=True)
    context.add_cookies([{"name": "md_session", "value": token, "url": site.base_url}])
    page = context.new_page()
    _watch_two_episodes(page, site, "Series 03")

    page.goto("/")
    _one_line_header(page)
    _clear_of_continue_watching(page)
    _no_page_overflow(page, 390)
    _shot(page, f"feed-{role.value}-phone.png")
    page.get_by_test_id("tab-discover").click()
    _one_line_header(page)
    _no_page_overflow(page, 390)

    page.get_by_test_id("account-menu").click()
    links = page.get_by_test_id("account-menu-list").get_by_role("link")
    expect(links).to_have_text(menu)
    _shot(page, f"discover-{role.value}-menu-phone.png")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("studio-link")).to_be_hidden()
    page.get_by_test_id("account-menu").click()
    page.get_by_test_id("studio-link").click()
    expect(page).to_have_url(re.compile("/studio$"))
    context.close()
