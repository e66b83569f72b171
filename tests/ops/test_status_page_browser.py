"""The operator's status page in a real Chromium, on a laptop (1280) and a phone (390): reached
from the operator's nav, it shows readiness, the queues, the worker at work and the failures
with their reasons, and nothing is wider than the phone's screen."""

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
from microdrama.ai.models import AIJob, AIJobKind, AIJobState
from microdrama.config import Settings
from microdrama.db import make_engine, make_sessionmaker, session_scope, utcnow
from microdrama.media.models import JobState, TranscodeJob
from microdrama.ops.models import WorkerHeartbeat
from tests.support.browser import SQLITE_ONLY, Site, _context, serve_site
from tests.support.factories import make_series

pytestmark = [pytest.mark.browser, SQLITE_ONLY]

REASON = (
    "ffmpeg exited with 1: Invalid data found when processing input "
    "(assets/12/source/original.mp4, attempt 3 of 3)"
)


@pytest.fixture(scope="module")
def site(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve_site(database_url, tmp_path_factory, []) as served:
        now = utcnow()
        engine = make_engine(database_url)
        with session_scope(make_sessionmaker(engine)) as db:
            series = make_series(db, title="Status Check", episodes=1)
            asset_id = series.episodes[0].media_asset_id
            assert asset_id is not None
            db.add_all(
                [
                    TranscodeJob(
                        asset_id=asset_id,
                        state=JobState.queued,
                        created_at=now - timedelta(minutes=12),
                    ),
                    TranscodeJob(
                        asset_id=asset_id,
                        state=JobState.failed,
                        error=REASON,
                        attempts=3,
                        finished_at=now - timedelta(minutes=2),
                        request_id="5f0c1e9ad2b34c7d9e8f7a6b5c4d3e2f",
                    ),
                    AIJob(
                        kind=AIJobKind.captions,
                        owner_id=series.owner_id,
                        state=AIJobState.running,
                        worker_id="web-1.internal:48211:9c2f1a/ai",
                        lease_expires_at=now + timedelta(minutes=5),
                    ),
                    WorkerHeartbeat(
                        worker_id="web-1.internal:48211:9c2f1a/ai",
                        queue="ai",
                        started_at=now - timedelta(hours=3),
                        # Renewed as the page is read (a heartbeat every 10 s).
                        last_seen_at=now + timedelta(minutes=5),
                    ),
                    WorkerHeartbeat(
                        worker_id="media-2.internal:3121:77aa01",
                        queue="transcode",
                        started_at=now - timedelta(hours=5),
                        last_seen_at=now - timedelta(minutes=4),
                    ),
                    AIJob(
                        kind=AIJobKind.table_read,
                        owner_id=series.owner_id,
                        state=AIJobState.failed,
                        error="This needs a model that is not installed on the server: piper",
                        attempts=1,
                        finished_at=now - timedelta(minutes=30),
                    ),
                ]
            )
        engine.dispose()
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


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_operator_reads_the_status_page_from_the_nav(
    browser: Browser, site: Site, database_url: str, phone: bool
) -> None:
    context = _operator(browser, site, database_url, phone=phone)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto("/admin/payouts")
        page.get_by_role("navigation").get_by_role("link", name="Status").click()
        expect(page).to_have_url(f"{site.base_url}/admin/status")
        status_link = page.get_by_role("navigation").get_by_role("link", name="Status")
        expect(status_link).to_have_attribute("aria-current", "page")

        expect(page.get_by_test_id("status-ready")).to_have_text("Ready")
        for check in ("database", "migrations", "storage"):
            expect(page.get_by_test_id(f"check-{check}")).to_contain_text("OK")
        expect(page.get_by_test_id("transcode-queued")).to_contain_text("1")
        expect(page.get_by_test_id("transcode-queued")).to_contain_text("oldest waits 12 min")
        expect(page.get_by_test_id("transcode-no-worker")).to_be_visible()
        failures = page.get_by_test_id("transcode-failures")
        expect(failures).to_contain_text(REASON)
        expect(failures).to_contain_text("5f0c1e9ad2b34c7d9e8f7a6b5c4d3e2f")
        expect(page.get_by_test_id("ai-running")).to_contain_text("1 worker holding a lease")
        expect(page.get_by_test_id("busy-workers")).to_contain_text(
            "web-1.internal:48211:9c2f1a/ai"
        )
        expect(page.get_by_test_id("ai-failures")).to_contain_text("not installed on the server")
        expect(page.get_by_test_id("status-events")).to_contain_text("No event stored yet")

        # Nothing wider than the screen: wide tables scroll inside their box.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= (390 if phone else 1280), width
        _shot(page, f"operator-status-{'phone' if phone else 'desktop'}")
    finally:
        context.close()
    assert not errors, errors
