"""A creator's journey in a real Chromium: sign up, open a studio, create a series, upload two
real clips at once by tus (one upload is cut off mid-way and resumed after a page reload),
watch both reach "ready", set prices, submit; an operator approves; viewers see it in the feed.

The server runs its embedded transcode worker, as `./dev.sh serve` does.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from microdrama.accounts import service as accounts
from microdrama.db import make_engine, make_sessionmaker, session_scope
from tests.support.browser import DESKTOP, SQLITE_ONLY
from tests.support.clips import cached_clip, copy_to
from tests.support.database import _empty_all_tables
from tests.support.servers import running_server, server_env

pytestmark = [pytest.mark.browser, SQLITE_ONLY]

PASSWORD = "correct horse battery"
ADMIN_EMAIL = "ops@example.com"
CHUNK_BYTES = 32 * 1024
WAIT_MS = 90_000
TITLE = "Midnight Contract"


@pytest.fixture(scope="module")
def studio_site(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty site with one operator account and an embedded transcode worker."""
    data_dir = tmp_path_factory.mktemp("studio-browser")
    engine = make_engine(database_url)
    _empty_all_tables(engine)
    with session_scope(make_sessionmaker(engine)) as db:
        accounts.make_admin(db=db, email=ADMIN_EMAIL, password=PASSWORD)
    engine.dispose()
    env = server_env(
        database_url=database_url,
        data_dir=data_dir,
        MICRODRAMA_EMBEDDED_WORKER="true",
        MICRODRAMA_WORKER_POLL_SECONDS="0.3",
    )
    with running_server(env, data_dir / "server.log") as base_url:
        yield base_url


def _context(browser: Browser, base_url: str) -> BrowserContext:
    context = browser.new_context(base_url=base_url, viewport=DESKTOP)
    context.set_default_timeout(20_000)
    return context


def _metadata_filename(header: str) -> str:
    for pair in header.split(","):
        key, _, value = pair.strip().partition(" ")
        if key == "filename":
            return base64.b64decode(value).decode()
    return ""


class CutOff:
    """Lets one file's upload through until `after_bytes`, then drops its connections."""

    def __init__(self, filename: str, after_bytes: int) -> None:
        self.filename = filename
        self.after_bytes = after_bytes
        self.url: str | None = None
        self.dropped = 0

    def __call__(self, route: Route) -> None:
        request = route.request
        if request.method == "POST":
            response = route.fetch()
            if _metadata_filename(request.headers.get("upload-metadata", "")) == self.filename:
                self.url = response.headers["location"]
            route.fulfill(response=response)
            return
        offset = int(request.headers.get("upload-offset", "0"))
        if (
            request.method == "PATCH"
            and self.url is not None
            and request.url.endswith(self.url)
            and offset >= self.after_bytes
        ):
            self.dropped += 1
            route.abort("connectionreset")
            return
        route.continue_()


def _new_series(page: Page, email: str, title: str) -> int:
    """Sign up as `email`, open a studio and create a draft series: its id."""
    page.goto("/signup")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/(account)?$"))
    page.goto("/studio")
    page.get_by_test_id("studio-join-button").click()
    page.get_by_test_id("new-series").click()
    page.get_by_test_id("field-title").fill(title)
    page.get_by_test_id("field-synopsis").fill("She signs a contract at midnight.")
    page.get_by_test_id("field-genre").fill("romance")
    page.get_by_test_id("field-tags").fill("ceo, contract")
    page.get_by_test_id("save-series").click()
    page.wait_for_url(re.compile(r".*/studio/series/\d+$"))
    expect(page.get_by_test_id("status-badge")).to_have_text("draft")
    return int(page.url.rsplit("/", 1)[1])


