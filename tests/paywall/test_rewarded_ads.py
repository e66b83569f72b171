"""Rewarded ads: watch the built-in ad to the end, and the ad network's signed callback unlocks."""

from __future__ import annotations

import threading
from datetime import timedelta
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Account
from microdrama.catalog.models import Episode, Series
from microdrama.config import Settings
from microdrama.db import session_scope, utcnow
from microdrama.paywall import ads
from microdrama.paywall.entitlement import ads_left_today, entitlement
from microdrama.paywall.models import AdReward, Unlock, UnlockMethod
from microdrama.storage import LocalStorage
from tests.support.factories import make_series

pytestmark = pytest.mark.slow


def _paid_episodes(db: Session, count: int = 3) -> list[Episode]:
    series: Series = make_series(db, episodes=count + 1, free_episodes=1)
    db.commit()
    return sorted(series.episodes, key=lambda e: e.number)[1:]


def _viewer(db: Session, client: TestClient) -> Account:
    account = db.get(Account, client.get("/api/me").json()["id"])
    assert account is not None
    return account


def _started_ago(
    client: TestClient, db: Session, settings: Settings, episode: Episode, seconds: float
) -> str:
    """An ad session the viewer started `seconds` ago (the ad is 8 s long by default)."""
    storage = LocalStorage(settings.media_dir, settings.media_url_prefix)
    session = ads.start_ad_session(
        db=db,
        storage=storage,
        settings=settings,
        viewer=_viewer(db, client),
        episode_id=episode.id,
        now=utcnow() - timedelta(seconds=seconds),
    )
    db.rollback()
    return session.ad_session


def _complete(client: TestClient, ad_session: str) -> Response:
    return client.post(f"/api/ads/sessions/{quote(ad_session, safe='')}/complete")


def _callback(
    settings: Settings,
    viewer_id: int,
    episode_id: int,
    transaction_id: str = "txn-1",
    seconds_ago: float = 0,
) -> str:
    return ads.callback_query(
        settings=settings,
        viewer_id=viewer_id,
        episode_id=episode_id,
        transaction_id=transaction_id,
        now=utcnow() - timedelta(seconds=seconds_ago),
    )


def _rewards(db: Session) -> tuple[int, int]:
    db.rollback()
    return (
        db.scalar(select(func.count()).select_from(AdReward)) or 0,
        db.scalar(select(func.count()).select_from(Unlock)) or 0,
    )


