"""Subtitles in a real Chromium: the creator uploads and edits cues in the studio's editor,
and a viewer's player shows the edited cue while the episode plays; the CC choice sticks.

One 8-second episode. Waits are on what people see and on the video's own clock."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from microdrama.accounts import service as accounts
from microdrama.accounts.models import SessionKind
from microdrama.catalog.models import Series
from microdrama.config import Settings
from microdrama.db import make_engine, make_sessionmaker, session_scope
from tests.support.browser import SQLITE_ONLY, SeriesPlan, Site, _context, serve_site

pytestmark = [pytest.mark.browser, SQLITE_ONLY]

WAIT_MS = 30_000
SERIES = "Subtitled Bride"
SRT = """1
00:00:00,300 --> 00:00:03,000
Who sent you?

2
00:00:03,200 --> 00:00:07,500
Your father.
"""


@pytest.fixture(scope="module")
def site(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    plan = [SeriesPlan(SERIES, "romance", "teal", [8.0])]
    with serve_site(database_url, tmp_path_factory, plan) as served:
        yield served


def _creator_session(database_url: str, site: Site) -> str:
    engine = make_engine(database_url)
    with session_scope(make_sessionmaker(engine)) as db:
        series = db.get(Series, site.series[SERIES].id)
        assert series is not None
        owner = accounts.get(db=db, account_id=series.owner_id)
        assert owner is not None
        token, _ = accounts.start_session(
            db=db,
            settings=Settings(environment="test", database_url=database_url),
            account=owner,
            kind=SessionKind.cookie,
        )
    engine.dispose()
    return token


@pytest.fixture
def creator_page(browser: Browser, site: Site, database_url: str) -> Iterator[Page]:
    """A desktop tab signed in as the series' creator."""
    context = _context(browser, site, phone=False)
    context.add_cookies(
        [
            {
                "name": "md_session",
                "value": _creator_session(database_url, site),
                "url": site.base_url,
            }
        ]
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


def test_creator_edits_cues_and_the_player_shows_them_while_the_episode_plays(
    creator_page: Page, phone_page: Page, site: Site, tmp_path: Path
) -> None:
    episode = site.series[SERIES].episode_ids[0]

    # The creator uploads an SRT file: it is converted and listed as cues.
    editor = creator_page
    editor.goto(f"/studio/episodes/{episode}/subtitles")
    expect(editor.get_by_test_id("subtitle-editor")).to_have_attribute("aria-busy", "false")
    editor.get_by_test_id("new-language").fill("en")
    editor.get_by_test_id("track-new").click()
    editor.get_by_test_id("track-label").fill("English")
    subtitles_file = tmp_path / "episode1.srt"
    subtitles_file.write_text(SRT)
    editor.get_by_test_id("upload-file").set_input_files(subtitles_file)
    editor.get_by_test_id("upload-submit").click()
    expect(editor.get_by_test_id("bo-notice")).to_have_text("Uploaded 2 cues in en.")
    rows = editor.get_by_test_id("cue-row")
    expect(rows).to_have_count(2)
    expect(rows.nth(1).get_by_test_id("cue-text")).to_have_value("Your father.")

    # A broken upload says which line is wrong and keeps what was saved.
    broken = tmp_path / "broken.srt"
    broken.write_text("1\n00:00:01,000 --> 00:00:00,500\nOops\n")
    editor.get_by_test_id("upload-file").set_input_files(broken)
    editor.get_by_test_id("upload-submit").click()
    expect(editor.get_by_test_id("bo-error")).to_contain_text(
        "Line 2: the cue ends before it starts"
    )
    expect(rows).to_have_count(2)

    # Edit the second cue, delete the first, add one at the playhead, save.
    rows.nth(1).get_by_test_id("cue-text").fill("Your father sent me.")
    rows.nth(0).get_by_test_id("cue-delete").click()
    expect(rows).to_have_count(1)
    editor.get_by_test_id("cue-add").click()  # the preview is at 0 s: a cue from 0 to 2 s
    expect(rows).to_have_count(2)
    first = rows.nth(0)
    first.get_by_test_id("cue-end").fill("0:03.000")
    first.get_by_test_id("cue-end").dispatch_event("change")
    first.get_by_test_id("cue-text").fill("Who are you?")
    editor.get_by_test_id("cues-save").click()
    expect(editor.get_by_test_id("bo-notice")).to_have_text("Saved 2 cues in en.")

    # The editor's preview shows the cue under the playhead.
    editor.wait_for_function(
        "() => document.querySelector('[data-testid=preview-video]').readyState >= 1",
        timeout=WAIT_MS,
    )
    editor.evaluate("document.querySelector('[data-testid=preview-video]').currentTime = 4")
    expect(editor.get_by_test_id("preview-cue")).to_have_text("Your father sent me.")
    shots = os.environ.get("MICRODRAMA_SCREENSHOTS")
    if shots:
        editor.screenshot(path=str(Path(shots) / "subtitle-editor.png"), full_page=True)

    # A viewer's player offers the track and shows each cue while the episode plays.
    player = phone_page
    player.goto(f"/watch/{episode}")
    cc = player.get_by_test_id("cc-button")
    expect(cc).to_be_visible(timeout=WAIT_MS)
    expect(cc).to_have_attribute("aria-pressed", "true")
    captions = player.get_by_test_id("captions")
    expect(captions).to_have_text("Who are you?", timeout=WAIT_MS)
    assert player.evaluate("window.__player.video.currentTime < 3.2")
    expect(captions).to_have_text("Your father sent me.", timeout=WAIT_MS)
    if shots:
        player.screenshot(path=str(Path(shots) / "player-captions.png"))
    at = player.evaluate("window.__player.video.currentTime")
    assert 3.0 <= at < 7.5 and player.evaluate("!window.__player.video.paused"), at
    assert player.evaluate("window.__subtitles.language") == "en"
    track = player.evaluate(
        "[...window.__player.video.querySelectorAll('track')]"
        ".map(t => [t.kind, t.srclang, t.label])"
    )
    assert track == [["subtitles", "en", "English"]]

    # CC off: the captions go, and stay off after a reload.
    cc.click()
    expect(cc).to_have_attribute("aria-pressed", "false")
    expect(captions).to_be_hidden()
    player.reload()
    expect(cc).to_be_visible(timeout=WAIT_MS)
    expect(cc).to_have_attribute("aria-pressed", "false")
    player.wait_for_function(
        "() => window.__player.video.currentTime > 0.5 && !window.__player.video.paused",
        timeout=WAIT_MS,
    )
    expect(captions).to_be_hidden()
    cc.click()
    expect(cc).to_have_attribute("aria-pressed", "true")
