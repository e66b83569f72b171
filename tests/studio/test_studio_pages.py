"""The studio as a creator finds it: the feed's Studio link opens the studio home, every studio
page carries the same header with the same nav, and the home leads to the money pages."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.config import Settings
from tests.support.shop import placed_campaign

STUDIO_NAV = [
    "/studio",
    "/studio/writers-room",
    "/studio/campaigns",
    "/studio/earnings",
    "/studio/statements",
]
# Headers the studio pages used to have, each its own: none may remain on a studio page.
OTHER_HEADERS = ['class="studio-top"', 'class="bo-top"', 'class="desk-top"']


def _studio_pages(shop: dict[str, object]) -> list[str]:
    series = shop["series"]
    campaign = shop["campaign"]
    episode_id = series.episodes[0].id  # type: ignore[attr-defined]
    series_id = series.id  # type: ignore[attr-defined]
    return [
        "/studio",
        f"/studio/series/{series_id}",
        "/studio/series/new",
        "/studio/writers-room",
        f"/studio/series/{series_id}/analytics",
        f"/studio/episodes/{episode_id}/subtitles",
        "/studio/campaigns",
        f"/studio/campaigns/{campaign['id']}/editor",  # type: ignore[index]
        "/studio/earnings",
        "/studio/statements",
    ]


def test_the_feeds_studio_link_opens_the_studio_home(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    shop = placed_campaign(client, db_factory, settings, brand_name="Maison")

    feed = client.get("/", headers=shop["creator"])

    links = re.findall(r'<a [^>]*data-testid="studio-link"[^>]*>', feed.text)
    assert links, "a creator sees a Studio link in the feed"
    assert all('href="/studio"' in link for link in links)


def test_every_studio_page_has_the_one_studio_header_with_the_same_nav(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    shop = placed_campaign(client, db_factory, settings, brand_name="Maison")
    headers = shop["creator"]

    for path in _studio_pages(shop):
        page = client.get(path, headers=headers)
        assert page.status_code == 200, path
        html = page.text
        assert html.count('data-testid="studio-header"') == 1, path
        header = html[html.index('data-testid="studio-header"') : html.index("</header>")]
        nav = re.findall(r'<nav class="bo-nav".*?</nav>', header, re.S)
        assert nav, path
        assert re.findall(r'href="([^"]+)"', nav[0]) == STUDIO_NAV, path
        for other in OTHER_HEADERS:
            assert other not in html, (path, other)


def test_the_header_marks_the_section_the_creator_is_in(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    shop = placed_campaign(client, db_factory, settings, brand_name="Maison")

    earnings = client.get("/studio/earnings", headers=shop["creator"]).text
    current = re.findall(r'<a href="([^"]+)"[^>]*aria-current="page"', earnings)
    assert current == ["/studio/earnings"]


def test_studio_home_leads_to_each_series_analytics_statements_and_earnings(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    shop = placed_campaign(client, db_factory, settings, brand_name="Maison")
    series_id = shop["series"].id

    home = client.get("/studio", headers=shop["creator"]).text
    main = home[home.index("<main") :]  # beyond the header's nav: the home's own links

    assert f'href="/studio/series/{series_id}/analytics"' in main
    assert 'href="/studio/statements"' in main
    assert 'href="/studio/earnings"' in main
