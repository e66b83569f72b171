"""A real server on a real port, seeded with real transcoded episodes, and headless Chromium.

The catalogue is built once per module (transcoding is the slow part) in a data dir of its own;
each test gets a fresh browser context, so a fresh device cookie and guest account: tests never
see each other's watch history.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.support.browser import SeriesPlan, Site, _context, serve_site


@pytest.fixture(scope="module")
def site(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Three published series of short 360x640 free episodes."""
    plan = [
        # A long first episode, so "resume within 3 s" can tell resuming from restarting.
        SeriesPlan("Midnight Heir", "revenge", "navy", [12.0, 4.0]),
        SeriesPlan("Contract Bride", "romance", "teal", [4.0, 4.0, 4.0]),
        SeriesPlan("Alpha's Secret", "fantasy", "purple", [4.0, 4.0]),
    ]
    with serve_site(database_url, tmp_path_factory, plan) as served:
        yield served


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    """A desktop tab with a fresh device (cookie jar), failing the test on page errors."""
    context = _context(browser, site, phone=False)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


@pytest.fixture
def phone_page(browser: Browser, site: Site) -> Iterator[Page]:
    """A phone-sized, touch-screen tab with a fresh device."""
    context = _context(browser, site, phone=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors
