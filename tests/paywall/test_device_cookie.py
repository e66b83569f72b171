"""A client whose first request is for a playlist keeps one guest account across requests."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.factories import make_series


def test_a_playlist_answer_carries_the_new_device_cookie(client: TestClient, db: Session) -> None:
    series = make_series(db, episodes=1, free_episodes=1)
    db.commit()
    episode_id = series.episodes[0].id

    answer = client.get(f"/api/episodes/{episode_id}/hls/master.m3u8")

    # The playlist itself is a route-built Response (the file is not there in this test),
    # yet the cookie minted for the guest must come back whatever the status.
    assert "md_device=" in answer.headers.get("set-cookie", "")
    minted = client.cookies.get("md_device")
    client.get(f"/api/episodes/{episode_id}/hls/master.m3u8")
    assert client.cookies.get("md_device") == minted
