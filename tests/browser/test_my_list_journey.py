"""My list in a real Chromium, on a phone and a laptop: a guest follows a series from its page
or from the feed, finds it in My list; when the series publishes an episode the poster and the
My list link show a badge, which clears once the viewer opens the series.

No transcoding: the series are rows with poster files, and the new episode is the rows a
transcoded and approved episode leaves."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from microdrama.catalog.models import Series
from microdrama.db import make_engine, make_sessionmaker, session_scope
from tests.support.browser import SQLITE_ONLY, SeededSeries, Site, serve_site
from tests.support.discovery import series_of
from tests.support.my_list import new_episode

pytestmark = [pytest.mark.browser, SQLITE_ONLY]

PLAN = [
    ("The Vampire Billionaire's Bride", "fantasy", "#6a2c8c"),
    ("Revenge of the Betrayed Wife", "revenge", "#8c2c2c"),
    ("Contract Marriage", "romance", "#2c6a8c"),
]


@pytest.fixture(scope="module")
def site(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve_site(database_url, tmp_path_factory, []) as served:
        engine = make_engine(database_url)
        with session_scope(make_sessionmaker(engine)) as db:
            for days_old, (title, genre, colour) in enumerate(PLAN, start=1):
                series = series_of(db, genre, title, days_old=days_old)
                served.series[title] = SeededSeries(
                    series.id, title, [e.id for e in series.episodes]
                )
                poster = served.data_dir / "media" / series.episodes[0].media_asset.poster_key
                poster.parent.mkdir(parents=True, exist_ok=True)
                Image.new("RGB", (90, 160), colour).save(poster, "JPEG")
        engine.dispose()
        yield served


def _publish_episode(database_url: str, series_id: int) -> None:
    """The series gets a new episode, as the studio and the moderation leave it."""
    engine = make_engine(database_url)
    with session_scope(make_sessionmaker(engine)) as db:
        series = db.get(Series, series_id)
        assert series is not None
        new_episode(db, series)
    engine.dispose()


def _shoot(page: Page, name: str) -> None:
    """Screenshots for people to look at, when MICRODRAMA_SCREENSHOTS names a folder."""
    folder = os.environ.get("MICRODRAMA_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def _fits(page: Page, width: int) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, scroll_width


def test_a_phone_follows_from_the_series_page_and_sees_the_new_episode_badge(
    phone_page: Page, site: Site, database_url: str
) -> None:
    series = site.series["Revenge of the Betrayed Wife"]
    phone_page.goto("/my-list")
    expect(phone_page.get_by_test_id("my-list-empty")).to_contain_text("Nothing in My list yet")
    _shoot(phone_page, "my-list-empty-phone")
    _fits(phone_page, 390)

    phone_page.goto(f"/series/{series.id}")
    follow = phone_page.get_by_role("button", name=f"My list: {series.title}")
    expect(follow).to_have_attribute("aria-pressed", "false")
    with phone_page.expect_response(lambda r: "/api/my-list/" in r.url and r.ok):
        follow.click()
    expect(follow).to_have_attribute("aria-pressed", "true")
    _shoot(phone_page, "my-list-series-page-phone")
    _fits(phone_page, 390)

    phone_page.goto("/my-list")
    items = phone_page.get_by_test_id("my-list-item")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text(series.title)
    expect(items.first.locator("img")).to_have_js_property("naturalWidth", 90)
    expect(phone_page.get_by_test_id("new-episodes")).to_have_count(0)

    _publish_episode(database_url, series.id)

    phone_page.goto("/")
    badge = phone_page.get_by_test_id("my-list-badge")
    expect(badge).to_be_visible()
    expect(badge).to_have_text("1")
    expect(phone_page.get_by_test_id("my-list-link")).to_have_attribute(
        "aria-label", "My list, 1 with new episodes"
    )
    _shoot(phone_page, "my-list-link-phone")
    _fits(phone_page, 390)
    phone_page.get_by_test_id("my-list-link").click()
    expect(phone_page.get_by_test_id("new-episodes")).to_have_text("1 new")
    expect(phone_page.get_by_test_id("latest-episode")).to_have_text("Latest: today")
    expect(phone_page.get_by_test_id("my-list-summary")).to_contain_text("1 with new episodes")
    _shoot(phone_page, "my-list-badge-phone")
    _fits(phone_page, 390)

    items.first.click()  # opening the series clears its badge
    expect(phone_page.get_by_test_id("series-page")).to_be_visible()
    phone_page.goto(f"/watch/{series.episode_ids[0]}")
    expect(phone_page.get_by_test_id("follow-button")).to_have_attribute("aria-pressed", "true")
    _shoot(phone_page, "my-list-player-phone")
    _fits(phone_page, 390)
    phone_page.goto("/my-list")
    expect(items).to_have_count(1)
    expect(phone_page.get_by_test_id("new-episodes")).to_have_count(0)
    phone_page.goto("/")
    expect(phone_page.get_by_test_id("my-list-badge")).to_be_hidden()


def test_a_laptop_follows_from_the_feed_and_unfollows_from_the_player(
    page: Page, site: Site, database_url: str
) -> None:
    series = site.series["Contract Marriage"]
    page.goto("/")
    card = page.locator(f'[data-testid=feed-card][data-series-id="{series.id}"]')
    follow = card.get_by_test_id("follow-button")
    expect(follow).to_have_attribute("aria-pressed", "false")
    # By keyboard: the preview of a series without video may show its error over the card.
    follow.focus()
    with page.expect_response(lambda r: "/api/my-list/" in r.url and r.ok):
        page.keyboard.press("Enter")
    expect(follow).to_have_attribute("aria-pressed", "true")

    page.goto("/my-list")
    expect(page.get_by_test_id("my-list-item")).to_have_count(1)
    expect(page.get_by_test_id("my-list-item").first).to_contain_text(series.title)

    _publish_episode(database_url, series.id)
    page.reload()
    expect(page.get_by_test_id("new-episodes")).to_have_text("1 new")
    _shoot(page, "my-list-badge-laptop")
    _fits(page, 1280)
    column = page.get_by_test_id("my-list-page").bounding_box()
    assert column is not None and 400 <= column["width"] <= 480, column

    page.goto(f"/watch/{series.episode_ids[0]}")
    in_player = page.get_by_role("button", name=f"My list: {series.title}")
    expect(in_player).to_have_attribute("aria-pressed", "true")
    _shoot(page, "my-list-player-laptop")
    # By keyboard: without video the player's error covers the buttons, and it takes the
    # focus when it shows (hls.js gives up after its retries), so let it show first.
    expect(page.get_by_test_id("player-error")).to_be_visible()
    in_player.focus()
    with page.expect_response(lambda r: "/api/my-list/" in r.url and r.ok):
        page.keyboard.press("Enter")
    expect(in_player).to_have_attribute("aria-pressed", "false")

    page.goto("/my-list")
    expect(page.get_by_test_id("my-list-empty")).to_be_visible()
    _shoot(page, "my-list-empty-laptop")
