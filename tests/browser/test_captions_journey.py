"""Captions in a real Chromium: the creator generates subtitles from an episode's audio in the
cue editor, reviews the draft, translates it, publishes the English track, and a viewer's
player shows it while the Portuguese draft stays the creator's.

The AI jobs run in the test's process (`run_job_here`), as the AI worker would run them: the
page follows them through the API. The episode's uploaded source is a Piper-voiced clip."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from microdrama.accounts import service as accounts
from microdrama.accounts.models import SessionKind
from microdrama.ai.jobs import run_job_here
from microdrama.catalog.models import Episode
from microdrama.config import Settings
from microdrama.db import make_engine, make_sessionmaker, session_scope
from microdrama.storage import LocalStorage
from tests.ai.captions_support import spoken_clip
from tests.support.browser import SQLITE_ONLY, SeriesPlan, Site, _context, serve_site

pytestmark = [pytest.mark.browser, SQLITE_ONLY]

WAIT_MS = 30_000
SERIES = "Spoken Bride"


@pytest.fixture(scope="module")
def site(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    plan = [SeriesPlan(SERIES, "romance", "navy", [10.0])]
    with serve_site(database_url, tmp_path_factory, plan) as served:
        yield served


def _settings(site: Site, database_url: str) -> Settings:
    return Settings(environment="test", data_dir=site.data_dir, database_url=database_url)


@pytest.fixture
def creator_page(browser: Browser, site: Site, database_url: str) -> Iterator[Page]:
    """A desktop tab signed in as the series' creator, whose episode's source speaks."""
    engine = make_engine(database_url)
    with session_scope(make_sessionmaker(engine)) as db:
        episode = db.get(Episode, site.series[SERIES].episode_ids[0])
        assert episode is not None and episode.media_asset is not None
        source = LocalStorage(site.data_dir / "media").path(episode.media_asset.source_key)
        shutil.copyfile(spoken_clip(), source)
        owner = accounts.get(db=db, account_id=episode.series.owner_id)
        assert owner is not None
        token, _ = accounts.start_session(
            db=db, settings=_settings(site, database_url), account=owner, kind=SessionKind.cookie
        )
    engine.dispose()
    context = _context(browser, site, phone=False)
    context.add_cookies([{"name": "md_session", "value": token, "url": site.base_url}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


def _run_started_job(page: Page, site: Site, database_url: str) -> None:
    """Wait for the page to have started a job, then run it as the AI worker would."""
    page.wait_for_function("() => window.__subtitleAI.running !== null", timeout=WAIT_MS)
    job_id = page.evaluate("window.__subtitleAI.running.id")
    engine = make_engine(database_url)
    job = run_job_here(
        job_id=job_id,
        sessions=make_sessionmaker(engine),
        settings=_settings(site, database_url),
        storage=LocalStorage(site.data_dir / "media"),
    )
    engine.dispose()
    assert job.state == "done", job.error


def test_creator_generates_reviews_translates_and_publishes_captions_a_viewer_then_sees(
    creator_page: Page, phone_page: Page, site: Site, database_url: str
) -> None:
    episode = site.series[SERIES].episode_ids[0]
    editor = creator_page
    editor.goto(f"/studio/episodes/{episode}/subtitles")
    expect(editor.get_by_test_id("subtitle-editor")).to_have_attribute("aria-busy", "false")
    expect(editor.get_by_test_id("subtitle-ai")).to_be_visible()

    # Generate: the job's progress shows, then the draft opens for review.
    editor.get_by_test_id("generate-captions").click()
    expect(editor.get_by_test_id("ai-job")).to_be_visible()
    _run_started_job(editor, site, database_url)
    expect(editor.get_by_test_id("ai-job")).to_be_hidden(timeout=WAIT_MS)
    expect(editor.get_by_test_id("bo-notice")).to_contain_text("ready to review")
    expect(editor.get_by_test_id("track-select")).to_have_value("en")
    expect(editor.get_by_test_id("draft-notice")).to_be_visible()
    rows = editor.get_by_test_id("cue-row")
    expect(rows.first.get_by_test_id("cue-text")).to_have_value(re.compile("never agreed"))
    assert rows.count() >= 3

    # Translate the draft: only what this server can do is offered (offline: Portuguese).
    targets = editor.get_by_test_id("translate-to")
    expect(targets.locator("option")).to_have_count(1)
    expect(targets).to_have_value("pt-BR")
    editor.get_by_test_id("translate").click()
    _run_started_job(editor, site, database_url)
    expect(editor.get_by_test_id("track-select")).to_have_value("pt-BR", timeout=WAIT_MS)
    expect(editor.get_by_test_id("draft-notice")).to_be_visible()
    expect(rows.first.get_by_test_id("cue-text")).to_have_value(re.compile("casar"))

    # Publish the English track; the Portuguese one stays a draft.
    editor.get_by_test_id("track-select").select_option("en")
    expect(editor.get_by_test_id("draft-notice")).to_be_visible()
    editor.get_by_test_id("track-publish").click()
    expect(editor.get_by_test_id("bo-notice")).to_contain_text("published")
    expect(editor.get_by_test_id("draft-notice")).to_be_hidden()

    # A viewer's player offers English only and shows the first line as it is spoken.
    player = phone_page
    player.goto(f"/watch/{episode}")
    expect(player.get_by_test_id("cc-button")).to_be_visible(timeout=WAIT_MS)
    expect(player.get_by_test_id("captions")).to_contain_text("never agreed", timeout=WAIT_MS)
    tracks = player.evaluate(
        "[...window.__player.video.querySelectorAll('track')].map(t => t.srclang)"
    )
    assert tracks == ["en"]
