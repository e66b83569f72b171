"""A simulated audience through the real ingestion endpoint: the dashboard tells the truth."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from microdrama.analytics import dashboard
from microdrama.catalog.models import Series
from tests.support.audience import EpisodePlan, Post, drive, plan_sessions
from tests.support.factories import make_series

SESSIONS = 2_000


def _new_device(client: TestClient) -> Any:
    def new_viewer() -> Post:
        client.cookies.clear()  # the next request is a new device, hence a new guest viewer

        def post(batch: list[dict[str, Any]]) -> None:
            answer = client.post("/api/events", json={"events": batch})
            assert answer.status_code == 200, answer.text
            assert answer.json()["rejected"] == []

        return post

    return new_viewer


def test_retention_and_continuation_match_a_simulated_audience(
    client: TestClient, db: Session
) -> None:
    series = make_series(db, episodes=3, duration_ms=20_000, free_episodes=3)
    db.commit()
    one, two, three = (e.id for e in series.episodes)
    plans = [
        EpisodePlan(one, 20_000, {2: 0.20, 3: 0.05, 11: 0.10, 17: 0.05}, continuation=0.70),
        EpisodePlan(two, 20_000, {1: 0.10, 9: 0.15}, continuation=0.55),
        EpisodePlan(three, 20_000, {4: 0.30, 14: 0.12}, continuation=0.0),
    ]
    sessions, truth = plan_sessions(plans, sessions=SESSIONS, viewers=500, seed=5)

    sent = drive(sessions, new_viewer=_new_device(client), seed=5)
    db.expire_all()
    report = dashboard.series_dashboard(db=db, series=db.get(Series, series.id) or series)

    assert sent > 10_000
    by_id = {e.episode_id: e for e in report.episodes}
    for plan in plans:
        stats = by_id[plan.episode_id]
        expected = truth.retention(plan.episode_id, 20)
        assert stats.views == truth.views[plan.episode_id]
        assert len(stats.retention) == len(expected)
        worst = max(abs(a - b) for a, b in zip(stats.retention, expected, strict=True))
        assert worst <= 0.01, (plan.episode_id, stats.retention, expected)
        # The curve is the plan: after each planned drop second the planned share is gone.
        gone = 1 - stats.retention[max(plan.drop_offs) + 1]
        assert abs(gone - sum(plan.drop_offs.values())) <= 0.01
        biggest = max(plan.drop_offs, key=lambda s: plan.drop_offs[s])
        assert stats.drop_offs[0].second == biggest
    for plan in plans[:-1]:
        measured = by_id[plan.episode_id].continuation_rate
        assert measured is not None
        assert abs(measured - truth.continuation(plan.episode_id)) <= 0.01
        assert abs(measured - plan.continuation) <= 0.01
    assert by_id[three].continuation_rate is None
    assert report.binge.sessions == SESSIONS
    assert report.unique_viewers == 500
    assert abs(report.binge.average_episodes - sum(truth.views.values()) / SESSIONS) <= 0.01
