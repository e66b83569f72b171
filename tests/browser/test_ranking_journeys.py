"""The rankings page in a real Chromium, on a phone and a laptop: a numbered chart with
posters and rank changes, tabs that are plain links, and nothing wider than the screen.

No transcoding: the series are rows with poster files, their views and unlocks written
directly, and the charts computed as the job computes them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from microdrama.db import make_engine, make_sessionmaker, session_scope, utcnow
from microdrama.discovery import rankings
from tests.support.browser import SQLITE_ONLY, Site, serve_site
from tests.support.rankings import genre_series, midnight_after, unlocked, viewers, watched

pytestmark = [pytest.mark.browser, SQLITE_ONLY]

HOUR = timedelta(hours=1)
# (title, genre, poster colour, viewers the day before, viewers on the day)
PLAN = [
    ("The Vampire Billionaire's Bride", "fantasy", "#6a2c8c", 2, 9),
    ("Revenge of the Betrayed Wife", "revenge", "#8c2c2c", 6, 4),
    ("Contract Marriage", "romance", "#2c6a8c", 0, 2),
]


@pytest.fixture(scope="module")
def site(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve_site(database_url, tmp_path_factory, []) as served:
        engine = make_engine(database_url)
        day = utcnow().date() - timedelta(days=1)
        end = midnight_after(day)
        with session_scope(make_sessionmaker(engine)) as db:
            for title, genre, colour, before, now in PLAN:
                series = genre_series(db, title, genre)
                poster = served.data_dir / "media" / series.episodes[0].media_asset.poster_key
                poster.parent.mkdir(parents=True, exist_ok=True)
                Image.new("RGB", (90, 160), colour).save(poster, "JPEG")
                for viewer in viewers(db, before):
                    watched(db, viewer, series, end - timedelta(days=1) - 5 * HOUR)
                for viewer in viewers(db, now):
                    watched(db, viewer, series, end - 3 * HOUR, episodes=3)
                    unlocked(db, viewer, series, end - 3 * HOUR)
            rankings.refresh(db, day=day)
        engine.dispose()
        yield served


def test_a_phone_shows_the_chart_and_moves_between_charts_by_links(phone_page: Page) -> None:
    phone_page.goto("/rankings")

    entries = phone_page.get_by_test_id("ranking-entry")
    expect(entries).to_have_count(3)
    expect(entries.first).to_contain_text("The Vampire Billionaire's Bride")
    expect(entries.first.get_by_test_id("rank-move")).to_have_attribute("data-move", "up")
    expect(entries.nth(1).get_by_test_id("rank-move")).to_have_attribute("data-move", "down")
    expect(entries.nth(2).get_by_test_id("rank-move")).to_have_attribute("data-move", "new")
    expect(entries.first.locator("img.rank-poster")).to_have_js_property("naturalWidth", 90)
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width

    phone_page.get_by_test_id("period-tabs").get_by_role("link", name="This week").click()
    phone_page.get_by_test_id("genre-tabs").get_by_role("link", name="Revenge").click()

    expect(phone_page).to_have_url("/rankings?period=weekly&genre=revenge")
    expect(entries).to_have_count(1)
    expect(
        phone_page.get_by_test_id("period-tabs").get_by_role("link", name="This week")
    ).to_have_attribute("aria-current", "page")
    phone_page.get_by_test_id("chart-tabs").get_by_role("link", name="Rising").click()
    phone_page.get_by_test_id("period-tabs").get_by_role("link", name="Today").click()
    expect(phone_page.get_by_test_id("rankings-empty")).to_contain_text("Nothing on this chart")

    phone_page.get_by_test_id("genre-tabs").get_by_role("link", name="All genres").click()
    entries.first.click()
    expect(phone_page.get_by_test_id("series-page")).to_be_visible()


def test_a_laptop_shows_the_same_column_as_the_other_pages(page: Page) -> None:
    page.goto("/rankings?chart=unlocked")

    expect(page.get_by_test_id("ranking-entry")).to_have_count(3)
    expect(page.get_by_test_id("chart-tabs").locator("[aria-current=page]")).to_have_text(
        "Top unlocked"
    )
    column = page.get_by_test_id("rankings-page").bounding_box()
    assert column is not None and 400 <= column["width"] <= 480, column
