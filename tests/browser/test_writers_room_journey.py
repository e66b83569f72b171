"""A new creator plans a series in the writers' room: the engine's plan at once, a card the
offline model rewrites, an edit, a script, the draft series made from the cards, and the
script's table read watched in the player. The AI jobs the page queues (and the transcode of
the animatic) are run here by the test, as the workers would (with the real models)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from microdrama.ai import jobs
from microdrama.ai.models import AIJob, AIJobState
from microdrama.config import Settings
from microdrama.db import make_engine, make_sessionmaker, session_scope
from microdrama.media.jobs import Worker
from microdrama.storage import LocalStorage
from tests.support.accounts import PASSWORD
from tests.support.browser import SQLITE_ONLY, Site, serve_site

# In the browser on SQLite (the API tests run the room on both databases).
pytestmark = [pytest.mark.browser, SQLITE_ONLY]

SHOTS = Path(__file__).parent.parent.parent / "data" / "screenshots"


@pytest.fixture(scope="module")
def site(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The app with an empty catalogue: the writers' room needs no videos."""
    with serve_site(database_url, tmp_path_factory, []) as served:
        yield served


@pytest.fixture
def ai_worker(site: Site, database_url: str) -> Iterator[None]:
    """Runs each queued AI job in this process, one at a time, while the test runs, and then
    the transcodes they queue (a table read's animatic)."""
    settings = Settings(
        environment="test",
        data_dir=site.data_dir,
        database_url=database_url,
        ladder_heights=[426],  # one rung, as the site's: the ladder is tested in tests/media
        x264_preset="ultrafast",
    )
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    storage = LocalStorage(settings.media_dir, settings.media_url_prefix)
    stop = threading.Event()
    transcoder = Worker(sessions=sessions, storage=storage, settings=settings)

    def work() -> None:
        while not stop.wait(0.2):
            with session_scope(sessions) as db:
                queued = db.scalar(
                    select(AIJob.id).where(AIJob.state == AIJobState.queued).order_by(AIJob.id)
                )
            if queued is not None:
                jobs.run_job_here(
                    job_id=queued, sessions=sessions, settings=settings, storage=storage
                )
            while transcoder.run_next_job(worker_id="writers-room-journey"):
                pass

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=120)
    engine.dispose()


def _sign_up_and_open_studio(page: Page, email: str) -> None:
    page.goto("/signup")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/(account)?$"))
    page.goto("/studio/writers-room")
    page.get_by_test_id("writers-room-join-button").click()
    expect(page.get_by_test_id("new-project-form")).to_be_visible()


def test_a_new_creator_plans_a_series_and_creates_the_draft(page: Page, ai_worker: None) -> None:
    _sign_up_and_open_studio(page, "writer@example.com")
    form = page.get_by_test_id("new-project-form")
    # A season out of shape is refused with the reason, next to the form.
    page.get_by_test_id("field-premise").fill("A florist marries a cold CEO to save her shop.")
    page.get_by_test_id("field-trope").select_option("contract_marriage")
    page.get_by_test_id("field-episodes").fill("20")
    page.get_by_test_id("field-free").fill("20")
    page.get_by_test_id("create-project").click()
    expect(page.get_by_test_id("bo-error")).to_contain_text("nothing is paid")
    page.get_by_test_id("field-free").fill("6")
    page.get_by_test_id("field-seconds").fill("60")
    page.get_by_test_id("create-project").click()
    page.wait_for_url("**/studio/writers-room/*")
    assert form  # the form led to the project

    # The engine's whole plan is there at once: 20 cards, the paywall on episode 6.
    cards = page.get_by_test_id("card")
    expect(cards).to_have_count(20)
    expect(page.get_by_test_id("paywall-badge")).to_be_visible()
    paywall_card = page.locator("#card-6")
    expect(paywall_card.get_by_test_id("card-kind")).to_have_text("reveal")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "writers_room_plan.png"))

    # The offline model rewrites card 3; the page shows its new version.
    card3 = page.locator("#card-3")
    card3.get_by_test_id("regenerate-card").click()
    page.wait_for_url("**/studio/writers-room/*?episode=3*", timeout=120_000)
    card3 = page.locator("#card-3")
    expect(card3.get_by_test_id("history-card")).to_have_text("v2")
    assert card3.get_by_test_id("card-hook").input_value().strip()
    regenerated = card3.get_by_test_id("card-hook").input_value()

    # The creator edits the ending by hand: a third version.
    card3.get_by_test_id("card-cliffhanger").fill("Then who signed my name?")
    card3.get_by_test_id("save-card").click()
    expect(card3.get_by_text("Saved (version 3).")).to_be_visible()

    # History: restore the model's version, which brings its ending back.
    card3.get_by_test_id("history-card").click()
    versions = page.get_by_test_id("version")
    expect(versions).to_have_count(3)
    versions.nth(1).get_by_test_id("restore-version").click()
    expect(page.locator("#card-3").get_by_test_id("history-card")).to_have_text("v4")
    card3 = page.locator("#card-3")
    assert card3.get_by_test_id("card-cliffhanger").input_value() != "Then who signed my name?"
    assert card3.get_by_test_id("card-hook").input_value() == regenerated

    # A script for the paywall episode, written by the model and sized to 60 s.
    paywall_card = page.locator("#card-6")
    paywall_card.get_by_test_id("get-script").click()
    script = paywall_card.get_by_test_id("script")
    expect(script).to_be_visible(timeout=120_000)
    expect(script.locator("[data-kind=dialogue]").first).to_be_visible()
    expect(script).to_contain_text("Script v1")
    page.set_viewport_size({"width": 1280, "height": 900})
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "writers_room_desktop.png"))

    # Create the draft series from the cards.
    page.get_by_test_id("create-series").click()
    link = page.get_by_test_id("series-link")
    expect(link).to_be_visible()
    link.click()
    page.wait_for_url("**/studio/series/*")
    expect(page.get_by_test_id("status-badge")).to_have_text("draft")
    expect(page.get_by_test_id("field-free")).to_have_value("6")

    # The table read: the script in the characters' voices, an animatic in the draft series,
    # played in the player to judge its pacing.
    page.go_back()
    page.wait_for_url("**/studio/writers-room/*")
    paywall_card = page.locator("#card-6")
    paywall_card.get_by_test_id("table-read").click()
    watch = paywall_card.get_by_test_id("watch-table-read")
    expect(watch).to_be_visible(timeout=180_000)
    expect(paywall_card.get_by_test_id("table-read-status")).to_contain_text("Table read ready")
    watch.click()
    page.wait_for_url("**/watch/*")
    page.wait_for_function(
        "() => window.__player && window.__player.video.currentTime > 0.5", timeout=120_000
    )
    page.screenshot(path=str(SHOTS / "writers_room_table_read.png"))


def test_the_room_reads_on_a_phone(phone_page: Page) -> None:
    page = phone_page
    _sign_up_and_open_studio(page, "phone.writer@example.com")
    page.get_by_test_id("field-premise").fill("A werewolf princess hides from her mate.")
    page.get_by_test_id("field-trope").select_option("werewolf_mate")
    page.get_by_test_id("create-project").click()
    page.wait_for_url("**/studio/writers-room/*")
    expect(page.get_by_test_id("card")).to_have_count(30)
    # Nothing is wider than the phone: cards stack in one column.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, width
    page.goto(page.url + "?episode=12&rewrite=cliffhanger")
    expect(page.get_by_test_id("rewrite-offer")).to_be_visible()
    expect(page.get_by_test_id("rewrite-offer")).to_be_in_viewport()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "writers_room_phone.png"))
