"""Who may see and change what: a brand only its own, a creator only their series' campaigns."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Role
from microdrama.catalog.models import Series, SeriesStatus
from microdrama.config import Settings
from microdrama.db import session_scope
from tests.support.accounts import signed_in
from tests.support.shop import creator_with_series, list_product, request_campaign


def test_another_brand_can_neither_see_nor_change_a_brands_catalog_or_campaigns(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    maison, _ = signed_in(db_factory, settings, role=Role.brand, name="Maison")
    rival, _ = signed_in(db_factory, settings, role=Role.brand, name="Rival")
    creator, series = creator_with_series(db_factory, settings)
    product = list_product(client, maison)
    campaign = request_campaign(client, maison, series.id)
    client.post(f"/api/studio/campaigns/{campaign['id']}/accept", headers=creator)
    variant_id = product["variants"][0]["id"]

    assert client.get("/api/brand/products", headers=rival).json() == []
    assert client.get("/api/brand/campaigns", headers=rival).json() == []
    assert client.get(f"/api/brand/products/{product['id']}", headers=rival).status_code == 404
    edit = client.patch(
        f"/api/brand/products/{product['id']}", json={"price_cents": 1}, headers=rival
    )
    assert (edit.status_code, edit.json()["error"]) == (404, "not_found")
    restock = client.patch(f"/api/brand/variants/{variant_id}", json={"stock": 0}, headers=rival)
    assert restock.status_code == 404
    extra = client.post(
        f"/api/brand/products/{product['id']}/variants",
        json={"name": "XL", "sku": "X"},
        headers=rival,
    )
    assert extra.status_code == 404
    placements_url = f"/api/brand/campaigns/{campaign['id']}/placements"
    assert client.get(placements_url, headers=rival).status_code == 404
    hijack = client.post(
        placements_url,
        json={
            "episode_id": series.episodes[0].id,
            "product_id": product["id"],
            "start_ms": 0,
            "end_ms": 1_000,
        },
        headers=rival,
    )
    assert hijack.status_code == 404

    mine = client.get(f"/api/brand/products/{product['id']}", headers=maison).json()
    assert (mine["price_cents"], mine["variants"][0]["stock"]) == (4_900, 5)


def test_a_brand_may_place_only_its_own_products(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    maison, _ = signed_in(db_factory, settings, role=Role.brand, name="Maison")
    rival, _ = signed_in(db_factory, settings, role=Role.brand, name="Rival")
    creator, series = creator_with_series(db_factory, settings)
    rivals_product = list_product(client, rival)
    campaign = request_campaign(client, maison, series.id)
    client.post(f"/api/studio/campaigns/{campaign['id']}/accept", headers=creator)

    placed = client.post(
        f"/api/brand/campaigns/{campaign['id']}/placements",
        json={
            "episode_id": series.episodes[0].id,
            "product_id": rivals_product["id"],
            "start_ms": 0,
            "end_ms": 1_000,
        },
        headers=maison,
    )

    assert (placed.status_code, placed.json()["field"]) == (422, "product_id")


def test_a_creator_sees_and_decides_only_their_own_series_campaigns(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    brand, _ = signed_in(db_factory, settings, role=Role.brand, name="Maison")
    _, series = creator_with_series(db_factory, settings)
    other_creator, _ = creator_with_series(db_factory, settings)
    campaign = request_campaign(client, brand, series.id)

    assert client.get("/api/studio/campaigns", headers=other_creator).json() == []
    accept = client.post(f"/api/studio/campaigns/{campaign['id']}/accept", headers=other_creator)
    assert accept.status_code == 404
    url = f"/api/studio/campaigns/{campaign['id']}/placements"
    assert client.get(url, headers=other_creator).status_code == 404
    assert client.get("/api/brand/campaigns", headers=brand).json()[0]["status"] == "requested"


def test_viewers_and_creators_cannot_manage_a_catalog_and_brands_cannot_decide(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    viewer, _ = signed_in(db_factory, settings, role=Role.viewer, name="Ana")
    brand, _ = signed_in(db_factory, settings, role=Role.brand, name="Maison")
    creator, series = creator_with_series(db_factory, settings)
    body = {"title": "Mug", "price_cents": 900, "sku": "MUG"}

    for headers in (viewer, creator):
        refused = client.post("/api/brand/products", json=body, headers=headers)
        assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")
        assert client.get("/api/brand/campaigns", headers=headers).status_code == 403
    guest = TestClient(client.app).post("/api/brand/products", json=body)
    assert (guest.status_code, guest.json()["error"]) == (401, "sign_in_required")

    campaign = request_campaign(client, brand, series.id)
    own_accept = client.post(f"/api/studio/campaigns/{campaign['id']}/accept", headers=brand)
    assert own_accept.status_code == 403
    assert client.get("/api/studio/campaigns", headers=viewer).status_code == 403


def test_an_admin_passes_every_brand_and_studio_check(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    admin, _ = signed_in(db_factory, settings, role=Role.admin, name="Ops")
    brand, _ = signed_in(db_factory, settings, role=Role.brand, name="Maison")
    _, series = creator_with_series(db_factory, settings)
    product = list_product(client, brand)
    campaign = request_campaign(client, brand, series.id)

    assert client.get(f"/api/brand/products/{product['id']}", headers=admin).status_code == 200
    accepted = client.post(f"/api/studio/campaigns/{campaign['id']}/accept", headers=admin)
    assert accepted.json()["status"] == "accepted"


def test_placements_of_an_unpublished_series_stay_hidden_from_viewers(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    brand, _ = signed_in(db_factory, settings, role=Role.brand, name="Maison")
    creator, series = creator_with_series(db_factory, settings)
    product = list_product(client, brand)
    campaign = request_campaign(client, brand, series.id)
    client.post(f"/api/studio/campaigns/{campaign['id']}/accept", headers=creator)
    client.post(
        f"/api/studio/campaigns/{campaign['id']}/placements",
        json={
            "episode_id": series.episodes[0].id,
            "product_id": product["id"],
            "start_ms": 0,
            "end_ms": 1_000,
        },
        headers=creator,
    )
    with session_scope(db_factory) as db:
        stored = db.get(Series, series.id)
        assert stored is not None
        stored.status = SeriesStatus.draft

    url = f"/api/episodes/{series.episodes[0].id}/placements"
    assert TestClient(client.app).get(url).status_code == 404
    assert len(client.get(url, headers=creator).json()) == 1
    assert client.get("/api/episodes/999999/placements").status_code == 404
