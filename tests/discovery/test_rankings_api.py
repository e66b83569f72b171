"""GET /api/rankings and the /rankings page: a chart read back with its series and change of
rank, the tabs as links, the empty states, and hostile input answered with a 4xx."""

from __future__ import annotations

import html
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from microdrama.catalog.models import Series
from microdrama.db import utcnow
from microdrama.discovery import rankings
from tests.support.rankings import genre_series, midnight_after, unlocked, viewers, watched

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def _charts_for(db: Session) -> tuple[date, dict[str, Series]]:
    """Three series with a history over two days, their charts computed for the second."""
    day = utcnow().date() - DAY
    end = midnight_after(day)
    series = {
        "Climber": genre_series(db, "Climber", "romance"),
        "Faller": genre_series(db, "Faller", "revenge"),
        "Newcomer": genre_series(db, "Newcomer", "romance"),
    }
    for title, before, now in (("Climber", 2, 9), ("Faller", 6, 3), ("Newcomer", 0, 1)):
        for viewer in viewers(db, before):
            watched(db, viewer, series[title], end - DAY - 5 * HOUR)
        for viewer in viewers(db, now):
            watched(db, viewer, series[title], end - 3 * HOUR)
    unlocked(db, viewers(db, 1)[0], series["Faller"], end - 2 * HOUR, episodes=3)
    rankings.refresh(db, day=day)
    db.commit()
    return day, series


def test_a_chart_lists_its_series_best_first_with_their_change_of_rank(
    client: TestClient, db: Session
) -> None:
    day, series = _charts_for(db)

    answer = client.get("/api/rankings", params={"chart": "trending", "period": "daily"})

    assert answer.status_code == 200
    assert "public" in answer.headers["cache-control"]
    body = answer.json()
    assert (body["chart"], body["period"], body["genre"], body["day"]) == (
        "trending",
        "daily",
        "",
        day.isoformat(),
    )
    assert body["genres"] == ["revenge", "romance"]
    moves = [(e["series"]["title"], e["rank"], e["move"], e["places"]) for e in body["entries"]]
    assert moves == [("Climber", 1, "up", 1), ("Faller", 2, "down", 1), ("Newcomer", 3, "new", 0)]
    first = body["entries"][0]["series"]
    assert first["id"] == series["Climber"].id
    assert (first["genre"], first["free_episodes"], first["episode_count"]) == ("romance", 2, 6)
    assert first["poster_url"]


def test_a_genre_chart_a_limit_and_a_genre_without_a_chart(client: TestClient, db: Session) -> None:
    _charts_for(db)

    romance = client.get("/api/rankings", params={"genre": "romance", "period": "weekly"}).json()
    top_one = client.get("/api/rankings", params={"limit": 1}).json()
    unlocks = client.get("/api/rankings", params={"chart": "unlocked"}).json()
    unknown = client.get("/api/rankings", params={"genre": "no such genre"}).json()

    assert [e["series"]["title"] for e in romance["entries"]] == ["Climber", "Newcomer"]
    assert [e["rank"] for e in romance["entries"]] == [1, 2]
    assert [e["series"]["title"] for e in top_one["entries"]] == ["Climber"]
    assert [(e["series"]["title"], e["score"]) for e in unlocks["entries"]] == [("Faller", 3.0)]
    assert unknown["entries"] == [] and unknown["genre"] == "no such genre"


def test_before_any_refresh_the_answer_is_empty_and_the_page_says_so(client: TestClient) -> None:
    body = client.get("/api/rankings").json()
    page = client.get("/rankings")

    assert (body["day"], body["entries"], body["genres"]) == (None, [], [])
    assert page.status_code == 200
    assert 'data-testid="rankings-empty"' in page.text and "No rankings yet" in page.text


HOSTILE = [
    {"chart": "popular"},
    {"chart": "TRENDING "},
    {"period": "monthly"},
    {"limit": 0},
    {"limit": 101},
    {"limit": "ten"},
    {"limit": 2**64},
    {"genre": "a\x00b"},
    {"genre": "a\x1b[2Jb"},
    {"genre": "g" * 61},
]


def test_hostile_or_wrong_parameters_are_refused_with_a_clear_4xx(client: TestClient) -> None:
    for params in HOSTILE:
        answer = client.get("/api/rankings", params=params)
        assert answer.status_code == 422, params
        body = answer.json()
        assert body["error"] == "invalid_request" and body["problems"] and body["message"]
        if "limit" in params:
            continue  # the page shows one length of list
        # The page's address with the same parameters is the site's page saying what is wrong.
        page = client.get("/rankings", params=params, headers={"accept": "text/html"})
        assert page.status_code == 422, params
        assert 'data-testid="not-found"' in page.text
        assert "This page can&#39;t be shown" in page.text, params
        assert html.escape(body["message"]) in page.text, params


# -- the page -------------------------------------------------------------------------------


def test_the_page_lists_the_chart_with_places_moves_and_episodes(
    client: TestClient, db: Session
) -> None:
    _charts_for(db)

    html = client.get("/rankings").text
    chosen = client.get("/rankings?chart=binged&period=weekly&genre=romance").text
    nothing_in_genre = client.get("/rankings?genre=revenge&chart=rising").text  # Faller fell

    assert html.index("Climber") < html.index("Faller") < html.index("Newcomer")
    assert 'data-move="up"' in html and 'data-move="down"' in html and 'data-move="new"' in html
    assert "2 free" in html and "4 locked" in html
    # Tabs are links: every chart, both periods, each genre, the current one marked.
    assert 'href="/rankings?chart=binged"' in html
    assert 'href="/rankings?period=weekly"' in html
    assert 'href="/rankings?genre=romance"' in html
    assert '<a href="/rankings" aria-current="page">Trending</a>' in html
    # The links keep the chosen chart, period and genre.
    assert 'href="/rankings?chart=rising&amp;period=weekly&amp;genre=romance"' in chosen
    assert 'href="/rankings?chart=binged&amp;genre=romance"' in chosen
    assert "Faller" not in chosen.split('data-testid="ranking-list"')[1]
    assert "Nothing on this chart yet" in nothing_in_genre
