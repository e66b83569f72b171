"""Submit for review, the moderation queue, and publishing now or at a scheduled time."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts import service as accounts
from microdrama.accounts.models import Role
from microdrama.catalog.models import Series
from microdrama.config import Settings
from microdrama.db import session_scope, utcnow
from tests.support.accounts import Headers, signed_in
from tests.support.factories import make_series
from tests.support.studio import new_series, open_studio


def _draft(factory: sessionmaker[Session], owner_id: int, **kwargs: object) -> int:
    with session_scope(factory) as db:
        owner = accounts.get(db=db, account_id=owner_id)
        return make_series(db, owner=owner, published=False, **kwargs).id  # type: ignore[arg-type]


def _admin(factory: sessionmaker[Session], settings: Settings) -> Headers:
    headers, _ = signed_in(factory, settings, role=Role.admin, name="Ops")
    return headers


def _feed_ids(client: TestClient) -> list[int]:
    client.app.state.public_cache.clear()  # type: ignore[attr-defined]
    return [item["id"] for item in TestClient(client.app).get("/api/feed").json()["items"]]


def test_a_series_without_a_ready_episode_cannot_be_submitted(
    client: TestClient, db_factory: sessionmaker[Session]
) -> None:
    me = open_studio(client)
    empty = new_series(client)["id"]
    transcoding = _draft(db_factory, me["id"], episodes=2, ready=0)

    for series_id in (empty, transcoding):
        answer = client.post(f"/api/studio/series/{series_id}/submit")
        assert answer.status_code == 409
        assert answer.json()["error"] == "not_ready_for_review"
        assert "ready" in answer.json()["message"]


def test_paid_episodes_at_zero_coins_cannot_be_submitted(
    client: TestClient, db_factory: sessionmaker[Session]
) -> None:
    me = open_studio(client)
    series_id = _draft(db_factory, me["id"], episodes=3, free_episodes=1)
    client.patch(f"/api/studio/series/{series_id}", json={"episode_price_coins": 0})

    answer = client.post(f"/api/studio/series/{series_id}/submit")

    assert answer.status_code == 422
    assert answer.json()["field"] == "episode_price_coins"


def test_submitted_series_waits_in_the_queue_and_approval_puts_it_in_the_feed(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    me = open_studio(client)
    series_id = _draft(db_factory, me["id"], episodes=2)
    admin = _admin(db_factory, settings)

    submitted = client.post(f"/api/studio/series/{series_id}/submit")
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "in_review"
    assert client.post(f"/api/studio/series/{series_id}/submit").status_code == 409
    queue = client.get("/api/admin/moderation", headers=admin).json()
    assert [item["id"] for item in queue] == [series_id]
    assert queue[0]["ready_episode_count"] == 2
    assert series_id not in _feed_ids(client)

    approved = client.post(f"/api/admin/moderation/{series_id}/approve", json={}, headers=admin)

    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "published"
    assert series_id in _feed_ids(client)
    assert client.get("/api/admin/moderation", headers=admin).json() == []
    again = client.post(f"/api/admin/moderation/{series_id}/approve", json={}, headers=admin)
    assert again.status_code == 409


def test_an_approved_series_is_found_by_search_at_once(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    me = open_studio(client)
    series_id = _draft(db_factory, me["id"], title="Moonlit Heiress")
    admin = _admin(db_factory, settings)
    client.post(f"/api/studio/series/{series_id}/submit")
    # A viewer searched before the approval: the answer (nothing) is cached for a while.
    before = client.get("/api/search", params={"q": "moonlit heiress"}).json()
    assert before["items"] == []

    client.post(f"/api/admin/moderation/{series_id}/approve", json={}, headers=admin)

    after = client.get("/api/search", params={"q": "moonlit heiress"}).json()
    assert [item["id"] for item in after["items"]] == [series_id]


def test_a_rejected_series_shows_the_reason_and_can_be_submitted_again(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    me = open_studio(client)
    series_id = _draft(db_factory, me["id"], episodes=1)
    admin = _admin(db_factory, settings)
    client.post(f"/api/studio/series/{series_id}/submit")

    too_short = client.post(
        f"/api/admin/moderation/{series_id}/reject", json={"reason": ""}, headers=admin
    )
    assert too_short.status_code == 422
    rejected = client.post(
        f"/api/admin/moderation/{series_id}/reject",
        json={"reason": "Add a content warning for violence."},
        headers=admin,
    )

    assert rejected.status_code == 200
    mine = client.get(f"/api/studio/series/{series_id}").json()
    assert mine["status"] == "rejected"
    assert mine["review_note"] == "Add a content warning for violence."
    page = client.get(f"/studio/series/{series_id}")
    assert "Add a content warning for violence." in page.text
    assert series_id not in _feed_ids(client)
    resubmitted = client.post(f"/api/studio/series/{series_id}/submit").json()
    assert (resubmitted["status"], resubmitted["review_note"]) == ("in_review", None)


def test_a_scheduled_series_reaches_the_feed_only_when_its_time_comes(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    me = open_studio(client)
    series_id = _draft(db_factory, me["id"], episodes=1)
    admin = _admin(db_factory, settings)
    client.post(f"/api/studio/series/{series_id}/submit")
    publish_at = utcnow() + timedelta(hours=2)

    naive = client.post(
        f"/api/admin/moderation/{series_id}/approve",
        json={"publish_at": "2031-01-01T18:00:00"},
        headers=admin,
    )
    assert naive.status_code == 422
    assert naive.json()["error"] == "invalid_schedule"
    scheduled = client.post(
        f"/api/admin/moderation/{series_id}/approve",
        json={"publish_at": publish_at.isoformat()},
        headers=admin,
    )

    assert scheduled.status_code == 200, scheduled.text
    assert scheduled.json()["status"] == "scheduled"
    assert series_id not in _feed_ids(client)
    assert TestClient(client.app).get(f"/api/series/{series_id}").status_code == 404
    # Two hours later (moved in the database rather than waited for):
    with session_scope(db_factory) as db:
        series = db.get(Series, series_id)
        assert series is not None
        series.published_at = utcnow() - timedelta(seconds=1)
    assert series_id in _feed_ids(client)
    assert TestClient(client.app).get(f"/api/series/{series_id}").status_code == 200
    assert client.get(f"/api/studio/series/{series_id}").json()["status"] == "published"


def test_only_admins_see_and_decide_the_queue(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    me = open_studio(client)
    series_id = _draft(db_factory, me["id"], episodes=1)
    client.post(f"/api/studio/series/{series_id}/submit")
    viewer, _ = signed_in(db_factory, settings, role=Role.viewer, name="Vera")

    for headers in ({}, viewer):
        assert client.get("/api/admin/moderation", headers=headers).status_code == 403
        approve = client.post(
            f"/api/admin/moderation/{series_id}/approve", json={}, headers=headers
        )
        assert approve.status_code == 403
    # The creator cannot approve their own series either.
    assert client.get("/admin/moderation").status_code == 403
    assert client.get(f"/api/studio/series/{series_id}").json()["status"] == "in_review"


def test_the_moderation_page_lists_the_queue_for_an_admin(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    me = open_studio(client)
    series_id = _draft(db_factory, me["id"], title="Queue Me", episodes=1)
    client.post(f"/api/studio/series/{series_id}/submit")
    with session_scope(db_factory) as db:
        accounts.make_admin(db=db, email="ops@example.com", password="correct horse battery")
    admin = TestClient(client.app)
    admin.post(
        "/api/auth/login", json={"email": "ops@example.com", "password": "correct horse battery"}
    )

    page = admin.get("/admin/moderation")

    assert page.status_code == 200
    assert "Queue Me" in page.text
