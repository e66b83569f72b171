"""Saved positions, watched state and "continue watching", as a bingeing viewer sees them."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.factories import make_series


def _episode_ids(client: TestClient, series_id: int) -> list[int]:
    return [e["id"] for e in client.get(f"/api/series/{series_id}").json()["episodes"]]


def test_continue_watching_resumes_at_the_saved_second(client: TestClient, db: Session) -> None:
    series = make_series(db, episodes=3)
    db.commit()
    first, second, _ = _episode_ids(client, series.id)

    client.post(f"/api/episodes/{first}/progress", json={"position_ms": 30_000, "completed": True})
    client.post(f"/api/episodes/{second}/progress", json={"position_ms": 12_400})

    items = client.get("/api/me/continue-watching").json()["items"]
    assert len(items) == 1
    assert items[0]["episode_id"] == second
    assert items[0]["episode_number"] == 2
    assert items[0]["position_ms"] == 12_400
    assert items[0]["series"]["title"] == series.title


def test_finishing_an_episode_offers_the_next_one_from_the_start(
    client: TestClient, db: Session
) -> None:
    series = make_series(db, episodes=3, duration_ms=30_000)
    db.commit()
    first, second, _ = _episode_ids(client, series.id)

    # Within the last second and a half counts as finished, even without the flag.
    client.post(f"/api/episodes/{first}/progress", json={"position_ms": 29_000})

    item = client.get("/api/me/continue-watching").json()["items"][0]
    assert (item["episode_id"], item["position_ms"]) == (second, 0)


def test_a_finished_series_leaves_continue_watching(client: TestClient, db: Session) -> None:
    series = make_series(db, episodes=1)
    db.commit()
    (only,) = _episode_ids(client, series.id)

    client.post(f"/api/episodes/{only}/progress", json={"position_ms": 0, "completed": True})

    assert client.get("/api/me/continue-watching").json()["items"] == []


def test_most_recently_watched_series_comes_first(client: TestClient, db: Session) -> None:
    older = make_series(db, title="Older")
    newer = make_series(db, title="Newer")
    db.commit()
    client.post(
        f"/api/episodes/{_episode_ids(client, older.id)[0]}/progress", json={"position_ms": 1000}
    )
    client.post(
        f"/api/episodes/{_episode_ids(client, newer.id)[0]}/progress", json={"position_ms": 1000}
    )

    titles = [i["series"]["title"] for i in client.get("/api/me/continue-watching").json()["items"]]
    assert titles == ["Newer", "Older"]


def test_history_belongs_to_the_guest_device(client: TestClient, db: Session) -> None:
    series = make_series(db)
    db.commit()
    first = _episode_ids(client, series.id)[0]
    client.post(f"/api/episodes/{first}/progress", json={"position_ms": 5000})

    other_device = TestClient(client.app)

    assert other_device.get("/api/me/continue-watching").json()["items"] == []
    assert len(client.get("/api/me/continue-watching").json()["items"]) == 1


def test_series_page_progress_marks_watched_episodes(client: TestClient, db: Session) -> None:
    series = make_series(db, episodes=3)
    db.commit()
    first, second, _ = _episode_ids(client, series.id)
    client.post(f"/api/episodes/{first}/progress", json={"position_ms": 30_000, "completed": True})
    client.post(f"/api/episodes/{second}/progress", json={"position_ms": 4_000})

    progress = client.get(f"/api/series/{series.id}/progress").json()["episodes"]

    by_id = {p["episode_id"]: p for p in progress}
    assert by_id[first]["completed"] is True
    assert by_id[second] == {"episode_id": second, "position_ms": 4_000, "completed": False}


def test_rewatching_a_finished_episode_keeps_it_watched(client: TestClient, db: Session) -> None:
    series = make_series(db, episodes=2)
    db.commit()
    first = _episode_ids(client, series.id)[0]
    client.post(f"/api/episodes/{first}/progress", json={"position_ms": 30_000, "completed": True})

    again = client.post(f"/api/episodes/{first}/progress", json={"position_ms": 3_000}).json()

    assert again == {"episode_id": first, "position_ms": 3_000, "completed": True}


def test_positions_past_the_end_are_clamped_and_bad_ones_refused(
    client: TestClient, db: Session
) -> None:
    series = make_series(db, episodes=1, duration_ms=20_000)
    db.commit()
    (only,) = _episode_ids(client, series.id)

    clamped = client.post(f"/api/episodes/{only}/progress", json={"position_ms": 99_000}).json()
    negative = client.post(f"/api/episodes/{only}/progress", json={"position_ms": -1})
    missing = client.post("/api/episodes/424242/progress", json={"position_ms": 1})

    assert clamped["position_ms"] == 20_000
    assert negative.status_code == 422
    assert negative.json()["error"] == "invalid_request"
    assert missing.status_code == 404


def test_rewatching_an_early_episode_keeps_continue_watching_where_the_binge_stopped(
    client: TestClient, db: Session
) -> None:
    series = make_series(db, episodes=8, duration_ms=60_000)
    db.commit()
    episodes = _episode_ids(client, series.id)
    for finished in episodes[:5]:
        client.post(f"/api/episodes/{finished}/progress", json={"position_ms": 60_000})
    client.post(f"/api/episodes/{episodes[5]}/progress", json={"position_ms": 41_000})

    # Back to episode 1 for a moment, as the trial did.
    client.post(f"/api/episodes/{episodes[0]}/progress", json={"position_ms": 3_000})

    item = client.get("/api/me/continue-watching").json()["items"][0]
    assert (item["episode_number"], item["position_ms"]) == (6, 41_000)


def test_after_a_rewatch_the_episode_after_the_furthest_finished_one_is_offered(
    client: TestClient, db: Session
) -> None:
    series = make_series(db, episodes=8, duration_ms=60_000)
    db.commit()
    episodes = _episode_ids(client, series.id)
    for finished in episodes[:6]:
        client.post(f"/api/episodes/{finished}/progress", json={"position_ms": 60_000})

    client.post(f"/api/episodes/{episodes[1]}/progress", json={"position_ms": 60_000})

    item = client.get("/api/me/continue-watching").json()["items"][0]
    assert (item["episode_id"], item["episode_number"], item["position_ms"]) == (
        episodes[6],
        7,
        0,
    )
