"""GET /api/discover and the /discover page: the rows and their order from fixed data, a
visitor's shared rows against a known viewer's own, the empty catalog, and each poster's
free, locked and progress state."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Account, Role
from microdrama.catalog.models import Series
from microdrama.config import Settings
from microdrama.discovery import my_list, rankings
from microdrama.discovery.models import Recommendation, SimilarSeries
from microdrama.paywall.models import Unlock, UnlockMethod
from tests.support.accounts import signed_in
from tests.support.discovery import binged, make_viewer, series_of
from tests.support.factories import make_series
from tests.support.my_list import new_episode


def _catalog(db: Session) -> dict[str, Series]:
    """Four series of two genres published on different days, free to different degrees,
    watched by different numbers of people."""
    series = {
        "Fangs": series_of(db, "vampire", "Fangs", episodes=4, days_old=9),
        "Moonlit": series_of(db, "vampire", "Moonlit", episodes=3, days_old=1),
        "Boardroom": series_of(db, "office", "Boardroom", episodes=3, days_old=5),
        "Paid Only": series_of(db, "office", "Paid Only", episodes=3, days_old=3),
    }
    series["Fangs"].free_episodes = 4  # all free
    series["Moonlit"].free_episodes = 1
    series["Boardroom"].free_episodes = 2
    series["Paid Only"].free_episodes = 0
    for title, fans, episodes in (("Boardroom", 3, 3), ("Fangs", 2, 2), ("Moonlit", 1, 1)):
        for n in range(fans):
            binged(db, make_viewer(db, f"{title} fan {n}"), series[title], episodes)
    rankings.refresh(db)
    db.commit()
    return series


def _rows(body: dict) -> dict[str, list[str]]:
    return {row["key"]: [item["title"] for item in row["items"]] for row in body["rows"]}


def _viewer(db_factory: sessionmaker[Session], settings: Settings) -> tuple[dict[str, str], int]:
    return signed_in(db_factory, settings, role=Role.viewer, name="Ana")


def test_a_visitor_gets_the_shared_rows_in_order_from_the_public_cache(
    client: TestClient, db: Session
) -> None:
    _catalog(db)

    answer = TestClient(client.app).get("/api/discover")

    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "public, max-age=5"
    body = answer.json()
    assert body["personal"] is False
    assert _rows(body) == {
        "trending": ["Boardroom", "Fangs", "Moonlit"],
        "new": ["Moonlit", "Paid Only", "Boardroom", "Fangs"],
        "binged": ["Boardroom", "Fangs", "Moonlit"],
        # Popular first, then the rest newest first; a series without free episodes is not here.
        "free": ["Boardroom", "Fangs", "Moonlit"],
        "genre:office": ["Boardroom", "Paid Only"],
        "genre:vampire": ["Fangs", "Moonlit"],
    }
    see_all = {row["key"]: row["see_all_url"] for row in body["rows"]}
    assert see_all["trending"] == "/rankings?period=weekly"
    assert see_all["binged"] == "/rankings?chart=binged&period=weekly"
    assert see_all["genre:office"] == "/search?genre=office"
    assert see_all["new"] is None
    assert {row["kind"] for row in body["rows"]} == {"trending", "new", "binged", "free", "genre"}


def test_each_poster_says_free_some_free_or_locked_and_links_to_its_series(
    client: TestClient, db: Session
) -> None:
    series = _catalog(db)

    new = next(r for r in client.get("/api/discover").json()["rows"] if r["key"] == "new")

    by_title = {item["title"]: item for item in new["items"]}
    assert by_title["Fangs"]["access"] == "free"
    assert (by_title["Moonlit"]["access"], by_title["Moonlit"]["free_episodes"]) == ("some_free", 1)
    assert by_title["Paid Only"]["access"] == "locked"
    assert by_title["Fangs"]["href"] == f"/series/{series['Fangs'].id}"
    assert by_title["Fangs"]["poster_url"] and by_title["Fangs"]["episode_count"] == 4
    assert by_title["Fangs"]["episodes_watched"] is None  # nobody to have watched it


def test_a_known_viewer_gets_their_rows_first_and_their_progress_on_every_poster(
    client: TestClient, db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    series = _catalog(db)
    headers, ana_id = _viewer(db_factory, settings)
    ana = db.get(Account, ana_id)
    assert ana is not None
    binged(db, ana, series["Moonlit"], 1)  # one of three episodes
    for rank, title in enumerate(("Paid Only", "Boardroom"), start=1):
        db.add(Recommendation(account_id=ana_id, series_id=series[title].id, rank=rank, score=1))
    for rank, title in enumerate(("Fangs", "Boardroom"), start=1):
        db.add(
            SimilarSeries(
                series_id=series["Moonlit"].id, other_series_id=series[title].id, rank=rank, score=1
            )
        )
    db.commit()

    answer = client.get("/api/discover", headers=headers)

    assert answer.headers["cache-control"] == "private, max-age=5"
    body = answer.json()
    assert body["personal"] is True
    keys = [row["key"] for row in body["rows"]]
    because = f"because:{series['Moonlit'].id}"
    assert keys[:4] == ["continue", "for_you", because, "trending"]
    rows = {row["key"]: row for row in body["rows"]}
    assert rows[because]["title"] == "Because you watched Moonlit"
    assert [i["title"] for i in rows[because]["items"]] == ["Fangs", "Boardroom"]
    assert [i["title"] for i in rows["for_you"]["items"]][:2] == ["Paid Only", "Boardroom"]
    resume = rows["continue"]["items"][0]
    assert resume["title"] == "Moonlit"
    assert resume["resume"]["episode_number"] == 2
    assert resume["href"] == f"/watch/{resume['resume']['episode_id']}?t=0"
    # The same progress wherever the series shows.
    moonlit = [i for row in body["rows"] for i in row["items"] if i["title"] == "Moonlit"]
    assert len(moonlit) >= 3 and {i["episodes_watched"] for i in moonlit} == {1}
    fangs = [i for row in body["rows"] for i in row["items"] if i["title"] == "Fangs"]
    assert {i["episodes_watched"] for i in fangs} == {0}


def test_a_series_whose_paid_episodes_the_viewer_unlocked_shows_unlocked(
    client: TestClient, db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    series = _catalog(db)
    headers, ana_id = _viewer(db_factory, settings)
    boardroom = series["Boardroom"]  # 2 free, 1 paid
    paid = boardroom.episodes[2]
    db.add(
        Unlock(
            account_id=ana_id,
            episode_id=paid.id,
            series_id=boardroom.id,
            method=UnlockMethod.coins,
            price_coins=boardroom.episode_price_coins,
        )
    )
    db.commit()

    rows = client.get("/api/discover", headers=headers).json()["rows"]
    anon = TestClient(client.app).get("/api/discover").json()["rows"]

    def access(rows: list[dict], title: str) -> set[str]:
        return {i["access"] for r in rows for i in r["items"] if i["title"] == title}

    assert access(rows, "Boardroom") == {"unlocked"}
    assert access(anon, "Boardroom") == {"some_free"}
    assert access(rows, "Paid Only") == {"locked"}


def test_a_new_guest_sees_only_the_shared_rows(client: TestClient, db: Session) -> None:
    _catalog(db)
    guest = TestClient(client.app)
    guest.get("/")  # the device cookie, no account yet
    guest.post("/api/events", json={"events": []})  # the device's guest account, no history

    body = guest.get("/api/discover").json()

    assert body["rows"][0]["key"] == "trending"
    assert not {"continue", "for_you"} & {row["key"] for row in body["rows"]}


def test_an_empty_catalog_has_no_rows_and_the_page_says_so(client: TestClient) -> None:
    body = client.get("/api/discover").json()
    page = client.get("/discover")

    assert body == {"personal": False, "rows": []}
    assert page.status_code == 200
    assert 'data-testid="discover-empty"' in page.text
    assert 'data-testid="discover-row"' not in page.text


def test_the_page_renders_every_row_with_lazy_posters_badges_and_progress(
    client: TestClient, db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    series = _catalog(db)
    headers, ana_id = _viewer(db_factory, settings)
    ana = db.get(Account, ana_id)
    assert ana is not None
    binged(db, ana, series["Fangs"], 2)
    db.commit()

    page = client.get("/discover", headers=headers)

    assert page.status_code == 200
    html = page.text
    rows = re.findall(r'data-testid="discover-row" data-row="([^"]+)"', html)
    assert rows[:2] == ["continue", "trending"]
    assert "genre:vampire" in rows
    assert 'href="/search?genre=vampire"' in html and 'href="/rankings"' in html
    assert 'loading="lazy"' in html
    assert re.search(r'data-testid="poster-progress" data-watched="2" data-of="4"', html)
    assert 'data-access="locked"' in html and 'data-access="free"' in html
    assert ">1 free<" in html
    # The header's tabs: Discover is the current one.
    assert re.search(r'data-testid="tab-discover" aria-current="page"', html)
    assert re.search(r'data-testid="tab-for-you" aria-current="page"', client.get("/").text)


def test_hostile_query_parameters_get_a_4xx(client: TestClient) -> None:
    for params in ({"limit": "0"}, {"limit": "51"}, {"limit": "many"}, {"limit": "1e9"}):
        assert client.get("/api/discover", params=params).status_code == 422


def test_a_stale_token_gets_the_shared_rows_not_an_error(client: TestClient, db: Session) -> None:
    _catalog(db)
    stale = {"Authorization": "Bearer no-such-session"}

    answer = TestClient(client.app).get("/api/discover", headers=stale)
    page = TestClient(client.app).get("/discover", headers=stale)

    assert answer.status_code == 200 and answer.json()["personal"] is False
    assert answer.json()["rows"][0]["key"] == "trending"
    assert page.status_code == 200 and 'data-row="trending"' in page.text


def test_a_limit_caps_every_row(client: TestClient, db: Session) -> None:
    _catalog(db)

    rows = client.get("/api/discover", params={"limit": 1}).json()["rows"]

    assert rows and all(len(row["items"]) == 1 for row in rows)


def test_my_list_shows_after_continue_watching_with_a_new_episode_badge(
    client: TestClient, db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    series = _catalog(db)
    headers, ana_id = _viewer(db_factory, settings)
    my_list.follow(db, ana_id, series["Paid Only"].id)
    my_list.follow(db, ana_id, series["Fangs"].id)
    db.commit()
    new_episode(db, series["Paid Only"])
    db.commit()

    body = client.get("/api/discover", headers=headers).json()
    page = client.get("/discover", headers=headers).text

    assert body["rows"][0]["key"] == "my_list"  # nothing watched: no Continue watching
    row = body["rows"][0]
    assert (row["title"], row["see_all_url"]) == ("My list", "/my-list")
    items = {i["title"]: i for i in row["items"]}
    assert list(items) == ["Paid Only", "Fangs"]  # the newest episode first
    assert (items["Paid Only"]["new_episodes"], items["Paid Only"]["episode_count"]) == (1, 4)
    assert items["Paid Only"]["access"] == "locked" and items["Fangs"]["access"] == "free"
    assert items["Fangs"]["new_episodes"] == 0
    assert page.count('data-testid="poster-new"') == 1
    assert re.search(r'aria-label="Paid Only, new episode, locked"', page)


def test_a_poster_counts_the_episodes_out_and_shows_the_creators_picture_or_the_first_frame(
    client: TestClient, db: Session
) -> None:
    half_ready = make_series(db, title="Half Ready", episodes=3, ready=2, free_episodes=2)
    pictured = make_series(db, title="Pictured", episodes=2)
    pictured.poster_key = "posters/pictured.jpg"
    db.commit()

    new = next(r for r in client.get("/api/discover").json()["rows"] if r["key"] == "new")

    by_title = {item["title"]: item for item in new["items"]}
    half = by_title["Half Ready"]
    # Both episodes out are free: the one still transcoding is not counted.
    assert (half["episode_count"], half["free_episodes"], half["access"]) == (2, 2, "free")
    frame = half_ready.episodes[0].media_asset.poster_key
    assert half["poster_url"].endswith(frame)
    assert by_title["Pictured"]["poster_url"].endswith("posters/pictured.jpg")
