"""The web app's pages, as a browser first receives them (no JavaScript run here)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from microdrama.accounts.deps import DEVICE_COOKIE
from microdrama.app import create_app
from microdrama.config import Settings
from tests.support.factories import make_series


def test_feed_page_renders_one_card_per_series_with_runtime_and_sets_the_device_cookie(
    client: TestClient, db: Session
) -> None:
    make_series(db, title="Contract Bride", episodes=10, duration_ms=36_000)
    db.commit()

    response = client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert DEVICE_COOKIE in response.cookies
    html = response.text
    assert html.count('data-testid="feed-card"') == 1
    assert "Contract Bride" in html
    assert "10 episodes · 6 min" in html
    assert "Watch from episode 1" in html
    assert 'type="module"' in html  # no blocking scripts before the first paint


def test_page_keeps_an_existing_device_cookie(client: TestClient, db: Session) -> None:
    make_series(db)
    db.commit()
    client.cookies.set(DEVICE_COOKIE, "my-device-token")

    response = client.get("/")

    assert DEVICE_COOKIE not in response.cookies


def test_first_parallel_api_calls_after_the_page_share_one_guest(
    client: TestClient, db: Session
) -> None:
    series = make_series(db, episodes=2)
    db.commit()
    client.get("/")  # the page sets the cookie; the API calls below send it back
    first = client.get(f"/api/series/{series.id}").json()["episodes"][0]["id"]

    client.post(f"/api/episodes/{first}/progress", json={"position_ms": 5000})
    resumed = client.get("/api/me/continue-watching").json()["items"]

    assert [i["episode_id"] for i in resumed] == [first]


def test_empty_feed_says_so_instead_of_a_blank_screen(client: TestClient) -> None:
    html = client.get("/").text

    assert 'data-testid="feed-empty"' in html
    assert "No series yet" in html


def test_feed_page_shows_continue_watching_for_a_returning_viewer(
    client: TestClient, db: Session
) -> None:
    series = make_series(db, title="Contract Bride", episodes=3)
    db.commit()
    client.get("/")
    second = client.get(f"/api/series/{series.id}").json()["episodes"][1]["id"]
    client.post(f"/api/episodes/{second}/progress", json={"position_ms": 12_500})

    html = client.get("/").text

    assert 'data-testid="continue-watching"' in html
    assert f'href="/watch/{second}?t=12.5"' in html
    fragment = client.get("/fragments/continue-watching").text
    assert f'href="/watch/{second}?t=12.5"' in fragment


def test_more_feed_cards_come_as_an_html_fragment(client: TestClient, db: Session) -> None:
    for n in range(12):
        make_series(db, title=f"Series {n}")
    db.commit()

    first_page = client.get("/").text
    rest = client.get("/fragments/feed?offset=10").text

    assert first_page.count('data-testid="feed-card"') == 10
    assert rest.count('data-testid="feed-card"') == 2
    assert 'data-index="10"' in rest


def test_series_page_shows_grid_with_durations_free_and_locked_badges_and_watched_state(
    client: TestClient, db: Session
) -> None:
    series = make_series(db, episodes=4, free_episodes=2, duration_ms=65_000)
    db.commit()
    client.get("/")
    episodes = client.get(f"/api/series/{series.id}").json()["episodes"]
    client.post(f"/api/episodes/{episodes[0]['id']}/progress", json={"position_ms": 65_000})

    response = client.get(f"/series/{series.id}")

    assert response.status_code == 200
    html = response.text
    assert "4 episodes · 4 min" in html
    tiles = re.findall(r'data-testid="episode-tile"[^>]*data-state="(\w+)"', html)
    assert tiles == ["watched", "new", "new", "new"]
    assert html.count('class="badge free"') == 2
    assert html.count('class="badge locked"') == 2
    assert "1:05" in html
    assert "Play episode 2" in html  # the main button picks up after the watched episode


def test_unknown_or_draft_series_page_is_a_404_page(client: TestClient, db: Session) -> None:
    draft = make_series(db, published=False)
    db.commit()

    for url in ("/series/999999", f"/series/{draft.id}", "/watch/999999"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.headers["content-type"].startswith("text/html")
        assert 'data-testid="not-found"' in response.text


def test_watch_page_inlines_the_series_and_resumes_at_the_saved_second(
    client: TestClient, db: Session
) -> None:
    series = make_series(db, episodes=3, duration_ms=60_000)
    db.commit()
    client.get("/")
    episodes = client.get(f"/api/series/{series.id}").json()["episodes"]
    client.post(f"/api/episodes/{episodes[1]['id']}/progress", json={"position_ms": 21_000})

    html = client.get(f"/watch/{episodes[1]['id']}").text
    explicit = client.get(f"/watch/{episodes[1]['id']}?t=7").text

    assert 'id="player-data"' in html
    assert '"start_seconds":21.0' in html
    assert '"start_seconds":7.0' in explicit
    assert "Episode 2 / 3" in html
    assert html.count('data-episode-id="') == 3  # the episode drawer


def test_inline_json_cannot_close_its_script_tag(client: TestClient, db: Session) -> None:
    series = make_series(db, title="</script><script>alert(1)</script>")
    db.commit()
    episode = client.get(f"/api/series/{series.id}").json()["episodes"][0]["id"]

    html = client.get(f"/watch/{episode}").text

    assert "<script>alert(1)" not in html


def test_static_files_are_cached_and_compressed(client: TestClient) -> None:
    html = client.get("/").text
    css_url = re.search(r'href="(/static/app\.css\?v=\w+)"', html)
    assert css_url is not None

    response = client.get(css_url.group(1), headers={"Accept-Encoding": "gzip"})

    assert response.status_code == 200
    assert "immutable" in response.headers["cache-control"]
    assert response.headers.get("content-encoding") == "gzip"


def test_viewers_pages_carry_no_test_hooks_unless_the_setting_enables_them(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    """<body data-test-hooks> is what lets the scripts publish window.__player and its kin
    (tests/browser/test_viewer_journeys.py checks the scripts); off unless configured."""
    assert Settings(_env_file=None).expose_test_hooks is False  # type: ignore[call-arg]
    body = re.compile(r"<body[^>]*>")
    assert "data-test-hooks" in body.findall(client.get("/").text)[0]  # the test settings

    default = create_app(settings.model_copy(update={"expose_test_hooks": False}))
    with TestClient(default) as viewer:
        tag = body.findall(viewer.get("/").text)[0]
    assert "data-test-hooks" not in tag
    assert "data-hls-url=" in tag
