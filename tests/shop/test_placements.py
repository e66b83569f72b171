"""Brands list products, request campaigns, creators accept them, and viewers see placements."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Role
from microdrama.config import Settings
from tests.support.accounts import Headers, signed_in
from tests.support.shop import creator_with_series, list_product, request_campaign


def _placement(episode_id: int, product_id: int, **overrides: Any) -> dict[str, Any]:
    return {
        "episode_id": episode_id,
        "product_id": product_id,
        "start_ms": 42_000,
        "end_ms": 50_000,
        "x_permille": 300,
        "y_permille": 700,
        **overrides,
    }


def _brand(factory: sessionmaker[Session], settings: Settings, name: str = "Maison") -> Headers:
    return signed_in(factory, settings, role=Role.brand, name=name)[0]


def test_a_placed_product_appears_in_the_episode_for_viewers(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    brand = _brand(db_factory, settings)
    creator, series = creator_with_series(db_factory, settings)
    episode_id = series.episodes[1].id

    product = list_product(client, brand)
    assert [v["name"] for v in product["variants"]] == ["M / Red", "L / Red"]
    campaign = request_campaign(client, brand, series.id)
    assert campaign["status"] == "requested"

    incoming = client.get("/api/studio/campaigns", headers=creator).json()
    assert [c["id"] for c in incoming] == [campaign["id"]]
    accepted = client.post(f"/api/studio/campaigns/{campaign['id']}/accept", headers=creator)
    assert accepted.json()["status"] == "accepted"

    placed = client.post(
        f"/api/brand/campaigns/{campaign['id']}/placements",
        json=_placement(episode_id, product["id"]),
        headers=brand,
    )
    assert placed.status_code == 201, placed.text

    shown = TestClient(client.app).get(f"/api/episodes/{episode_id}/placements")
    assert shown.status_code == 200, shown.text
    [card] = shown.json()
    assert (card["start_ms"], card["end_ms"]) == (42_000, 50_000)
    assert (card["x_permille"], card["y_permille"]) == (300, 700)
    assert card["product"]["title"] == "Contract Bride hoodie"
    assert card["product"]["price_cents"] == 4_900
    assert card["product"]["image_url"] == "https://cdn.example.com/hoodie.jpg"
    assert [(v["name"], v["price_cents"], v["in_stock"]) for v in card["product"]["variants"]] == [
        ("M / Red", 4_900, True),
        ("L / Red", 5_400, False),
    ]
    other_episode = client.get(f"/api/episodes/{series.episodes[0].id}/placements")
    assert other_episode.json() == []


def test_the_creator_can_place_the_brands_product_too(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    brand = _brand(db_factory, settings)
    creator, series = creator_with_series(db_factory, settings)
    product = list_product(client, brand)
    campaign = request_campaign(client, brand, series.id)
    client.post(f"/api/studio/campaigns/{campaign['id']}/accept", headers=creator)

    placed = client.post(
        f"/api/studio/campaigns/{campaign['id']}/placements",
        json=_placement(series.episodes[0].id, product["id"], start_ms=0, end_ms=5_000),
        headers=creator,
    )

    assert placed.status_code == 201, placed.text
    listed = client.get(f"/api/brand/campaigns/{campaign['id']}/placements", headers=brand)
    assert [p["id"] for p in listed.json()] == [placed.json()["id"]]


def test_a_declined_or_pending_campaign_cannot_get_placements(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    brand = _brand(db_factory, settings)
    creator, series = creator_with_series(db_factory, settings)
    product = list_product(client, brand)
    campaign = request_campaign(client, brand, series.id)
    url = f"/api/brand/campaigns/{campaign['id']}/placements"
    body = _placement(series.episodes[0].id, product["id"])

    pending = client.post(url, json=body, headers=brand)
    assert (pending.status_code, pending.json()["error"]) == (409, "campaign_not_accepted")

    declined = client.post(f"/api/studio/campaigns/{campaign['id']}/decline", headers=creator)
    assert declined.json()["status"] == "declined"
    refused = client.post(url, json=body, headers=brand)
    assert (refused.status_code, refused.json()["error"]) == (409, "campaign_not_accepted")
    again = client.post(f"/api/studio/campaigns/{campaign['id']}/accept", headers=creator)
    assert (again.status_code, again.json()["error"]) == (409, "campaign_already_decided")


def test_invalid_times_and_positions_are_clear_422s(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    brand = _brand(db_factory, settings)
    creator, series = creator_with_series(db_factory, settings, duration_ms=60_000)
    product = list_product(client, brand)
    campaign = request_campaign(client, brand, series.id)
    client.post(f"/api/studio/campaigns/{campaign['id']}/accept", headers=creator)
    url = f"/api/brand/campaigns/{campaign['id']}/placements"
    episode_id = series.episodes[0].id

    def problem(**overrides: Any) -> tuple[int, str, str]:
        body = {**_placement(episode_id, product["id"]), **overrides}
        response = client.post(url, json=body, headers=brand)
        answer = response.json()
        field = answer.get("field") or answer["problems"][0]["field"]
        return response.status_code, answer["error"], field

    assert problem(start_ms=50_000, end_ms=42_000) == (422, "invalid_request", "end_ms")
    assert problem(end_ms=61_000) == (422, "invalid_placement", "end_ms")
    assert problem(x_permille=1001) == (422, "invalid_request", "x_permille")
    assert problem(start_ms=-1) == (422, "invalid_request", "start_ms")

    _, other_series = creator_with_series(db_factory, settings)
    foreign_episode = other_series.episodes[0].id
    assert problem(episode_id=foreign_episode) == (422, "invalid_placement", "episode_id")


def test_invalid_products_and_campaigns_name_the_field(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    brand = _brand(db_factory, settings)
    _, series = creator_with_series(db_factory, settings)

    negative = client.post(
        "/api/brand/products",
        json={"title": "Mug", "price_cents": -1, "sku": "MUG"},
        headers=brand,
    )
    assert negative.status_code == 422
    assert negative.json()["problems"][0]["field"] == "price_cents"
    no_stock = client.post(
        "/api/brand/products",
        json={
            "title": "Mug",
            "price_cents": 900,
            "sku": "MUG",
            "variants": [{"name": "Blue", "sku": "MUG-B", "stock": -2}],
        },
        headers=brand,
    )
    assert no_stock.status_code == 422
    assert no_stock.json()["problems"][0]["field"] == "variants.0.stock"

    list_product(client, brand)
    duplicate = client.post(
        "/api/brand/products", json={"title": "x", "price_cents": 1, "sku": "HOODIE-1"},
        headers=brand,
    )  # fmt: skip
    assert (duplicate.status_code, duplicate.json()["error"]) == (409, "duplicate_sku")

    campaign = {
        "series_id": series.id,
        "budget_cents": 100,
        "starts_at": "2026-12-01T00:00:00Z",
        "ends_at": "2026-12-31T00:00:00Z",
        "commission_percent": 10,
    }
    backwards = {"starts_at": "2026-12-31T00:00:00Z", "ends_at": "2026-12-01T00:00:00Z"}
    for change, field in [(backwards, "ends_at"), ({"budget_cents": 0}, "budget_cents")]:
        refused = client.post("/api/brand/campaigns", json={**campaign, **change}, headers=brand)
        assert refused.status_code == 422
        assert refused.json()["problems"][0]["field"] == field