def _moderation(ops: BrowserContext) -> Page:
    """The operator, signed in, on the moderation page."""
    admin = ops.new_page()
    admin.goto("/signin?next=/admin/moderation")
    admin.fill("input[name=email]", ADMIN_EMAIL)
    admin.fill("input[name=password]", PASSWORD)
    admin.click("button[type=submit]")
    expect(admin.get_by_test_id("moderation-page")).to_be_visible()
    return admin


def test_a_creator_uploads_resumes_prices_and_publishes_through_review(
    browser: Browser, studio_site: str, tmp_path: Path
) -> None:
    first = copy_to(cached_clip(seconds=3, label="EP1", color="teal"), tmp_path / "ep1.mp4")
    second = copy_to(cached_clip(seconds=8, label="EP2", color="navy"), tmp_path / "ep2.mp4")
    size = second.stat().st_size
    assert size > 4 * CHUNK_BYTES, "the second clip must take several chunks"

    creator = _context(browser, studio_site)
    # Small chunks and short retries, so a cut-off shows within the test's patience.
    creator.add_init_script(
        f"window.__studio = {{chunkSize: {CHUNK_BYTES}, retryDelays: [0, 300]}};"
    )
    page = creator.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    # Sign up, open a studio and create the series.
    series_id = _new_series(page, "nova@example.com", TITLE)

    # Both clips at once; the second one's connection drops after three chunks.
    cut = CutOff("ep2.mp4", after_bytes=3 * CHUNK_BYTES)
    page.route("**/api/studio/uploads**", cut)
    page.get_by_test_id("file-input").set_input_files([first, second])
    rows = page.get_by_test_id("upload-row")
    # A finished upload's row goes on to follow its episode (transcoding, then ready).
    uploaded = re.compile("done|transcoding|ready")
    expect(rows.filter(has_text="ep1.mp4")).to_have_attribute(
        "data-state", uploaded, timeout=WAIT_MS
    )
    expect(rows.filter(has_text="ep2.mp4")).to_have_attribute(
        "data-state", "paused", timeout=WAIT_MS
    )
    assert cut.url is not None and cut.dropped >= 1
    before = page.request.get(cut.url).json()
    assert before["state"] == "receiving"
    assert before["offset_bytes"] == 3 * CHUNK_BYTES

    # Reload the page (the connection is back) and drop the same file again: it continues.
    page.unroute("**/api/studio/uploads**")
    page.reload()
    expect(page.get_by_test_id("unfinished-upload")).to_contain_text("ep2.mp4")
    page.get_by_test_id("file-input").set_input_files([second])
    expect(page.get_by_test_id("upload-row")).to_have_attribute(
        "data-state", uploaded, timeout=WAIT_MS
    )
    resumed = page.evaluate("() => window.__studio.uploads['ep2.mp4'].resumedFrom")
    assert resumed is not None and resumed.endswith(cut.url)
    after = page.request.get(cut.url).json()
    assert after["state"] == "done"
    # The server got the rest, not everything twice.
    assert after["received_bytes"] == after["length_bytes"] == size
    all_uploads = page.request.get(f"/api/studio/uploads?series_id={series_id}").json()
    assert sorted(u["filename"] for u in all_uploads) == ["ep1.mp4", "ep2.mp4"]

    # Both episodes transcode to ready, with the live state on the page.
    episodes = page.get_by_test_id("studio-episode")
    expect(episodes).to_have_count(2)
    expect(episodes.and_(page.locator("[data-state=ready]"))).to_have_count(2, timeout=WAIT_MS)
    # The upload's row no longer says "Uploaded; transcoding…" once its episode is ready.
    expect(page.get_by_test_id("upload-row")).to_have_attribute("data-state", "ready")
    expect(page.get_by_test_id("upload-row")).to_contain_text("Ready.")

    # Prices: a cap above the paid episodes is refused with the ceiling, then a fair one saved.
    page.get_by_test_id("field-free").fill("1")
    page.get_by_test_id("field-price").fill("70")
    page.get_by_test_id("field-cap").fill("100")
    page.get_by_test_id("save-series").click()
    expect(page.get_by_test_id("studio-error")).to_contain_text("at most 70 coins")
    expect(page.locator("[data-testid=field-cap] + .field-error")).to_contain_text(
        "at most 70 coins"
    )
    page.get_by_test_id("field-cap").fill("60")
    page.get_by_test_id("save-series").click()
    expect(page.get_by_test_id("saved")).to_be_visible()
    expect(page.get_by_test_id("studio-error")).to_be_hidden()

    # Submit for review.
    page.get_by_test_id("submit-review").click()
    expect(page.get_by_test_id("status-badge")).to_have_text("in review")
    assert not errors, errors

    # An operator approves it from the moderation queue.
    ops = _context(browser, studio_site)
    admin = _moderation(ops)
    item = admin.get_by_test_id("review-item").filter(has_text=TITLE)
    expect(item).to_contain_text("2 episodes")
    item.get_by_test_id("approve").click()
    expect(item).to_have_count(0)
    ops.close()

    # A viewer finds it in the feed, with the creator's prices.
    viewer = _context(browser, studio_site)
    feed = viewer.new_page()
    feed.goto("/")
    card = feed.get_by_test_id("feed-card").filter(has_text=TITLE)
    expect(card).to_have_count(1)
    data = feed.request.get(f"/api/series/{series_id}").json()
    assert (data["episode_count"], data["free_episodes"], data["episode_price_coins"]) == (
        2,
        1,
        70,
    )
    viewer.close()

    page.reload()
    expect(page.get_by_test_id("status-badge")).to_have_text("published")
    creator.close()
    assert json.dumps(errors) == "[]"


