"""The feed in each viewer's For You order: the re-rank, cold start, exploration, and two
viewers with different histories seeing different first series."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Account
from microdrama.analytics.models import EpisodeView
from microdrama.catalog.models import Series
from microdrama.db import utcnow
from microdrama.discovery import for_you
from microdrama.discovery.for_you import SharedPools, vary_genres, with_exploration
from microdrama.discovery.models import Recommendation
from microdrama.discovery.training import train
from tests.support.analytics import event
from tests.support.discovery import binged, make_viewer, series_of, swiped_away
from tests.support.factories import make_series
from tests.support.studio import open_studio


def _order(db: Session, viewer: Account | None, upto: int = 10) -> list[int]:
    pools = for_you.shared_pools(db=db)
    account_id = viewer.id if viewer else None
    return for_you.feed_order(db=db, account_id=account_id, pools=pools, upto=upto)


def _recommend(db: Session, viewer: Account, series_ids: list[int]) -> None:
    """Candidates as a training would have written them."""
    for rank, series_id in enumerate(series_ids, start=1):
        db.add(Recommendation(account_id=viewer.id, series_id=series_id, rank=rank, score=1.0))
    db.flush()


# -- the re-rank on its own ----------------------------------------------------------------


def test_no_more_than_two_of_one_genre_follow_each_other_while_another_waits() -> None:
    genre_of = {1: "vampire", 2: "vampire", 3: "vampire", 4: "vampire", 5: "office", 6: "office"}

    assert vary_genres([1, 2, 3, 4, 5, 6], genre_of) == [1, 2, 5, 3, 4, 6]
    assert vary_genres([1, 2, 3, 4], genre_of) == [1, 2, 3, 4]  # nothing else waits
    assert vary_genres([1, 2, 3, 4, 5, 6], genre_of, limit=3) == [1, 2, 5]


def test_new_series_take_the_exploration_places_and_viewers_get_different_ones() -> None:
    head = list(range(100, 110))
    new = list(range(1, 21))

    first = with_exploration(head, new, seed=1)
    second = with_exploration(head, new, seed=2)

    assert len(first) == 12
    assert first[3] in new and first[8] in new
    assert [s for s in first if s not in new] == head
    assert (first[3], first[8]) != (second[3], second[8])
    assert with_exploration([], new, seed=1) == []  # an empty head stays the newest-first feed


# -- reads and the order -------------------------------------------------------------------


def test_the_feed_puts_what_the_viewer_finished_or_swiped_away_early_last(db: Session) -> None:
    finished = series_of(db, "vampire", "Finished", days_old=3)
    skipped = series_of(db, "office", "Skipped", days_old=2)
    sampled = series_of(db, "revenge", "Sampled", days_old=1)
    halfway = series_of(db, "romance", "Halfway")
    viewer = make_viewer(db)
    binged(db, viewer, finished)
    binged(db, viewer, halfway, episodes=2)
    swiped_away(db, viewer, skipped)
    swiped_away(db, viewer, sampled, at_ms=25_000)  # watched 25 s: not a skip
    _recommend(db, viewer, [finished.id, skipped.id, halfway.id, sampled.id])
    db.commit()

    assert for_you.seen_off(db=db, account_id=viewer.id) == {finished.id, skipped.id}
    # Out of the personal order and the newest-first rest; shown only once all else has been.
    assert _order(db, viewer) == [halfway.id, sampled.id, skipped.id, finished.id]
    assert _order(db, viewer, upto=2) == [halfway.id, sampled.id]


def test_the_personal_order_varies_genres_and_then_goes_on_with_the_newest(db: Session) -> None:
    vampire = [series_of(db, "vampire", f"Fangs {n}", days_old=20) for n in range(3)]
    office = series_of(db, "office", "Boardroom", days_old=20)
    older = series_of(db, "romance", "Not Proposed", days_old=30)
    viewer = make_viewer(db)
    _recommend(db, viewer, [*(s.id for s in vampire), office.id])
    db.commit()

    assert _order(db, viewer) == [
        vampire[0].id,
        vampire[1].id,
        office.id,
        vampire[2].id,
        older.id,
    ]


def _watched_by(db: Session, series_ids: dict[int, int]) -> None:
    """`count` different viewers binged each series."""
    for series_id, count in series_ids.items():
        series = db.get(Series, series_id)
        assert series is not None
        for n in range(count):
            binged(db, make_viewer(db, f"Fan {series_id}-{n}"), series)


def test_a_new_viewer_gets_trending_with_genres_varied(db: Session) -> None:
    vampire = [series_of(db, "vampire", f"Fangs {n}", days_old=20) for n in range(3)]
    office = series_of(db, "office", "Boardroom", days_old=20)
    quiet = series_of(db, "romance", "Nobody Watches", days_old=30)
    _watched_by(db, {vampire[0].id: 5, vampire[1].id: 4, vampire[2].id: 3, office.id: 2})
    stranger = make_viewer(db, "Stranger")
    db.commit()

    expected = [vampire[0].id, vampire[1].id, office.id, vampire[2].id, quiet.id]
    assert _order(db, stranger) == expected
    assert _order(db, None) == expected  # a visitor without an account too


def test_a_new_series_with_few_views_gets_an_exploration_place(db: Session) -> None:
    popular = [series_of(db, f"genre {n}", f"Hit {n}", days_old=30 + n) for n in range(5)]
    _watched_by(db, {s.id: 1 for s in popular})
    # A hundred views make a series known: it is no longer explored.
    known = series_of(db, "office", "Known", days_old=1)
    fan = make_viewer(db, "Heavy fan")
    for n in range(for_you.EXPLORE_UNDER_VIEWS):
        db.add(
            EpisodeView(
                account_id=fan.id,
                session_id=f"s{n}",
                episode_id=known.episodes[0].id,
                series_id=known.id,
                started_at=utcnow(),
                last_at=utcnow(),
            )
        )
    fresh = series_of(db, "werewolf", "Fresh")
    viewer = make_viewer(db)
    db.commit()

    pools = for_you.shared_pools(db=db)
    order = _order(db, viewer)

    assert [s for s, _ in pools.new] == [fresh.id]
    assert order[3] == fresh.id
    assert order[:3] + order[4:6] == [s.id for s in popular]


def test_pools_survive_the_public_cache_as_bytes() -> None:
    pools = SharedPools(trending=[(1, "vampire"), (2, "office")], new=[(3, "werewolf")])

    assert SharedPools.from_json(pools.to_json()) == pools


# -- through the API ---------------------------------------------------------------------


def test_two_viewers_with_different_histories_see_different_first_series(
    client: TestClient, db: Session, db_factory: sessionmaker[Session]
) -> None:
    vampire = [series_of(db, "vampire", f"Fangs {n}", days_old=5) for n in range(3)]
    office = [series_of(db, "office", f"Boardroom {n}", days_old=5) for n in range(3)]
    for n in range(4):
        for genre in (vampire, office):
            fan = make_viewer(db, f"Fan {n}")
            for series in genre:
                binged(db, fan, series)
    db.commit()
    ana, ben = TestClient(client.app), TestClient(client.app)
    for viewer, series in ((ana, vampire[0]), (ben, office[0])):
        viewer.get("/")  # the device cookie
        episodes = client.get(f"/api/series/{series.id}").json()["episodes"]
        batch = [event(e["id"], "complete") for e in episodes]
        assert viewer.post("/api/events", json={"events": batch}).status_code == 200

    train(db_factory)
    ana_feed = ana.get("/api/feed")
    ben_first = ben.get("/api/feed").json()["items"][0]

    assert ana_feed.headers["cache-control"] == "private, max-age=5"
    ana_first = ana_feed.json()["items"][0]
    assert ana_first["genre"] == "vampire" and ana_first["id"] != vampire[0].id
    assert ben_first["genre"] == "office" and ben_first["id"] != office[0].id
    # The feed page's first card is the same.
    page_first = re.search(r'data-index="0" data-series-id="(\d+)"', ana.get("/").text)
    assert page_first is not None and int(page_first[1]) == ana_first["id"]


def test_a_visitor_without_cookies_gets_the_shared_feed_from_the_public_cache(
    client: TestClient, db: Session
) -> None:
    series = series_of(db, "vampire", "Fangs")
    db.commit()

    answer = TestClient(client.app).get("/api/feed")

    assert answer.headers["cache-control"] == "public, max-age=5"
    assert answer.headers["vary"] == "Cookie, Authorization"
    assert [card["id"] for card in answer.json()["items"]] == [series.id]


def test_a_viewer_sees_a_series_renamed_in_the_studio_on_their_next_page(
    client: TestClient, db: Session
) -> None:
    """A known viewer's page is rebuilt from cards kept a few seconds; a change in the studio
    clears them with the page, as it clears the shared feed."""
    creator = TestClient(client.app)
    owner_id = open_studio(creator)["id"]
    series = make_series(db, title="Fangs", owner=db.get(Account, owner_id))
    db.commit()
    viewer = TestClient(client.app)
    viewer.get("/")  # the device cookie: a known viewer from here on

    def titles() -> list[str]:
        answer = viewer.get("/api/feed")
        assert answer.headers["cache-control"] == "private, max-age=5"
        return [card["title"] for card in answer.json()["items"]]

    assert titles() == ["Fangs"]
    renamed = creator.patch(f"/api/studio/series/{series.id}", json={"title": "Fangs Forever"})
    assert renamed.status_code == 200, renamed.text
    assert titles() == ["Fangs Forever"]
