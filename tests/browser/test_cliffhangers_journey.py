"""The studio analytics page's Cliffhangers section in Chromium: a creator sees which endings
carried viewers on (strong), lost them (weak) or need more viewers, readable on a phone and a
laptop. No video is played: the catalog's viewing history is written as the rollup's rows."""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from microdrama.accounts import service as accounts
from microdrama.accounts.models import Account, Role, SessionKind
from microdrama.ai import writers_room as room
from microdrama.ai.writers_room_schemas import ProjectCreate
from microdrama.analytics.models import EpisodeView
from microdrama.catalog.models import Episode
from microdrama.config import Settings
from microdrama.db import make_engine, make_sessionmaker, session_scope
from tests.support.browser import DESKTOP, PHONE, SQLITE_ONLY
from tests.support.database import _empty_all_tables
from tests.support.factories import make_series
from tests.support.servers import running_server, server_env

pytestmark = [pytest.mark.browser, SQLITE_ONLY]

EPISODES = 8
FREE = 4
DURATION_MS = 60_000
# Contract Bride's endings: episode 2 keeps far more viewers than the catalog does at 2,
# episode 6 far fewer; the others are ordinary.
STRENGTHS = {2: 1.6, 6: -1.6}
PROJECT = {
    "premise": "A florist marries a cold CEO for one year to save her father's shop.",
    "trope": "contract_marriage",
    "episode_count": 20,
}


@dataclass(frozen=True)
class Studio:
    base_url: str
    series_id: int
    project_id: int
    cookie: dict[str, str]


def _history(db: Session, series_id: int, viewers: int, strengths: dict[int, float]) -> None:
    """`viewers` viewers start the series three days ago; each finishes an episode (96 %) and
    goes on with the catalog's odds times the ending's strength, or leaves."""
    rng = random.Random(series_id)
    people = [
        Account(display_name=f"Viewer {i}", role=Role.viewer, is_guest=True) for i in range(viewers)
    ]
    db.add_all(people)
    db.flush()
    episode_ids = list(
        db.scalars(
            select(Episode.id).where(Episode.series_id == series_id).order_by(Episode.number)
        )
    )
    start = datetime.now(UTC) - timedelta(days=3)
    rows = []
    for person in people:
        session, at = uuid.uuid4().hex, start + timedelta(minutes=rng.randint(0, 600))
        for number, episode_id in enumerate(episode_ids, start=1):
            finished = rng.random() < 0.96
            furthest = DURATION_MS if finished else rng.randint(1_000, DURATION_MS - 1_000)
            rows.append({
                "account_id": person.id, "session_id": session, "episode_id": episode_id,
                "series_id": series_id, "started_at": at,
                "last_at": at + timedelta(milliseconds=furthest), "played": True,
                "furthest_ms": furthest, "completed": finished, "swiped_away": not finished,
                "unlocked": number > FREE,
            })  # fmt: skip
            log_odds = 2.4 - 0.5 * math.log(number) - 1.2 * (number == FREE)
            log_odds += strengths.get(number, 0.0)
            if not finished or rng.random() > 1 / (1 + math.exp(-log_odds)):
                break
            at += timedelta(milliseconds=furthest + 1_000)
    db.execute(insert(EpisodeView), rows)


@pytest.fixture(scope="module")
def studio(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    data_dir: Path = tmp_path_factory.mktemp("cliffhangers")
    engine = make_engine(database_url)
    _empty_all_tables(engine)
    settings = Settings(environment="test", data_dir=data_dir, database_url=database_url)
    with session_scope(make_sessionmaker(engine)) as db:
        others = [
            make_series(db, title=f"Catalog {n}", episodes=EPISODES, free_episodes=FREE,
                        duration_ms=DURATION_MS)
            for n in range(4)
        ]  # fmt: skip
        for series in others:
            _history(db, series.id, 250, {})
        mine = make_series(
            db, episodes=EPISODES, free_episodes=FREE, duration_ms=DURATION_MS,
            title="Contract Bride",
        )  # fmt: skip
        _history(db, mine.id, 400, STRENGTHS)
        owner = db.get(Account, mine.owner_id)
        assert owner is not None
        # The series was planned in the writers' room: its cards hold the cliffhanger lines.
        project = room.create_project(
            db=db, owner=owner, data=ProjectCreate.model_validate(PROJECT | {"free_episodes": FREE})
        )
        project.series_id = mine.id
        project_id = project.id
        token, _ = accounts.start_session(
            db=db, settings=settings, account=owner, kind=SessionKind.cookie
        )
        series_id = mine.id
    engine.dispose()
    env = server_env(database_url=database_url, data_dir=data_dir)
    with running_server(env, data_dir / "server.log") as base_url:
        cookie = {"name": "md_session", "value": token, "path": "/",
                  "domain": urlsplit(base_url).hostname or ""}  # fmt: skip
        yield Studio(base_url, series_id, project_id, cookie)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_creator_sees_which_endings_kept_viewers_and_which_lost_them(
    browser: Browser, studio: Studio, viewport: dict[str, int], tmp_path: Path
) -> None:
    context = browser.new_context(base_url=studio.base_url, viewport=viewport)  # type: ignore[arg-type]
    context.add_cookies([studio.cookie])  # type: ignore[list-item]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"/studio/series/{studio.series_id}/analytics")
    section = page.get_by_test_id("cliffhangers")
    expect(section).to_have_attribute("aria-busy", "false")
    rows = section.get_by_test_id("cliffhanger-row")
    expect(rows).to_have_count(EPISODES)
    labels = dict(
        zip(
            rows.evaluate_all("rows => rows.map(r => Number(r.dataset.number))"),
            rows.evaluate_all("rows => rows.map(r => r.dataset.label)"),
            strict=True,
        )
    )
    assert labels[2] == "strong" and labels[6] == "weak"
    assert labels[EPISODES] == "no_next_episode"
    assert not {"strong", "weak"} & {labels[n] for n in (1, 3, 4, 5, 7)}
    expect(rows.nth(1).get_by_test_id("cliffhanger-label")).to_have_text("Strong")
    expect(rows.nth(5).get_by_test_id("cliffhanger-label")).to_have_text("Weak")
    expect(rows.nth(5).get_by_test_id("cliffhanger-facts")).to_contain_text("expected")
    expect(rows.nth(EPISODES - 1).get_by_test_id("cliffhanger-label")).to_have_text("Last episode")
    # The writers' room's line beside each ending; only the weak one offers a rewrite.
    expect(rows.nth(5).get_by_test_id("cliffhanger-line")).to_contain_text("Ends on")
    rewrite = rows.nth(5).get_by_test_id("cliffhanger-rewrite")
    expect(rewrite).to_have_text("Rewrite this ending")
    expect(rewrite).to_have_attribute(
        "href", f"/studio/writers-room/{studio.project_id}?episode=6&rewrite=cliffhanger"
    )
    expect(rows.nth(1).get_by_test_id("cliffhanger-line")).to_be_visible()
    expect(section.get_by_test_id("cliffhanger-rewrite")).to_have_count(1)
    # Readable: nothing sticks out of the card or the page.
    fits = page.evaluate(
        """() => {
            const card = document.querySelector("[data-testid=cliffhangers]");
            return card.scrollWidth <= card.clientWidth
                && document.documentElement.scrollWidth <= window.innerWidth;
        }"""
    )
    assert fits
    section.screenshot(path=str(tmp_path / f"cliffhangers-{viewport['width']}.png"))
    context.close()
    assert not errors, errors
