"""For You in a real Chromium: two new viewers, one on a phone and one on a laptop, both open
the feed on the same trending series; each finishes a series of a different genre, and once
For You is trained each one's feed opens on another series of the genre they watched.

No transcoding: the series are rows with poster files (the feed renders without playable
video), the other viewers' histories are written as the rows the app keeps, and the two
viewers' own histories go through the app's event API from their browsers' devices."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from microdrama.db import make_engine, make_sessionmaker, session_scope
from microdrama.discovery.training import train
from tests.support.analytics import event
from tests.support.browser import SQLITE_ONLY, SeededSeries, Site, _context, serve_site
from tests.support.discovery import binged, make_viewer, series_of

pytestmark = [pytest.mark.browser, SQLITE_ONLY]

# genre -> (titles, poster colour); four other viewers binge every series of each genre.
GENRES = {
    "vampire": (["Fangs at Midnight", "The Blood Contract", "Crimson Heir"], "#6a2c8c"),
    "office": (["Boardroom Vows", "The CEO's Assistant", "Quarterly Hearts"], "#2c6a8c"),
}
FANS_PER_GENRE = 4


def _catalog_and_fans(site: Site, database_url: str) -> None:
    engine = make_engine(database_url)
    with session_scope(make_sessionmaker(engine)) as db:
        for genre, (titles, colour) in GENRES.items():
            shelf = [series_of(db, genre, title, days_old=5) for title in titles]
            for series in shelf:
                site.series[series.title] = SeededSeries(
                    series.id, series.title, [e.id for e in series.episodes]
                )
                poster = site.data_dir / "media" / series.episodes[0].media_asset.poster_key
                poster.parent.mkdir(parents=True, exist_ok=True)
                Image.new("RGB", (90, 160), colour).save(poster, "JPEG")
            for n in range(FANS_PER_GENRE):
                fan = make_viewer(db, f"{genre} fan {n}")
                for series in shelf:
                    binged(db, fan, series)
    engine.dispose()


@pytest.fixture(scope="module")
def site(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The shelves and their fans are in before the server starts: a feed it answered (and
    cached for up to a minute) before them would show the empty catalog's order."""
    with serve_site(
        database_url, tmp_path_factory, [], prepare=lambda s: _catalog_and_fans(s, database_url)
    ) as served:
        yield served


def _shoot(page: Page, name: str) -> None:
    """Screenshots for people to look at, when MICRODRAMA_SCREENSHOTS names a folder."""
    folder = os.environ.get("MICRODRAMA_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def _finish_series(page: Page, series: SeededSeries) -> None:
    """The viewer's device reports every episode of the series watched to the end, as the
    player does."""
    batch = [event(episode_id, "complete") for episode_id in series.episode_ids]
    assert page.request.post("/api/events", data={"events": batch}).ok


def _any_of(titles: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(title) for title in titles))


def _first_card(page: Page) -> str:
    page.goto("/")
    first = page.get_by_test_id("feed-card").first
    expect(first).to_be_visible()
    return first.get_attribute("data-series-id") or ""


def test_two_viewers_who_watched_different_genres_open_the_feed_on_different_series(
    browser: Browser, site: Site, database_url: str
) -> None:
    errors: list[str] = []
    ana = _context(browser, site, phone=True).new_page()
    ben = _context(browser, site, phone=False).new_page()
    for page in (ana, ben):
        page.on("pageerror", lambda error: errors.append(str(error)))
    # New devices (a guest account each) that For You knows nothing of: both get Trending.
    assert _first_card(ana) == _first_card(ben)
    _finish_series(ana, site.series["Fangs at Midnight"])
    _finish_series(ben, site.series["Boardroom Vows"])

    engine = make_engine(database_url)
    train(make_sessionmaker(engine))
    engine.dispose()

    ana_first, ben_first = _first_card(ana), _first_card(ben)
    _shoot(ana, "for-you-phone")
    _shoot(ben, "for-you-laptop")

    assert ana_first != ben_first
    ana_card = ana.locator(f'[data-testid=feed-card][data-series-id="{ana_first}"]')
    ben_card = ben.locator(f'[data-testid=feed-card][data-series-id="{ben_first}"]')
    # Another series of the genre each one finished, not the one they finished.
    expect(ana_card).to_contain_text(_any_of(GENRES["vampire"][0][1:]))
    expect(ben_card).to_contain_text(_any_of(GENRES["office"][0][1:]))
    for page, width in ((ana, 390), (ben, 1280)):
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, scroll_width
    for page in (ana, ben):
        page.context.close()
    assert not errors, errors
