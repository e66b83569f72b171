"""The player's analytics in a real Chromium: watching and leaving the page stores the events,
and the creator reads them on the studio's analytics page."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from microdrama.accounts import service as accounts
from microdrama.accounts.models import Account, SessionKind
from microdrama.analytics.models import PlaybackEvent
from microdrama.catalog.models import Series
from microdrama.config import Settings
from microdrama.db import make_engine, make_sessionmaker, session_scope
from tests.support.browser import DESKTOP, PHONE, SQLITE_ONLY, SeriesPlan, Site, serve_site

pytestmark = [pytest.mark.browser, SQLITE_ONLY]

WAIT_MS = 30_000


@pytest.fixture(scope="module")
def site(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One published series of three short free episodes, and one nobody watches."""
    plan = [
        SeriesPlan("Contract Bride", "romance", "teal", [4.0, 4.0, 4.0]),
        SeriesPlan("Quiet Hours", "drama", "purple", [2.0]),
    ]
    with serve_site(database_url, tmp_path_factory, plan) as served:
        yield served


def _events(database_url: str, series_id: int) -> list[tuple[str, int, int]]:
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as db:
            rows = db.execute(
                select(PlaybackEvent.kind, PlaybackEvent.episode_id, PlaybackEvent.position_ms)
                .where(PlaybackEvent.series_id == series_id)
                .order_by(PlaybackEvent.occurred_at, PlaybackEvent.id)
            )
            return [(kind, episode_id, position) for kind, episode_id, position in rows]
    finally:
        engine.dispose()


def _owner_cookie(database_url: str, site: Site, series_id: int) -> dict[str, str]:
    engine = make_engine(database_url)
    settings = Settings(environment="test", data_dir=site.data_dir, database_url=database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            series = db.get(Series, series_id)
            assert series is not None
            owner = db.get(Account, series.owner_id)
            assert owner is not None
            token, _ = accounts.start_session(
                db=db, settings=settings, account=owner, kind=SessionKind.cookie
            )
    finally:
        engine.dispose()
    return {
        "name": "md_session",
        "value": token,
        "domain": urlsplit(site.base_url).hostname or "",
        "path": "/",
    }


def test_watching_then_leaving_the_page_stores_the_events_and_the_creator_sees_them(
    page: Page, browser: Browser, site: Site, database_url: str
) -> None:
    series = site.series["Contract Bride"]
    first, second, _ = series.episode_ids

    page.goto(f"/watch/{first}")
    # Episode 1 plays to its end, episode 2 starts by itself; the viewer leaves during it.
    page.wait_for_function(
        """(id) => window.__player && window.__player.episodeId === id
                   && window.__player.video.currentTime > 1""",
        arg=second,
        timeout=WAIT_MS,
    )
    page.goto("about:blank")  # pagehide: the rest goes out by sendBeacon

    def stored() -> list[tuple[str, int, int]]:
        return _events(database_url, series.id)

    events: list[tuple[str, int, int]] = []
    for _ in range(100):  # the beacon lands a moment after the page is gone
        events = stored()
        if any(kind == "swipe_away" for kind, _, _ in events):
            break
        page.wait_for_timeout(100)
    kinds = [(kind, episode) for kind, episode, _ in events]
    assert ("start", first) in kinds
    assert ("complete", first) in kinds
    assert ("start", second) in kinds
    leave = [(e, p) for kind, e, p in events if kind == "swipe_away"]
    assert len(leave) == 1 and leave[0][0] == second and leave[0][1] >= 1_000
    assert ("swipe_away", first) not in kinds  # finished episodes are not "left"

    context = browser.new_context(base_url=site.base_url, viewport={"width": 1280, "height": 800})
    context.add_cookies([_owner_cookie(database_url, site, series.id)])  # type: ignore[list-item]
    studio = context.new_page()
    errors: list[str] = []
    studio.on("pageerror", lambda error: errors.append(str(error)))
    studio.goto(f"/studio/series/{series.id}/analytics")
    expect(studio.get_by_test_id("analytics-title")).to_have_text("Contract Bride")
    rows = studio.get_by_test_id("episode-row")
    expect(rows).to_have_count(3)
    expect(studio.locator("[data-total=views]")).to_have_text("2")
    expect(rows.nth(0).locator("td").nth(3)).to_have_text("100 %")  # episode 1: completed
    expect(rows.nth(0).locator("td").nth(5)).to_have_text("100 %")  # ... and went on to 2
    studio.wait_for_function(
        "() => window.__studioAnalytics && window.__studioAnalytics.charts.retention"
        " && window.__studioAnalytics.charts.retention.data.datasets.length === 3"
    )
    with studio.expect_download() as download:
        studio.get_by_test_id("analytics-csv").click()
    assert download.value.suggested_filename == f"series-{series.id}-analytics.csv"
    context.close()
    assert not errors, errors


def _studio_page(
    browser: Browser, site: Site, database_url: str, series_id: int, viewport: dict[str, int]
) -> Page:
    context = browser.new_context(base_url=site.base_url, viewport=viewport)  # type: ignore[arg-type]
    context.add_cookies([_owner_cookie(database_url, site, series_id)])  # type: ignore[list-item]
    studio = context.new_page()
    studio.goto(f"/studio/series/{series_id}/analytics")
    expect(studio.get_by_test_id("studio-analytics")).to_have_attribute("aria-busy", "false")
    return studio


def test_a_series_nobody_has_watched_says_no_data_yet_instead_of_a_flat_zero_line(
    browser: Browser, site: Site, database_url: str
) -> None:
    series = site.series["Quiet Hours"]
    studio = _studio_page(browser, site, database_url, series.id, DESKTOP)

    for panel in ["retention-chart", "funnel-chart", "continuation-chart"]:
        area = studio.get_by_test_id(panel).locator("xpath=..")
        expect(area.get_by_test_id("no-data")).to_contain_text("No data yet")
        expect(studio.get_by_test_id(panel)).to_be_hidden()
    table = studio.get_by_test_id("episode-table")
    expect(table.get_by_test_id("no-data")).to_contain_text("No data yet")
    expect(table.get_by_test_id("episode-row")).to_have_count(0)
    assert studio.evaluate("() => Object.keys(window.__studioAnalytics.charts)") == []
    studio.context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_revenue_by_source_fits_inside_its_card(
    browser: Browser, site: Site, database_url: str, viewport: dict[str, int]
) -> None:
    series = site.series["Contract Bride"]
    studio = _studio_page(browser, site, database_url, series.id, viewport)
    table = studio.get_by_test_id("revenue-table")
    expect(table.get_by_test_id("revenue-row")).to_have_count(3)

    fits = studio.evaluate(
        """() => {
            const table = document.querySelector("[data-testid=revenue-table]");
            const card = table.closest(".bo-card");
            return {
                table: table.getBoundingClientRect().right <= card.getBoundingClientRect().right,
                card: card.scrollWidth <= card.clientWidth,
                page: document.documentElement.scrollWidth <= window.innerWidth,
            };
        }"""
    )
    assert fits == {"table": True, "card": True, "page": True}
    studio.context.close()
