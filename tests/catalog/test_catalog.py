"""The feed, series pages and series creation, as a viewer and a creator see them."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.factories import make_series
from tests.support.studio import open_studio


def test_feed_shows_published_series_with_episode_count_and_runtime(
    client: TestClient, db: Session
) -> None:
    make_series(db, title="Contract Bride", episodes=4, duration_ms=45_000)
    make_series(db, title="Unfinished Draft", published=False)
    db.commit()

    items = client.get("/api/feed").json()["items"]

    assert [i["title"] for i in items] == ["Contract Bride"]
    card = items[0]
    assert card["episode_count"] == 4
    assert card["total_runtime_ms"] == 180_000
    assert (
        card["preview_playlist_url"] == f"/api/episodes/{card['first_episode_id']}/hls/master.m3u8"
    )


def test_episodes_still_transcoding_are_not_counted_or_listed(
    client: TestClient, db: Session
) -> None:
    series = make_series(db, episodes=5, ready=3)
    db.commit()

    page = client.get(f"/api/series/{series.id}").json()

    assert [e["number"] for e in page["episodes"]] == [1, 2, 3]
    assert page["episode_count"] == 3


def test_series_with_nothing_ready_stays_out_of_the_feed(client: TestClient, db: Session) -> None:
    make_series(db, episodes=2, ready=0)
    db.commit()

    assert client.get("/api/feed").json()["items"] == []


def test_series_page_marks_episodes_after_the_free_ones_as_locked(
    client: TestClient, db: Session
) -> None:
    series = make_series(db, episodes=4, free_episodes=2)
    db.commit()

    episodes = client.get(f"/api/series/{series.id}").json()["episodes"]

    assert [e["locked"] for e in episodes] == [False, False, True, True]
    assert episodes[0]["next_episode_id"] == episodes[1]["id"]
    assert episodes[-1]["next_episode_id"] is None


def test_draft_series_is_hidden_from_other_viewers_but_not_its_creator(client: TestClient) -> None:
    open_studio(client)
    created = client.post("/api/studio/series", json={"title": "My First Drama"})
    assert created.status_code == 201
    series_id = created.json()["id"]

    assert client.get(f"/api/series/{series_id}").status_code == 200
    stranger = TestClient(client.app)
    answer = stranger.get(f"/api/series/{series_id}")
    assert answer.status_code == 404
    assert answer.json()["error"] == "not_found"


def test_invalid_series_gets_a_clear_error_naming_the_field(client: TestClient) -> None:
    open_studio(client)
    answer = client.post(
        "/api/studio/series", json={"title": "", "episode_price_coins": -5, "colour": "x"}
    )

    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "invalid_request"
    fields = {p["field"] for p in body["problems"]}
    assert {"title", "episode_price_coins", "colour"} <= fields


def test_unknown_series_and_episode_are_404_not_500(client: TestClient) -> None:
    assert client.get("/api/series/999999").status_code == 404
    assert client.get("/api/episodes/999999").status_code == 404
    assert client.get("/api/series/not-a-number").status_code == 422


def test_a_guest_keeps_one_account_across_requests(client: TestClient) -> None:
    client.get("/api/me")
    cookie = client.cookies.get("md_device")
    client.get("/api/me")

    assert cookie is not None
    assert client.cookies.get("md_device") == cookie