def test_a_new_episode_of_a_published_series_goes_live_once_an_operator_approves_it(
    browser: Browser, studio_site: str, tmp_path: Path
) -> None:
    title = "Second Chance Wife"
    first = copy_to(cached_clip(seconds=2, label="S1", color="teal"), tmp_path / "s1.mp4")
    second = copy_to(cached_clip(seconds=3, label="S2", color="navy"), tmp_path / "s2.mp4")
    creator = _context(browser, studio_site)
    page = creator.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    series_id = _new_series(page, "mira@example.com", title)
    page.get_by_test_id("file-input").set_input_files([first])
    ready = page.get_by_test_id("studio-episode").and_(page.locator("[data-state=ready]"))
    expect(ready).to_have_count(1, timeout=WAIT_MS)
    page.get_by_test_id("submit-review").click()
    expect(page.get_by_test_id("status-badge")).to_have_text("in review")
    ops = _context(browser, studio_site)
    admin = _moderation(ops)
    admin.get_by_test_id("review-item").filter(has_text=title).get_by_test_id("approve").click()
    expect(admin.get_by_test_id("review-item").filter(has_text=title)).to_have_count(0)

    # The published series gets a second episode: it transcodes, then waits for review.
    page.reload()
    expect(page.get_by_test_id("status-badge")).to_have_text("published")
    page.get_by_test_id("file-input").set_input_files([second])
    waiting = page.get_by_test_id("studio-episode").and_(page.locator("[data-state=in_review]"))
    expect(waiting).to_have_count(1, timeout=WAIT_MS)
    expect(waiting.get_by_test_id("episode-review")).to_have_text("waiting for review")
    assert page.request.get(f"/api/series/{series_id}").json()["episode_count"] == 1

    # The operator watches the upload and approves it.
    admin.reload()
    item = admin.get_by_test_id("episode-review-item").filter(has_text=title)
    expect(item).to_contain_text("2. Episode 2")
    expect(item).to_contain_text("New episode")
    video = item.get_by_test_id("episode-review-video")
    video.evaluate("v => v.play()")
    admin.wait_for_function(
        "v => v.readyState >= 2 && v.currentTime > 0.2", arg=video.element_handle(), timeout=WAIT_MS
    )
    assert round(video.evaluate("v => v.duration")) == 3
    item.get_by_test_id("approve-episode").click()
    expect(item).to_have_count(0)
    expect(admin.get_by_test_id("moderation-error")).to_be_hidden()

    series = page.request.get(f"/api/series/{series_id}").json()
    assert [e["number"] for e in series["episodes"]] == [1, 2]
    page.reload()
    live = page.get_by_test_id("studio-episode").and_(page.locator("[data-number='2']"))
    expect(live).to_have_attribute("data-state", "ready")
    expect(live.get_by_test_id("episode-review")).to_have_count(0)

    # A third episode is refused: the creator reads why, viewers never see it.
    page.get_by_test_id("file-input").set_input_files([first])
    third = page.get_by_test_id("studio-episode").and_(page.locator("[data-number='3']"))
    expect(third).to_have_attribute("data-state", "in_review", timeout=WAIT_MS)
    admin.reload()
    item = admin.get_by_test_id("episode-review-item").filter(has_text=title)
    item.get_by_test_id("reject-episode-reason").fill("Episode 1 again, uploaded twice.")
    item.get_by_test_id("reject-episode").click()
    expect(item).to_have_count(0)
    ops.close()
    page.reload()
    expect(third).to_have_attribute("data-state", "rejected")
    expect(third.get_by_test_id("episode-review")).to_have_text(
        "refused: Episode 1 again, uploaded twice."
    )
    assert page.request.get(f"/api/series/{series_id}").json()["episode_count"] == 2
    creator.close()
    assert not errors, errors


