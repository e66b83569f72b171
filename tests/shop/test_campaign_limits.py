"""A campaign's placements show only while it runs (from `starts_at` until `ends_at`) and while
the commissions its orders earned stay below its budget; a refund gives the budget back."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.config import Settings
from microdrama.shop.campaigns import service as campaigns
from microdrama.shop.models import Campaign
from microdrama.shop.placements import service as placements
from tests.support.orders import buy
from tests.support.shop import placed_campaign


def _shown(factory: sessionmaker[Session], episode: int, at: datetime | None = None) -> list[int]:
    with factory() as db:
        shown = placements.episode_placements(db=db, episode_id=episode, viewer=None, now=at)
        return [p.id for p in shown]


def _delivery(client: TestClient, shop: dict[str, Any]) -> tuple[str, int]:
    """The campaign as its brand's list shows it: (delivery, spent cents)."""
    campaigns = client.get("/api/brand/campaigns", headers=shop["brand"]).json()
    mine = next(c for c in campaigns if c["id"] == shop["campaign"]["id"])
    return mine["delivery"], mine["spent_cents"]


def test_placements_show_from_the_campaigns_start_until_its_end(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    shop = placed_campaign(client, db_factory, settings, brand_name="Maison")
    episode_id, placement_id = shop["series"].episodes[0].id, shop["placements"][0]["id"]
    with db_factory() as db:
        campaign = db.get(Campaign, shop["campaign"]["id"])
        assert campaign is not None
        starts, ends = campaign.starts_at, campaign.ends_at
    second = timedelta(seconds=1)

    assert _shown(db_factory, episode_id, starts - second) == []  # not started yet
    assert _shown(db_factory, episode_id, starts) == [placement_id]
    assert _shown(db_factory, episode_id, ends - second) == [placement_id]
    assert _shown(db_factory, episode_id, ends) == []  # over
    with db_factory() as db:
        campaign = db.get(Campaign, shop["campaign"]["id"])
        assert campaign is not None
        stages = [campaigns.delivery(campaign, 0, at) for at in (starts - second, starts, ends)]
    assert stages == ["scheduled", "live", "ended"]
    assert [p["id"] for p in client.get(f"/api/episodes/{episode_id}/placements").json()] == [
        placement_id
    ]


def test_a_spent_budget_hides_the_placements_and_a_refund_brings_them_back(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    # One $49.00 hoodie earns the creator 12 %: $5.88, the whole budget.
    shop = placed_campaign(client, db_factory, settings, brand_name="Maison", budget_cents=588)
    episode_id, placement_id = shop["series"].episodes[0].id, shop["placements"][0]["id"]
    variant_id = shop["product"]["variants"][0]["id"]
    viewer = TestClient(client.app)
    viewer.post("/api/cart/items", json={"variant_id": variant_id, "placement_id": placement_id})
    assert _shown(db_factory, episode_id) == [placement_id]

    order = buy(viewer)

    assert order["status"] == "paid"
    assert _shown(db_factory, episode_id) == []
    assert _delivery(client, shop) == ("budget_spent", 588)
    refund = client.post(
        f"/api/brand/orders/{order['id']}/refund",
        headers={**shop["brand"], "Idempotency-Key": uuid.uuid4().hex},
    )
    assert refund.status_code == 200, refund.text
    assert _shown(db_factory, episode_id) == [placement_id]
    assert _delivery(client, shop) == ("live", 0)
