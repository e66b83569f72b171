"""GET /api/search and the /search page: what a client may send, what it gets back, and
input meant to break it answered with a 4xx or a plain empty answer, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.search import Planned, build_corpus


@pytest.fixture
def catalog(db: Session) -> None:
    build_corpus(
        db,
        [
            Planned("The Vampire Billionaire's Bride", "fantasy", "Moonlight Studio"),
            Planned("Café de Medianoche", "romance", "Estudio Sol", language="es"),
        ],
    )
    db.commit()


def test_a_typo_answers_the_series_with_its_card(client: TestClient, catalog: None) -> None:
    answer = client.get("/api/search", params={"q": "vampir bilionaire"})

    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "public, max-age=5"
    body = answer.json()
    assert body["query"] == "vampir bilionaire"
    hit = body["items"][0]
    assert hit["title"] == "The Vampire Billionaire's Bride"
    assert hit["creator"] == "Moonlight Studio"
    assert hit["first_episode_id"] is not None
    assert hit["poster_url"].startswith("/media/")
    assert hit["complete"] is True
    assert hit["relevance"] > 0.5
    assert body["suggestions"] == []
    assert body["message"] is None


def test_a_query_asked_again_is_answered_from_the_cache_until_the_catalog_changes(
    client: TestClient, catalog: None, db: Session
) -> None:
    first = client.get("/api/search", params={"q": "vampire"}).json()
    build_corpus(db, [Planned("Vampire Nights", "fantasy", "Moonlight Studio")])
    db.commit()

    again = client.get("/api/search", params={"q": "vampire"}).json()
    # What the studio does after a change viewers see (an edit, a publication, an upload).
    client.app.state.public_cache.clear()  # type: ignore[attr-defined]
    after = client.get("/api/search", params={"q": "vampire"}).json()

    assert again == first
    assert "Vampire Nights" in [hit["title"] for hit in after["items"]]


def test_filters_are_query_parameters(client: TestClient, catalog: None) -> None:
    answer = client.get("/api/search", params={"language": "es", "free": "true"}).json()
    assert [hit["title"] for hit in answer["items"]] == ["Café de Medianoche"]

    answer = client.get("/api/search", params={"q": "cafe", "genre": "fantasy"}).json()
    assert answer["items"] == []
    assert (
        answer["message"] == "No series match “cafe”. Try removing a filter, or check the spelling."
    )
    assert len(answer["suggestions"]) == 2


def test_an_empty_query_is_an_empty_answer_with_suggestions(
    client: TestClient, catalog: None
) -> None:
    for params in ({}, {"q": ""}, {"q": "   "}):
        answer = client.get("/api/search", params=params)
        assert answer.status_code == 200
        body = answer.json()
        assert body["items"] == []
        assert body["message"] == "Type a title, a creator, a genre or a tag."
        assert len(body["suggestions"]) == 2


BAD_PARAMETERS = [
    ({"q": "v" * 101}, "q"),
    ({"q": "vamp\x00ire"}, "q"),
    ({"q": "vamp\x1b[2J"}, "q"),
    ({"genre": "g" * 61}, "genre"),
    ({"language": "a-very-long-language"}, "language"),
    ({"free": "perhaps"}, "free"),
    ({"limit": "0"}, "limit"),
    ({"limit": "51"}, "limit"),
    ({"limit": "ten"}, "limit"),
]


def test_bad_parameters_are_refused_with_the_field_named(client: TestClient) -> None:
    for params, field in BAD_PARAMETERS:
        answer = client.get("/api/search", params=params)

        assert answer.status_code == 422, params
        body = answer.json()
        assert body["error"] == "invalid_request"
        assert [problem["field"] for problem in body["problems"]] == [field]
        assert body["message"]


# FTS5 query syntax, SQL, LIKE wildcards, emoji, many words, one long word: all only text.
HOSTILE_QUERIES = [
    '"',
    'vampire" OR "x',
    "vamp*",
    "NEAR(vampire bride)",
    "title:vampire",
    "'; DROP TABLE series; --",
    "100% _vamp_",
    "\\\\",
    "🧛‍♀️ 🦇",
    "a b c d e f g h i j k l m n o p",
    "x" * 100,
    " ".join(["vampire"] * 12),
]


def test_query_syntax_of_the_databases_is_only_text(client: TestClient, catalog: None) -> None:
    for query in HOSTILE_QUERIES:
        answer = client.get("/api/search", params={"q": query})

        assert answer.status_code == 200, (query, answer.text)
        assert isinstance(answer.json()["items"], list)
    found = client.get("/api/search", params={"q": '"vampire*"'}).json()["items"]
    assert [hit["title"] for hit in found] == ["The Vampire Billionaire's Bride"]


def test_the_page_shows_the_searched_answer_and_the_filters(
    client: TestClient, catalog: None
) -> None:
    page = client.get("/search", params={"q": "medianoche", "language": "es"})

    assert page.status_code == 200
    assert 'value="medianoche"' in page.text
    assert '<option value="es" data-language selected>' in page.text
    assert "Medianoche" in page.text  # in the inlined answer
    assert "/static/js/search.js" in page.text


def test_the_feed_header_links_to_search(client: TestClient) -> None:
    assert 'href="/search"' in client.get("/").text
