"""Cliffhanger counts from real playback events: devices send what the player sends through
`POST /api/events`, unlocks go through the paywall's API, and the creator reads the scores
from `GET /api/studio/series/{id}/cliffhangers` (both databases)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts import service as accounts
from microdrama.accounts.models import Account, Role, SessionKind
from microdrama.analytics import cliffhangers
from microdrama.catalog.models import Episode, EpisodeState
from microdrama.config import Settings
from microdrama.db import session_scope
from tests.support.factories import make_creator, make_series
from tests.support.payments import viewer
from tests.support.studio import open_studio
from tests.support.wallet import top_up

DURATION_MS = 30_000  # make_series' episodes: the last 10 s start at 20 s


def bearer(factory: sessionmaker[Session], settings: Settings, account_id: int) -> dict[str, str]:
    with session_scope(factory) as db:
        account = db.get(Account, account_id)
        assert account is not None
        token, _ = accounts.start_session(
            db=db, settings=settings, account=account, kind=SessionKind.bearer
        )
    return {"Authorization": f"Bearer {token}"}


class Device:
    """One viewer's browser sending the player's events, at the times given."""

    def __init__(self, app: FastAPI) -> None:
        self.client, self.account_id = viewer(app)
        self.session = uuid.uuid4().hex

    def send(self, episode_id: int, kind: str, at: datetime, position_ms: int = 0) -> None:
        self.send_all([(episode_id, kind, at, position_ms)])

    def send_all(self, events: list[tuple[int, str, datetime, int]]) -> None:
        batch: list[dict[str, Any]] = [
            {
                "event_id": uuid.uuid4().hex,
                "kind": kind,
                "episode_id": episode_id,
                "session_id": self.session,
                "position_ms": position_ms,
                "occurred_at": at.isoformat(),
            }
            for episode_id, kind, at, position_ms in events
        ]
        answer = self.client.post("/api/events", json={"events": batch})
        assert answer.status_code == 200 and answer.json()["rejected"] == [], answer.text

    def watch(self, episode_id: int, at: datetime, until_ms: int | None = None) -> datetime:
        """Play from the start to `until_ms` (left there) or to the end; when it stopped."""
        end_ms = DURATION_MS if until_ms is None else until_ms
        events = [(episode_id, "start", at, 0)]
        events += [
            (episode_id, "progress", at + timedelta(milliseconds=p), p)
            for p in range(5_000, end_ms, 5_000)
        ]
        stop = at + timedelta(milliseconds=end_ms)
        events.append((episode_id, "complete" if until_ms is None else "swipe_away", stop, end_ms))
        self.send_all(events)
        return stop

    def new_session(self) -> None:
        self.session = uuid.uuid4().hex


def test_continuation_and_ending_drop_off_count_what_viewers_did(
    app: FastAPI, db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    series = make_series(db, episodes=3, free_episodes=2, duration_ms=DURATION_MS)
    db.commit()
    one, two, three = (e.id for e in series.episodes)
    now = datetime.now(UTC)
    t0 = now - timedelta(days=3)
    second = timedelta(seconds=1)

    # A binges: finishes 1 and 2, meets the paywall on 3, unlocks, leaves at 25 s (in the end).
    a = Device(app)
    top_up(db_factory, settings, a.account_id, coins=100)
    at = a.watch(two, a.watch(one, t0) + second) + second
    a.send(three, "paywall_shown", at)
    answer = a.client.post(
        f"/api/episodes/{three}/unlock",
        json={"method": "coins"},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert answer.status_code == 200, answer.text
    a.send(three, "unlock", at + second)
    a.watch(three, at + 2 * second, until_ms=25_000)
    # B finishes 1 and 2, meets the paywall on 3 and leaves.
    b = Device(app)
    at = b.watch(two, b.watch(one, t0) + second) + second
    b.send(three, "paywall_shown", at)
    # C finishes 1 and comes back to 2 thirty hours later (not within 24 h), leaves it at 12 s.
    c = Device(app)
    at = c.watch(one, t0)
    c.new_session()
    c.watch(two, at + timedelta(hours=30), until_ms=12_000)
    # D leaves 1 at 22 s: in its last 10 seconds.
    Device(app).watch(one, t0, until_ms=22_000)
    # E leaves 1 at 5 s.
    Device(app).watch(one, t0, until_ms=5_000)
    # F finished 1 an hour ago: their 24 hours are not over, so they are not counted yet.
    Device(app).watch(one, now - timedelta(hours=1))

    owner = bearer(db_factory, settings, series.owner_id)
    with TestClient(app) as studio:
        answer = studio.get(f"/api/studio/series/{series.id}/cliffhangers", headers=owner)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    by_number = {e["number"]: e for e in report["episodes"]}
    assert [e["number"] for e in report["episodes"]] == [1, 2, 3]

    ep1, ep2, ep3 = by_number[1], by_number[2], by_number[3]
    # Episode 1: A, B, C finished it days ago (F too recently); A and B went on within 24 h.
    assert (ep1["viewers"], ep1["continued"], ep1["continuation"]) == (3, 2, 0.6667)
    # Reached its last 10 s: A, B, C, F (finished) and D (left at 22 s); D left there.
    assert (ep1["reached_end"], ep1["drop_off"]) == (5, 0.2)
    # Episode 2: A and B finished it; A unlocked 3 and played it, B met the paywall and left.
    assert (ep2["viewers"], ep2["continued"], ep2["continuation"]) == (2, 1, 0.5)
    assert (ep2["reached_end"], ep2["drop_off"]) == (2, 0.0)
    # Episode 3 ends the series: no continuation; A left in its last 10 s.
    assert ep3["label"] == "no_next_episode" and ep3["continuation"] is None
    assert (ep3["reached_end"], ep3["drop_off"]) == (1, 1.0)
    # A handful of viewers is no verdict, but the numbers and an expectation are shown.
    assert ep1["label"] == ep2["label"] == "not_enough_viewers"
    assert ep1["expected"] is not None and ep1["interval"] is not None
    assert ep1["title"] == series.episodes[0].title and ep1["episode_id"] == one
    assert report["min_viewers"] == cliffhangers.MIN_FINISHERS


def test_an_unlock_counts_as_going_on_even_when_its_event_was_lost(
    app: FastAPI, db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    series = make_series(db, episodes=2, free_episodes=1, duration_ms=DURATION_MS)
    db.commit()
    one, two = (e.id for e in series.episodes)
    device = Device(app)
    top_up(db_factory, settings, device.account_id, coins=100)
    device.watch(one, datetime.now(UTC) - timedelta(minutes=2))
    # The unlock reaches the server; the player's events after it never do (tab closed).
    answer = device.client.post(
        f"/api/episodes/{two}/unlock",
        json={"method": "coins"},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert answer.status_code == 200, answer.text
    with session_scope(db_factory) as work:
        # Read a day later, when the finisher's 24 hours are over.
        scores = cliffhangers.series_cliffhangers(
            db=work, series_id=series.id, now=datetime.now(UTC) + timedelta(hours=24)
        )
    first = scores[0].score
    assert (first.finished, first.continued) == (1, 1)


@pytest.mark.parametrize("who", ["nobody", "viewer", "other_creator"])
def test_only_the_series_creator_reads_its_cliffhangers(
    who: str,
    app: FastAPI,
    client: TestClient,
    db: Session,
    db_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    series = make_series(db, episodes=2)
    other = make_creator(db, name="Another Studio")
    member = Account(display_name="A viewer", role=Role.viewer, is_guest=False)
    db.add(member)
    db.commit()
    headers: dict[str, str] = {}
    if who == "viewer":
        headers = bearer(db_factory, settings, member.id)
    elif who == "other_creator":
        headers = bearer(db_factory, settings, other.id)
    answer = client.get(f"/api/studio/series/{series.id}/cliffhangers", headers=headers)
    assert answer.status_code == {"nobody": 401, "viewer": 403, "other_creator": 403}[who]
    assert answer.json()["message"]


def test_an_unknown_series_is_not_found(
    client: TestClient, db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    creator = make_creator(db)
    db.commit()
    headers = bearer(db_factory, settings, creator.id)
    for path_id in ("999999", "0", "abc"):
        answer = client.get(f"/api/studio/series/{path_id}/cliffhangers", headers=headers)
        assert answer.status_code in (404, 422), answer.text
        assert answer.json()["message"]


def test_an_episode_before_one_still_processing_ends_the_series_for_now(
    db: Session, db_factory: sessionmaker[Session]
) -> None:
    series = make_series(db, episodes=3, ready=2)
    db.commit()
    with session_scope(db_factory) as work:
        scores = cliffhangers.series_cliffhangers(db=work, series_id=series.id)
    labels = [item.score.label for item in scores]
    assert labels == [
        cliffhangers.Label.not_enough_viewers,
        cliffhangers.Label.no_next_episode,
        cliffhangers.Label.no_next_episode,
    ]


def test_a_series_made_in_the_writers_room_shows_each_ending_line_and_where_to_rewrite_it(
    client: TestClient, db: Session
) -> None:
    open_studio(client)
    body = {
        "premise": "A florist marries a cold CEO for one year to save her father's shop.",
        "trope": "contract_marriage", "tone": "romantic, tense", "episode_count": 20,
        "free_episodes": 5, "episode_seconds": 90,
    }  # fmt: skip
    project = client.post("/api/studio/writers-room", json=body).json()
    edited = client.patch(
        f"/api/studio/writers-room/{project['id']}/cards/2",
        json={"cliffhanger_line": "The contract has a second page."},
    )
    assert edited.status_code == 200, edited.text
    created = client.post(f"/api/studio/writers-room/{project['id']}/series")
    assert created.status_code == 201, created.text
    series_id = created.json()["series_id"]
    # Two episodes' videos came (uploads or table reads).
    for number in (1, 2):
        db.add(
            Episode(series_id=series_id, number=number, title=f"Part {number}",
                    duration_ms=DURATION_MS, state=EpisodeState.ready)
        )  # fmt: skip
    db.commit()

    answer = client.get(f"/api/studio/series/{series_id}/cliffhangers")
    assert answer.status_code == 200, answer.text
    second = answer.json()["episodes"][1]
    assert second["number"] == 2
    assert second["cliffhanger"] == {
        "line": "The contract has a second page.",
        "kind": project["cards"][1]["cliffhanger_kind"],
        "rewrite_url": f"/studio/writers-room/{project['id']}?episode=2&rewrite=cliffhanger",
    }
