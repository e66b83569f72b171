"""`microdrama seed-demo`: demo series go through upload and transcode, then into the feed."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from microdrama.config import Settings
from microdrama.demo.seed import SeedResult, seed_demo
from microdrama.demo.status import SeedProgress

pytestmark = pytest.mark.slow


def seed_tiny(
    settings: Settings,
    *,
    series_count: int,
    if_empty: bool = False,
    progress: SeedProgress | None = None,
) -> SeedResult:
    """Seed with two 4-second episodes a series, at 180x320 so the test stays quick."""
    return seed_demo(
        settings=settings,
        series_count=series_count,
        episodes_per_series=2,
        seconds=4.0,
        width=180,
        height=320,
        if_empty=if_empty,
        progress=progress,
    )


def test_seeded_series_are_published_with_every_episode_ready_and_in_the_feed(
    client: TestClient, settings: Settings
) -> None:
    result = seed_tiny(settings, series_count=2)

    assert result.ok and not result.skipped
    assert [s.outcome for s in result.series] == ["published", "published"]
    feed = client.get("/api/feed").json()["items"]
    assert [card["title"] for card in feed] == [s.title for s in result.series]
    for card in feed:
        assert card["episode_count"] == 2
        assert card["total_runtime_ms"] == pytest.approx(8_000, abs=400)
        page = client.get(f"/api/series/{card['id']}").json()
        assert [e["number"] for e in page["episodes"]] == [1, 2]
        assert all(e["playlist_url"].endswith("master.m3u8") for e in page["episodes"])
        playlist = client.get(page["episodes"][0]["playlist_url"])
        assert playlist.status_code == 200
        assert "#EXT-X-STREAM-INF" in playlist.text


def test_the_demo_brand_places_its_products_in_episodes_1_and_2_once(
    client: TestClient, settings: Settings
) -> None:
    result = seed_tiny(settings, series_count=2)
    again = seed_tiny(settings, series_count=2)  # a rerun adds nothing

    assert result.placements == again.placements == 4
    assert again.clips_rendered == 0
    titles = set()
    images = set()
    for seeded in result.series:
        page = client.get(f"/api/series/{seeded.series_id}").json()
        for episode in page["episodes"]:
            [card] = client.get(f"/api/episodes/{episode['id']}/placements").json()
            assert 0 <= card["start_ms"] < card["end_ms"] <= episode["duration_ms"]
            assert len(card["product"]["variants"]) == 2
            titles.add(card["product"]["title"])
            images.add(card["product"]["image_url"])
    assert len(titles) == 4
    # Each demo product has its own drawn picture, served as a JPEG (and a rerun keeps it).
    assert len(images) == 4
    for url in images:
        picture = client.get(url)
        assert picture.status_code == 200
        assert picture.headers["content-type"] == "image/jpeg"


def test_if_empty_leaves_a_catalog_that_has_series_alone(
    client: TestClient, settings: Settings
) -> None:
    seed_tiny(settings, series_count=1)

    again = seed_tiny(settings, series_count=2, if_empty=True)

    assert again.skipped
    assert len(client.get("/api/feed").json()["items"]) == 1


class _CrashAfterFirstClip(SeedProgress):
    def rendered(self, title: str) -> None:
        raise KeyboardInterrupt("the developer pressed Ctrl-C")


def test_an_interrupted_seed_shows_nothing_and_a_rerun_completes_it(
    client: TestClient, settings: Settings
) -> None:
    with pytest.raises(KeyboardInterrupt):
        seed_tiny(settings, series_count=1, progress=_CrashAfterFirstClip())
    assert client.get("/api/feed").json()["items"] == []

    result = seed_tiny(settings, series_count=1, if_empty=True)

    assert not result.skipped and result.series[0].outcome == "published"
    assert result.clips_rendered == 1  # the first run's ingested episode was kept
    client.app.state.public_cache.clear()  # type: ignore[attr-defined]  # the empty feed above
    feed = client.get("/api/feed").json()["items"]
    assert [card["episode_count"] for card in feed] == [2]
