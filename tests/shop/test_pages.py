"""The brand's and the creator's shop pages as first served: who may open which, and what the
editor page inlines for its script."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Role
from microdrama.config import Settings
from tests.support.accounts import signed_in
from tests.support.shop import placed_campaign

BRAND_PAGES = ["/brand", "/brand/products", "/brand/campaigns", "/brand/orders"]
STUDIO_PAGES = ["/studio/campaigns", "/studio/earnings"]


def _page_data(html: str) -> dict[str, object]:
    match = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html)
    assert match, "the page inlines its data"
    return dict(json.loads(match.group(1)))


def test_a_guest_is_sent_to_sign_in_and_comes_back(client: TestClient) -> None:
    for path in [*BRAND_PAGES, *STUDIO_PAGES, "/brand/campaigns/1/editor"]:
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == f"/signin?next={path}"


def test_a_viewer_is_refused_and_each_role_opens_only_its_pages(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    viewer, _ = signed_in(db_factory, settings, role=Role.viewer, name="Viewer")
    brand, _ = signed_in(db_factory, settings, role=Role.brand, name="Maison")
    creator, _ = signed_in(db_factory, settings, role=Role.creator, name="Nova")

    for path in BRAND_PAGES:
        assert client.get(path, headers=viewer).status_code == 403, path
        assert client.get(path, headers=creator).status_code == 403, path
        page = client.get(path, headers=brand)
        assert page.status_code == 200, path
        assert 'href="/brand/products"' in page.text  # the brand's navigation
        assert 'href="/studio/earnings"' not in page.text
    for path in STUDIO_PAGES:
        assert client.get(path, headers=viewer).status_code == 403, path
        assert client.get(path, headers=brand).status_code == 403, path
        page = client.get(path, headers=creator)
        assert page.status_code == 200, path
        assert 'href="/studio/earnings"' in page.text


def test_the_editor_inlines_the_episodes_and_the_brands_products_for_both_sides_only(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    shop = placed_campaign(client, db_factory, settings, brand_name="Maison")
    rival, _ = signed_in(db_factory, settings, role=Role.brand, name="Rival")
    other_creator, _ = signed_in(db_factory, settings, role=Role.creator, name="Other")
    campaign_id = shop["campaign"]["id"]

    for path, headers in [
        (f"/brand/campaigns/{campaign_id}/editor", shop["brand"]),
        (f"/studio/campaigns/{campaign_id}/editor", shop["creator"]),
    ]:
        page = client.get(path, headers=headers)
        assert page.status_code == 200, path
        data = _page_data(page.text)
        assert data["party"] == ("brand" if path.startswith("/brand") else "studio")
        episodes = data["episodes"]
        assert isinstance(episodes, list)
        assert [e["id"] for e in episodes] == [e.id for e in shop["series"].episodes]
        assert all(e["duration_ms"] == 60_000 for e in episodes)
        assert [p["title"] for p in data["products"]] == ["Contract Bride hoodie"]  # type: ignore[attr-defined]

    rivals = client.get(f"/brand/campaigns/{campaign_id}/editor", headers=rival)
    assert rivals.status_code == 404
    assert "Contract Bride hoodie" not in rivals.text
    others = client.get(f"/studio/campaigns/{campaign_id}/editor", headers=other_creator)
    assert others.status_code == 404


def test_the_feed_header_links_brands_and_creators_to_their_pages(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    brand, _ = signed_in(db_factory, settings, role=Role.brand, name="Maison")
    creator, _ = signed_in(db_factory, settings, role=Role.creator, name="Nova")

    assert 'data-testid="brand-link"' in client.get("/", headers=brand).text
    assert 'data-testid="studio-link"' not in client.get("/", headers=brand).text
    assert 'data-testid="studio-link"' in client.get("/", headers=creator).text
    guest = client.get("/").text
    assert 'data-testid="brand-link"' not in guest and 'data-testid="studio-link"' not in guest