def test_a_viewer_watches_the_ad_to_the_end_and_the_episode_unlocks(
    client: TestClient, db: Session, settings: Settings
) -> None:
    episode = _paid_episodes(db)[0]

    started = client.post("/api/ads/sessions", json={"episode_id": episode.id})

    assert started.status_code == 201, started.text
    body = started.json()
    assert body["duration_ms"] == 8_000
    assert body["ads_left_today"] == settings.ad_unlocks_per_day
    assert body["ad_url"].startswith("/media/ads/sandbox/")
    video = client.get(body["ad_url"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    skipped = client.post(f"/api/ads/sessions/{body['ad_session']}/complete")
    assert skipped.status_code == 409
    assert skipped.json()["error"] == "ad_not_finished"
    assert _rewards(db) == (0, 0)

    done = _complete(client, _started_ago(client, db, settings, episode, seconds=9))

    assert done.status_code == 200, done.text
    assert done.json() == {
        "granted": True,
        "reason": "unlocked",
        "episode_id": episode.id,
        "ads_left_today": settings.ad_unlocks_per_day - 1,
    }
    viewer = _viewer(db, client)
    assert entitlement(db=db, viewer=viewer, episode=episode).reason == "unlocked"
    unlock = db.get(Unlock, (viewer.id, episode.id))
    assert unlock is not None
    assert (unlock.method, unlock.price_coins) == (UnlockMethod.ad, 0)


def test_completing_the_same_ad_twice_grants_once(
    client: TestClient, db: Session, settings: Settings
) -> None:
    episode = _paid_episodes(db)[0]
    ad_session = _started_ago(client, db, settings, episode, seconds=9)

    assert _complete(client, ad_session).status_code == 200
    again = _complete(client, ad_session)

    assert again.status_code == 409
    assert again.json()["error"] == "ad_callback_replayed"
    assert _rewards(db) == (1, 1)


def test_someone_elses_ad_session_is_refused(
    client: TestClient, app: FastAPI, db: Session, settings: Settings
) -> None:
    episode = _paid_episodes(db)[0]
    ad_session = _started_ago(client, db, settings, episode, seconds=9)
    other = TestClient(app)

    response = _complete(other, ad_session)

    assert response.status_code == 403
    assert response.json()["error"] == "ad_session_invalid"
    # One character changed in the middle (the last ones may only carry base64 padding bits).
    middle = len(ad_session) // 2
    swapped = "A" if ad_session[middle] != "A" else "B"
    tampered = ad_session[:middle] + swapped + ad_session[middle + 1 :]
    assert _complete(client, tampered).json()["error"] == "ad_session_invalid"
    assert _rewards(db) == (0, 0)


def test_a_valid_ssv_callback_from_the_network_grants_the_unlock(
    client: TestClient, db: Session, settings: Settings
) -> None:
    episode = _paid_episodes(db)[0]
    viewer = _viewer(db, client)

    response = client.get(f"/api/ads/ssv?{_callback(settings, viewer.id, episode.id)}")

    assert response.status_code == 200, response.text
    assert response.json()["granted"] is True
    assert _rewards(db) == (1, 1)


def test_forged_and_altered_callbacks_grant_nothing(
    client: TestClient, db: Session, settings: Settings
) -> None:
    episode = _paid_episodes(db)[0]
    viewer = _viewer(db, client)
    genuine = _callback(settings, viewer.id, episode.id)
    message = genuine.partition("&signature=")[0]
    forged_signature = ads.sign_callback(secret="guessed-secret", message=message)
    attempts = {
        "forged signature": f"{message}&signature={forged_signature}&key_id=sandbox-1",
        "another viewer": genuine.replace(f"user_id={viewer.id}", f"user_id={viewer.id + 1}"),
        "another episode": genuine.replace(
            f"custom_data={episode.id}", f"custom_data={episode.id + 1}"
        ),
        "unknown key": genuine.replace("key_id=sandbox-1", "key_id=other"),
        "unsigned": message,
    }

    for name, query in attempts.items():
        response = client.get(f"/api/ads/ssv?{query}")
        assert response.status_code == 400, name
        assert response.json()["error"] == "ad_callback_invalid", name
    assert _rewards(db) == (0, 0)


def test_a_replayed_transaction_id_grants_nothing_more(
    client: TestClient, db: Session, settings: Settings
) -> None:
    first, second = _paid_episodes(db)[:2]
    viewer = _viewer(db, client)

    assert client.get(f"/api/ads/ssv?{_callback(settings, viewer.id, first.id)}").is_success
    replay = client.get(f"/api/ads/ssv?{_callback(settings, viewer.id, first.id)}")
    # The same transaction id signed afresh for another episode is still the same ad view.
    other = client.get(f"/api/ads/ssv?{_callback(settings, viewer.id, second.id)}")

    for response in (replay, other):
        assert response.status_code == 409
        assert response.json()["error"] == "ad_callback_replayed"
    assert _rewards(db) == (1, 1)


def test_a_stale_callback_grants_nothing(
    client: TestClient, db: Session, settings: Settings
) -> None:
    episode = _paid_episodes(db)[0]
    viewer = _viewer(db, client)
    stale = _callback(settings, viewer.id, episode.id, seconds_ago=301)

    response = client.get(f"/api/ads/ssv?{stale}")

    assert response.status_code == 400
    assert response.json()["error"] == "ad_callback_stale"
    assert _rewards(db) == (0, 0)


def test_the_daily_cap_stops_ad_unlocks(
    client: TestClient, db: Session, settings: Settings
) -> None:
    settings.ad_unlocks_per_day = 2
    episodes = _paid_episodes(db, count=3)
    viewer = _viewer(db, client)
    for n, episode in enumerate(episodes[:2]):
        query = _callback(settings, viewer.id, episode.id, transaction_id=f"t{n}")
        assert client.get(f"/api/ads/ssv?{query}").is_success

    over = client.get(f"/api/ads/ssv?{_callback(settings, viewer.id, episodes[2].id, 't2')}")
    start = client.post("/api/ads/sessions", json={"episode_id": episodes[2].id})

    for response in (over, start):
        assert response.status_code == 429
        assert response.json()["error"] == "ad_limit_reached"
    assert _rewards(db) == (2, 2)
    assert ads_left_today(db=db, settings=settings, viewer_id=viewer.id) == 0
    tomorrow = utcnow() + timedelta(days=1)
    assert ads_left_today(db=db, settings=settings, viewer_id=viewer.id, now=tomorrow) == 2


def test_an_episode_the_viewer_can_already_watch_needs_no_ad(
    client: TestClient, db: Session
) -> None:
    series = make_series(db, episodes=2, free_episodes=1)
    db.commit()
    free = min(series.episodes, key=lambda e: e.number)

    response = client.post("/api/ads/sessions", json={"episode_id": free.id})

    assert response.status_code == 409
    assert response.json()["error"] == "already_entitled"


def test_the_same_callback_delivered_ten_times_at_once_rewards_once(
    client: TestClient, db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    episode = _paid_episodes(db)[0]
    viewer_id = _viewer(db, client).id
    query = _callback(settings, viewer_id, episode.id)
    outcomes: list[str] = []
    barrier = threading.Barrier(10)

    def deliver() -> None:
        barrier.wait()
        try:
            with session_scope(db_factory) as session:
                ads.verify_callback(db=session, settings=settings, query=query)
            outcomes.append("granted")
        except ads.AdCallbackReplayed:
            outcomes.append("replayed")
        except OperationalError:  # SQLite's single writer: the network retries later
            outcomes.append("busy")

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("granted") == 1, outcomes
    assert _rewards(db) == (1, 1)