def test_a_bad_form_says_what_to_fix_beside_each_field_and_a_refused_upload_looks_refused(
    browser: Browser, studio_site: str, tmp_path: Path
) -> None:
    creator = _context(browser, studio_site)
    page = creator.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    _new_series(page, "lux@example.com", "Glass Heart")

    # An empty title and negative free episodes: each message sits under its own field.
    page.get_by_test_id("field-title").fill("")
    page.get_by_test_id("field-free").fill("-1")
    page.get_by_test_id("save-series").click()
    title_error = page.locator("[data-testid=field-title] + .field-error")
    free_error = page.locator("[data-testid=field-free] + .field-error")
    expect(title_error).to_have_text("Title can't be empty.")
    expect(free_error).to_have_text("Free episodes can't be negative.")
    summary = page.get_by_test_id("studio-error")
    expect(summary).to_contain_text("Please check 2 fields")
    assert "should" not in summary.inner_text()
    expect(page.get_by_test_id("field-title")).to_be_focused()
    expect(page.get_by_test_id("field-title")).to_have_attribute("aria-invalid", "true")
    # Fixing a field takes its message away; the other stays until it is fixed too.
    page.get_by_test_id("field-title").fill("Glass Heart")
    expect(title_error).to_have_count(0)
    expect(free_error).to_be_visible()
    page.get_by_test_id("field-free").fill("2")
    page.get_by_test_id("save-series").click()
    expect(page.get_by_test_id("saved")).to_be_visible()
    expect(page.locator(".field-error")).to_have_count(0)

    # A text file renamed .mp4 is refused in words a creator can act on, and looks refused.
    notes = tmp_path / "notes.mp4"
    notes.write_text("Episode ideas: the wedding, the contract, the midnight call.\n" * 50)
    page.get_by_test_id("file-input").set_input_files([notes])
    row = page.get_by_test_id("upload-row")
    expect(row).to_have_attribute("data-state", "failed", timeout=WAIT_MS)
    expect(row).to_contain_text(
        "Refused: This file isn't a video we can read. Upload an MP4, MOV or WebM file."
    )
    text = row.inner_text()
    assert "uploads/" not in text and "Invalid data" not in text, text
    bar_colour = row.locator("progress").evaluate("bar => getComputedStyle(bar).accentColor")
    assert bar_colour == "rgb(255, 77, 109)", bar_colour
    creator.close()
    assert not errors, errors
