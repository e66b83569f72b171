"""Ingesting the player's event batches: stored once, bad events rejected alone, never lost."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from microdrama.analytics import service
from microdrama.analytics.models import EpisodeView, PlaybackEvent
from tests.support.analytics import event
from tests.support.factories import make_series


def stored(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(PlaybackEvent)) or 0


def views(db: Session) -> list[EpisodeView]:
    """The rollup as a reader sees it (SQLite folds new events in first)."""
    service.fold_new_events(db.get_bind())  # type: ignore[arg-type]
    db.expire_all()
    return list(db.scalars(select(EpisodeView)))


def test_a_batch_is_stored_and_a_resent_batch_adds_nothing(client: TestClient, db: Session) -> None:
    series = make_series(db, episodes=2)
    db.commit()
    first = series.episodes[0].id
    batch = [event(first, "start"), event(first, "progress", 5_000), event(first, "complete")]

    answer = client.post("/api/events", json={"events": batch})
    again = client.post("/api/events", json={"events": batch})

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 3, "duplicates": 0, "rejected": []}
    assert again.json() == {"accepted": 0, "duplicates": 3, "rejected": []}
    assert stored(db) == 3
    (view,) = views(db)
    assert (view.played, view.completed, view.furthest_ms) == (True, True, 30_000)


def test_a_bad_event_is_rejected_by_index_and_the_rest_of_its_batch_is_kept(
    client: TestClient, db: Session
) -> None:
    series = make_series(db, episodes=1)
    db.commit()
    episode = series.episodes[0].id
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    good = event(episode, "start")
    batch = [
        good,
        event(episode, "teleport"),
        event(999_999, "start"),
        event(episode, "progress", 90_000),
        event(episode, "progress", occurred_at=future),
        {"kind": "start"},
        "not an event",
        event(episode, "progress", occurred_at="2026-11-25T10:00:00"),  # no time zone
        {**good},  # the same event twice in one batch
    ]

    answer = client.post("/api/events", json={"events": batch}).json()

    assert answer["accepted"] == 1
    assert answer["duplicates"] == 1
    assert [r["index"] for r in answer["rejected"]] == [1, 2, 3, 4, 5, 6, 7]
    errors = {r["index"]: r["error"] for r in answer["rejected"]}
    assert errors[1].startswith("kind")
    assert "no episode 999999" in errors[2]
    assert "beyond the episode's end" in errors[3]
    assert "future" in errors[4]
    assert errors[5].startswith("event_id")
    assert stored(db) == 1


def test_a_batch_too_large_is_refused_whole_with_a_clear_error(
    client: TestClient, db: Session
) -> None:
    series = make_series(db, episodes=1)
    db.commit()
    batch = [event(series.episodes[0].id) for _ in range(501)]

    answer = client.post("/api/events", json={"events": batch})
    not_json = client.post(
        "/api/events", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    not_a_list = client.post("/api/events", json={"events": {"kind": "start"}})

    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_batch"
    assert "at most 500" in answer.json()["message"]
    assert (not_json.status_code, not_json.json()["error"]) == (422, "invalid_batch")
    assert (not_a_list.status_code, not_a_list.json()["error"]) == (422, "invalid_batch")
    assert stored(db) == 0


def test_the_same_event_ids_from_two_devices_are_two_viewers_events(
    app: Any, client: TestClient, db: Session
) -> None:
    series = make_series(db, episodes=1)
    db.commit()
    batch = [event(series.episodes[0].id, "start")]
    with TestClient(app) as other_device:
        other_device.post("/api/events", json={"events": batch})
    client.post("/api/events", json={"events": batch})

    assert stored(db) == 2
    assert len(views(db)) == 2


def test_the_rollup_built_at_ingestion_equals_one_rebuilt_from_the_events(
    client: TestClient, db: Session
) -> None:
    series = make_series(db, episodes=2, free_episodes=1)
    db.commit()
    one, two = (e.id for e in series.episodes)
    batches = [
        [event(one, "start"), event(one, "progress", 12_000), event(one, "seek", 3_000)],
        [event(one, "complete"), event(two, "paywall_shown"), event(two, "unlock")],
        [event(two, "start", session_id="s2"), event(two, "swipe_away", 7_500, session_id="s2")],
    ]
    for batch in reversed(batches):  # arrival order must not matter
        client.post("/api/events", json={"events": batch})

    def snapshot() -> list[tuple[Any, ...]]:
        return sorted(
            (v.session_id, v.episode_id, v.played, v.furthest_ms, v.completed, v.swiped_away,
             v.paywall_shown_at is not None, v.unlocked)
            for v in views(db)
        )  # fmt: skip

    incremental = snapshot()
    service.rebuild_views(db=db)
    db.commit()

    assert snapshot() == incremental
    assert incremental == [
        ("s1", one, True, 30_000, True, False, False, False),
        ("s1", two, False, 0, False, False, True, True),
        ("s2", two, True, 7_500, False, True, False, False),
    ]


def test_folding_batch_by_batch_gives_the_rollup_folding_all_at_once_gives(
    client: TestClient, db: Session
) -> None:
    series = make_series(db, episodes=1)
    db.commit()
    episode = series.episodes[0].id
    start, late, early = (event(episode, "start"), event(episode, "progress", 20_000),
                          event(episode, "progress", 5_000))  # fmt: skip
    per_batch = []
    for batch in ([late], [start, late], [early], [early, start]):  # resent, out of order
        client.post("/api/events", json={"events": batch})
        per_batch.append([(v.furthest_ms, v.played, v.started_at) for v in views(db)])
    service.rebuild_views(db=db)
    db.commit()

    assert per_batch[-1] == [(v.furthest_ms, v.played, v.started_at) for v in views(db)]
    assert [rows[0][0] for rows in per_batch] == [20_000] * 4
    assert per_batch[0][0][2] > per_batch[1][0][2]  # the start moved the view's beginning back


def test_new_events_reach_the_rollup_without_anyone_reading_it(
    client: TestClient, db: Session
) -> None:
    series = make_series(db, episodes=1)
    db.commit()
    client.post("/api/events", json={"events": [event(series.episodes[0].id, "start")]})

    deadline = time.monotonic() + 10  # the folder runs every 2 s while events come in
    while not db.scalar(select(func.count()).select_from(EpisodeView)):
        assert time.monotonic() < deadline, "the new event was never folded into a view"
        time.sleep(0.2)
        db.rollback()


def test_events_stored_after_the_newest_ones_were_deleted_are_still_counted(
    client: TestClient, db: Session
) -> None:
    kept, dropped = make_series(db, episodes=1), make_series(db, episodes=1)
    db.commit()
    client.post("/api/events", json={"events": [event(kept.episodes[0].id, "start")]})
    client.post("/api/events", json={"events": [event(dropped.episodes[0].id, "start")]})
    assert len(views(db)) == 2
    db.delete(db.get(type(dropped), dropped.id))  # its events go with it: the newest ids
    db.commit()

    client.post(
        "/api/events", json={"events": [event(kept.episodes[0].id, "start", session_id="s9")]}
    )

    assert sorted(v.session_id for v in views(db)) == ["s1", "s9"]
