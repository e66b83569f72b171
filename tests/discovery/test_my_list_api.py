"""The My list API as a browser uses it: a guest follows series and keeps them when signing
up, the list comes back newest episode first with its badge, and hostile or wrong input gets
a clear 4xx."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from microdrama.catalog.models import Series
from microdrama.db import utcnow
from tests.support.accounts import sign_up
from tests.support.factories import make_series
from tests.support.my_list import new_episode


def _out(db: Session, title: str, days_ago: int) -> Series:
    series = make_series(db, title=title, episodes=3)
    series.published_at = utcnow() - timedelta(days=days_ago)
    for episode in series.episodes:
        episode.created_at = episode.published_at = series.published_at
    db.flush()
    return series


def _titles(client: TestClient) -> list[str]:
    return [item["title"] for item in client.get("/api/my-list").json()["items"]]


def test_a_guest_follows_series_and_sees_them_newest_episode_first(
    client: TestClient, db: Session
) -> None:
    older, newer = _out(db, "Older", 3), _out(db, "Newer", 1)
    db.commit()

    assert client.get("/api/my-list").json() == {"items": [], "with_new_episodes": 0}
    followed = client.put(f"/api/my-list/{older.id}")
    again = client.put(f"/api/my-list/{older.id}")
    client.put(f"/api/my-list/{newer.id}")

    assert followed.status_code == 200
    assert followed.json() == {"series_id": older.id, "following": True, "with_new_episodes": 0}
    assert again.json()["following"] is True
    answer = client.get("/api/my-list")
    assert answer.headers["cache-control"] == "private, no-store"
    items = answer.json()["items"]
    assert [i["title"] for i in items] == ["Newer", "Older"]
    assert items[0]["episodes_out"] == 3 and items[0]["new_episodes"] == 0
    assert items[0]["first_episode_id"] == newer.episodes[0].id
    assert items[0]["poster_url"]


def test_a_new_episode_raises_the_badge_and_opening_the_series_clears_it(
    client: TestClient, db: Session
) -> None:
    series = _out(db, "Cliffhangers", 2)
    db.commit()
    client.put(f"/api/my-list/{series.id}")
    client.get("/")  # the feed page does not count as opening the series

    new_episode(db, series)
    db.commit()

    body = client.get("/api/my-list").json()
    assert body["with_new_episodes"] == 1
    assert body["items"][0]["new_episodes"] == 1
    assert client.get("/").status_code == 200
    assert client.get("/api/my-list").json()["with_new_episodes"] == 1

    assert client.get(f"/series/{series.id}").status_code == 200

    body = client.get("/api/my-list").json()
    assert (body["with_new_episodes"], body["items"][0]["new_episodes"]) == (0, 0)


def test_the_player_opens_the_series_too(client: TestClient, db: Session) -> None:
    series = _out(db, "Binge", 2)
    db.commit()
    client.put(f"/api/my-list/{series.id}")
    episode = new_episode(db, series)
    db.commit()

    assert client.get(f"/watch/{episode.id}").status_code == 200

    assert client.get("/api/my-list").json()["with_new_episodes"] == 0


def test_unfollowing_twice_answers_the_same(client: TestClient, db: Session) -> None:
    kept, dropped = _out(db, "Kept", 1), _out(db, "Dropped", 2)
    db.commit()
    client.put(f"/api/my-list/{kept.id}")
    client.put(f"/api/my-list/{dropped.id}")

    first = client.delete(f"/api/my-list/{dropped.id}")
    second = client.delete(f"/api/my-list/{dropped.id}")

    assert first.status_code == second.status_code == 200
    assert second.json() == {"series_id": dropped.id, "following": False, "with_new_episodes": 0}
    assert _titles(client) == ["Kept"]


def test_series_viewers_cannot_watch_are_not_found(client: TestClient, db: Session) -> None:
    draft = make_series(db, title="Draft", published=False)
    scheduled = make_series(db, title="Scheduled")
    scheduled.published_at = utcnow() + timedelta(days=1)
    db.commit()

    for series_id in (draft.id, scheduled.id, 987_654, 2**40):
        for method in (client.put, client.delete):
            answer = method(f"/api/my-list/{series_id}")
            assert answer.status_code == 404, (series_id, answer.text)
            assert answer.json()["error"] == "not_found"
    assert _titles(client) == []


def test_malformed_input_is_refused_with_a_422(client: TestClient, db: Session) -> None:
    for path in ("/api/my-list/abc", "/api/my-list/1.5", "/api/my-list/%00"):
        assert client.put(path).status_code == 422, path
        assert client.delete(path).status_code == 422, path
    for limit in ("0", "501", "many"):
        assert client.get("/api/my-list", params={"limit": limit}).status_code == 422


def test_a_cross_site_follow_is_refused(client: TestClient, db: Session) -> None:
    series = _out(db, "Target", 1)
    db.commit()
    client.get("/")  # the page sets the device cookie

    answer = client.put(f"/api/my-list/{series.id}", headers={"Sec-Fetch-Site": "cross-site"})

    assert answer.status_code == 403
    assert answer.json()["error"] == "csrf_failed"
    assert _titles(client) == []


def test_signing_up_keeps_the_guests_list(client: TestClient, db: Session) -> None:
    first, second = _out(db, "First", 2), _out(db, "Second", 1)
    db.commit()
    client.put(f"/api/my-list/{first.id}")
    client.put(f"/api/my-list/{second.id}")
    guest_id = client.get("/api/me").json()["id"]

    account = sign_up(client)

    assert account["id"] == guest_id  # the guest became the account, follows and all
    assert client.get("/api/me").json()["is_guest"] is False
    assert _titles(client) == ["Second", "First"]
    client.put(f"/api/my-list/{first.id}")
    assert _titles(client) == ["Second", "First"]  # no duplicate


def test_the_page_says_how_to_add_series_when_the_list_is_empty(client: TestClient) -> None:
    page = client.get("/my-list")

    assert page.status_code == 200
    assert 'data-testid="my-list-empty"' in page.text
    assert "on a series in the feed, on its page or in the player" in page.text


def test_the_page_and_the_link_show_which_series_have_new_episodes(
    client: TestClient, db: Session
) -> None:
    quiet, busy = _out(db, "Quiet Lake", 3), _out(db, "Busy Street", 2)
    db.commit()
    client.put(f"/api/my-list/{quiet.id}")
    client.put(f"/api/my-list/{busy.id}")
    new_episode(db, busy)
    new_episode(db, busy)
    db.commit()

    page = client.get("/my-list").text
    feed = client.get("/").text

    assert page.index("Busy Street") < page.index("Quiet Lake")
    assert page.count('data-testid="new-episodes"') == 1
    assert ">2 new</span>" in page
    assert "2 new episodes" in page  # the poster link's name
    assert 'aria-label="My list, 1 with new episodes"' in feed
    assert 'data-testid="my-list-badge" aria-hidden="true">1</span>' in feed


def _pressed(html: str, series_id: int) -> str:
    """The aria-pressed of the page's follow button of this series."""
    found = re.search(rf'data-follow="{series_id}"[^>]*aria-pressed="(\w+)"', html)
    assert found, series_id
    return found.group(1)


def test_follow_buttons_start_pressed_on_followed_series(client: TestClient, db: Session) -> None:
    followed, other = _out(db, "Followed", 2), _out(db, "Other", 1)
    db.commit()
    client.put(f"/api/my-list/{followed.id}")

    feed = client.get("/").text
    series_page = client.get(f"/series/{followed.id}").text
    other_page = client.get(f"/series/{other.id}").text
    player = client.get(f"/watch/{followed.episodes[0].id}").text

    assert (_pressed(feed, followed.id), _pressed(feed, other.id)) == ("true", "false")
    assert _pressed(series_page, followed.id) == "true"
    assert _pressed(other_page, other.id) == "false"
    assert _pressed(player, followed.id) == "true"
