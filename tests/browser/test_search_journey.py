"""Search in a real Chromium: a viewer on a phone types a title with two typos, sees the
series, narrows to a genre that has none, clears the filters and opens the series. The catalog
rows are built without video (no transcoding); the ranking is tested on both databases in
tests/discovery."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from microdrama.db import make_engine, make_sessionmaker, session_scope
from tests.support.browser import SQLITE_ONLY, Site, _context, serve_site
from tests.support.search import CORPUS, build_corpus

pytestmark = [pytest.mark.browser, SQLITE_ONLY]


@pytest.fixture(scope="module")
def site(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve_site(database_url, tmp_path_factory, []) as served:
        engine = make_engine(database_url)
        with session_scope(make_sessionmaker(engine)) as db:
            build_corpus(db, CORPUS)
        engine.dispose()
        yield served


def _shoot(page: Page, name: str) -> None:
    """Screenshots for people to look at, when MICRODRAMA_SCREENSHOTS names a folder."""
    folder = os.environ.get("MICRODRAMA_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def test_a_viewer_types_a_title_with_typos_and_finds_the_series(
    browser: Browser, site: Site
) -> None:
    context = _context(browser, site, phone=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto("/search")
    page.get_by_test_id("search-input").press_sequentially("vampir bilionaire", delay=40)

    first = page.get_by_test_id("search-result").first
    expect(first).to_contain_text("The Vampire Billionaire's Bride")
    expect(first).to_contain_text("Moonlight Studio")
    expect(page.get_by_test_id("search-status")).to_contain_text("for “vampir bilionaire”")
    assert "q=vampir+bilionaire" in page.url  # reload and Back return to this search
    _shoot(page, "search-phone")

    page.get_by_test_id("search-genre").select_option("horror")
    expect(page.get_by_test_id("search-empty")).to_be_visible()
    expect(page.get_by_test_id("search-status")).to_contain_text("Try removing a filter")
    _shoot(page, "search-phone-empty")
    page.get_by_test_id("search-clear-filters").click()
    expect(first).to_contain_text("The Vampire Billionaire's Bride")

    first.click()
    expect(page).to_have_url(re.compile(r"/series/\d+$"))
    expect(page.locator("h1.title")).to_have_text("The Vampire Billionaire's Bride")
    context.close()
    assert not errors, errors
