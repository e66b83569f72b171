"""Shop builders: a creator with a published series, a product, an accepted campaign."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts import service as accounts
from microdrama.accounts.models import Role
from microdrama.catalog.models import Series
from microdrama.config import Settings
from microdrama.db import session_scope, utcnow
from tests.support.accounts import Headers, signed_in
from tests.support.factories import make_series


def creator_with_series(
    factory: sessionmaker[Session], settings: Settings, *, duration_ms: int = 60_000
) -> tuple[Headers, Series]:
    """A signed-in creator owning a published series of three ready episodes."""
    headers, creator_id = signed_in(factory, settings, role=Role.creator, name="Studio Nova")
    with session_scope(factory) as db:
        owner = accounts.get(db=db, account_id=creator_id)
        series = make_series(db, owner=owner, duration_ms=duration_ms)
        series.episodes  # noqa: B018  (loaded before the session closes)
    return headers, series


def list_product(client: TestClient, brand: Headers, **overrides: Any) -> dict[str, Any]:
    """A hoodie with two variants in the brand's catalog; returns the 201 answer."""
    body: dict[str, Any] = {
        "title": "Contract Bride hoodie",
        "description": "The one she wears in episode 2.",
        "image_urls": ["https://cdn.example.com/hoodie.jpg"],
        "price_cents": 4_900,
        "currency": "USD",
        "sku": "HOODIE-1",
        "variants": [
            {"name": "M / Red", "sku": "HOODIE-1-M-RED", "stock": 5},
            {"name": "L / Red", "sku": "HOODIE-1-L-RED", "stock": 0, "price_cents": 5_400},
        ],
        **overrides,
    }
    response = client.post("/api/brand/products", json=body, headers=brand)
    assert response.status_code == 201, response.text
    return dict(response.json())


def request_campaign(
    client: TestClient, brand: Headers, series_id: int, **fields: Any
) -> dict[str, Any]:
    """A campaign asking the series' creator for placements, running from yesterday for 30
    days unless `fields` say otherwise; returns the 201 answer."""
    now = utcnow()
    response = client.post(
        "/api/brand/campaigns",
        json={
            "series_id": series_id,
            "title": "Autumn drop",
            "budget_cents": 500_000,
            "starts_at": (now - timedelta(days=1)).isoformat(),
            "ends_at": (now + timedelta(days=30)).isoformat(),
            "commission_percent": 12,
            **fields,
        },
        headers=brand,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def placed_campaign(
    client: TestClient,
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    brand_name: str,
    **campaign_fields: Any,
) -> dict[str, Any]:
    """A brand's accepted campaign (`campaign_fields` as in request_campaign) on a creator's
    series, with the hoodie placed in episodes 1 and 2 (0:05 to 0:12): {brand, brand_id,
    creator, creator_id, series, product, campaign, placements}."""
    brand, brand_id = signed_in(factory, settings, role=Role.brand, name=brand_name)
    creator, series = creator_with_series(factory, settings)
    product = list_product(client, brand)
    campaign = request_campaign(client, brand, series.id, **campaign_fields)
    client.post(f"/api/studio/campaigns/{campaign['id']}/accept", headers=creator)
    placements = []
    for episode in series.episodes[:2]:
        response = client.post(
            f"/api/brand/campaigns/{campaign['id']}/placements",
            json={
                "episode_id": episode.id,
                "product_id": product["id"],
                "start_ms": 5_000,
                "end_ms": 12_000,
            },
            headers=brand,
        )
        assert response.status_code == 201, response.text
        placements.append(response.json())
    return {
        "brand": brand,
        "brand_id": brand_id,
        "creator": creator,
        "creator_id": series.owner_id,
        "series": series,
        "product": product,
        "campaign": campaign,
        "placements": placements,
    }
