"""A client whose first request is for a playlist keeps one guest account across requests."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.orm import Session

from microdrama.accounts.models import AuthSession
from tests.support.accounts import sign_up
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


def test_an_ended_session_cookie_is_cleared_also_by_a_route_built_answer(
    client: TestClient, db: Session
) -> None:
    series = make_series(db, episodes=1, free_episodes=1)
    db.commit()
    sign_up(client)
    assert client.cookies.get("md_session")
    db.execute(delete(AuthSession))  # signed out elsewhere: the session is gone
    db.commit()

    answer = client.get(f"/api/episodes/{series.episodes[0].id}/hls/master.m3u8")

    # The playlist is a route-built Response; the browser is still told to forget the cookie.
    assert 'md_session=""' in answer.headers.get("set-cookie", "")
    assert client.cookies.get("md_session") is None
