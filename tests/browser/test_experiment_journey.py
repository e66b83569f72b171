"""The operator's feed experiments page in a real Chromium, on a laptop and a phone: the empty
state, a refused share, starting an experiment, its results with intervals once viewers have
watched, and stopping it; nothing wider than a phone's screen.

No transcoding: the series are rows, the exposures and views written directly."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from microdrama.accounts import service as accounts
from microdrama.accounts.models import Role, SessionKind
from microdrama.config import Settings
from microdrama.db import make_engine, make_sessionmaker, session_scope, utcnow
from microdrama.discovery import experiments
from microdrama.discovery.models import FeedExposure, FeedOrder
from tests.support.browser import SQLITE_ONLY, Site, _context, serve_site
from tests.support.rankings import genre_series, unlocked, viewers, watched

pytestmark = [pytest.mark.browser, SQLITE_ONLY]


@pytest.fixture(scope="module")
def site(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve_site(database_url, tmp_path_factory, []) as served:
        yield served


def _operator(browser: Browser, site: Site, database_url: str, *, phone: bool) -> BrowserContext:
    engine = make_engine(database_url)
    with session_scope(make_sessionmaker(engine)) as db:
        admin = accounts.create_account(
            db=db, display_name=f"Operator {uuid.uuid4().hex[:6]}", role=Role.admin
        )
        token, _ = accounts.start_session(
            db=db,
            settings=Settings(environment="test", database_url=database_url),
            account=admin,
            kind=SessionKind.cookie,
        )
    engine.dispose()
    context = _context(browser, site, phone=phone)
    context.add_cookies([{"name": "md_session", "value": token, "url": site.base_url}])
    return context


def _shot(page: Page, name: str) -> None:
    shots = os.environ.get("MICRODRAMA_SCREENSHOTS")
    if shots:
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)


def _audience(database_url: str) -> None:
    """40 viewers in each arm of the running experiment: the treatment's watch twice as long
    and unlock more; both go on to the next episode alike."""
    engine = make_engine(database_url)
    with session_scope(make_sessionmaker(engine)) as db:
        running = experiments.running(db=db)
        assert running is not None
        series = genre_series(db, f"Fangs {uuid.uuid4().hex[:4]}", "vampire")
        served = utcnow() - timedelta(hours=3)
        for arm, minutes in ((FeedOrder.for_you, 1), (FeedOrder.popularity, 2)):
            for n, viewer in enumerate(viewers(db, 40)):
                db.add(
                    FeedExposure(
                        experiment_id=running.id,
                        account_id=viewer.id,
                        arm=arm,
                        first_served_at=served,
                    )
                )
                watched(
                    db,
                    viewer,
                    series,
                    served + timedelta(hours=1),
                    episodes=1 + n % 3,
                    furthest_ms=(minutes * 60_000) + n * 1_000,
                )
                if arm == FeedOrder.popularity and n % 4 == 0:
                    unlocked(db, viewer, series, served + timedelta(hours=1))
    engine.dispose()


def _no_overflow(page: Page, width: int) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, scroll


def test_an_operator_starts_an_experiment_reads_its_results_and_stops_it(
    browser: Browser, site: Site, database_url: str
) -> None:
    errors: list[str] = []
    laptop = _operator(browser, site, database_url, phone=False)
    page = laptop.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/admin/experiments")

    expect(page.get_by_test_id("admin-experiments-page")).to_have_attribute("aria-busy", "false")
    expect(page.get_by_test_id("experiment-results-empty")).to_be_visible()
    expect(
        page.get_by_role("navigation").get_by_role("link", name="Experiments")
    ).to_have_attribute("aria-current", "page")
    _shot(page, "experiments-empty-desktop")
    page.get_by_test_id("experiment-name").fill("For You vs popularity")
    page.get_by_test_id("experiment-share").fill("70")
    page.get_by_test_id("experiment-start").click()
    expect(page.get_by_test_id("bo-error")).to_contain_text("from 1 to 50")
    page.get_by_test_id("experiment-share").fill("20")
    page.get_by_test_id("experiment-start").click()

    expect(page.get_by_test_id("bo-notice")).to_contain_text("20 % of viewers now get popularity")
    expect(page.get_by_test_id("experiment-running")).to_contain_text("For You vs popularity")
    expect(page.get_by_test_id("experiment-start-form")).to_be_hidden()
    expect(page.get_by_test_id("experiment-row")).to_have_count(1)
    expect(page.get_by_test_id("experiment-arms")).to_contain_text("0 viewers served For You")

    _audience(database_url)
    page.reload()
    metrics = page.get_by_test_id("experiment-metric")
    expect(metrics).to_have_count(4)
    expect(page.get_by_test_id("experiment-arms")).to_contain_text("40 viewers served For You")
    minutes = page.locator("[data-metric=minutes_per_viewer]")
    expect(minutes).to_have_attribute("data-verdict", "higher")
    expect(minutes).to_contain_text(" to ")  # the interval under each value
    expect(page.locator("[data-metric=continuation]")).to_have_attribute(
        "data-verdict", "no_clear_difference"
    )
    expect(page.locator("[data-metric=continuation]")).to_contain_text("No clear difference yet")
    _no_overflow(page, 1280)
    _shot(page, "experiments-results-desktop")

    phone = _operator(browser, site, database_url, phone=True)
    small = phone.new_page()
    small.on("pageerror", lambda error: errors.append(str(error)))
    small.goto("/admin/experiments")
    expect(small.get_by_test_id("experiment-metric")).to_have_count(4)
    expect(small.locator("[data-metric=unlocks_per_viewer]")).to_contain_text(
        "Higher with popularity"
    )
    _no_overflow(small, 390)
    _shot(small, "experiments-results-phone")

    page.get_by_test_id("experiment-stop").click()
    expect(page.get_by_test_id("bo-notice")).to_contain_text("every viewer gets For You again")
    expect(page.get_by_test_id("experiment-start-form")).to_be_visible()
    expect(page.get_by_test_id("experiment-results")).to_contain_text("(stopped)")
    expect(page.get_by_test_id("experiment-metric")).to_have_count(4)
    _shot(page, "experiments-stopped-desktop")
    laptop.close()
    small.reload()
    expect(small.get_by_test_id("experiment-start-form")).to_be_visible()
    _no_overflow(small, 390)
    _shot(small, "experiments-stopped-phone")
    phone.close()
    assert not errors, errors
