"""Players report impressions and clicks of placements; brands read the funnel of their own."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Role
from microdrama.config import Settings
from microdrama.shop.models import PlacementEvent
from tests.support.accounts import Headers, signed_in
from tests.support.shop import placed_campaign


def _placed(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> tuple[Headers, dict[str, Any], list[dict[str, Any]]]:
    """A brand with an accepted campaign and two placements (episodes 1 and 2)."""
    shop = placed_campaign(client, db_factory, settings, brand_name="Maison")
    return shop["brand"], shop["campaign"], shop["placements"]


def _event(client: TestClient, placement_id: int, kind: str, event_id: str) -> int:
    response = client.post(
        f"/api/placements/{placement_id}/events", json={"kind": kind, "event_id": event_id}
    )
    return response.status_code


def test_a_resent_event_counts_once_and_the_funnel_adds_up(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    brand, campaign, [first, second] = _placed(client, db_factory, settings)
    viewer_a = TestClient(client.app)  # guests: one device each
    viewer_b = TestClient(client.app)

    assert _event(viewer_a, first["id"], "impression", "imp-1") == 204
    assert _event(viewer_a, first["id"], "impression", "imp-1") == 204  # resent
    assert _event(viewer_a, first["id"], "click", "clk-1") == 204
    assert _event(viewer_a, first["id"], "impression", "imp-2") == 204  # watched again
    assert _event(viewer_b, first["id"], "impression", "imp-1") == 204  # same id, other viewer
    assert _event(viewer_b, second["id"], "impression", "imp-9") == 204
    assert _event(viewer_a, second["id"], "impression", "imp-3") == 204

    with db_factory() as db:
        rows = db.scalar(select(func.count()).select_from(PlacementEvent))
    assert rows == 6

    funnel = client.get(f"/api/brand/placements/{first['id']}/funnel", headers=brand)
    assert funnel.status_code == 200, funnel.text
    assert funnel.json() == {
        "placement_id": first["id"],
        "episode_id": first["episode_id"],
        "product_id": first["product_id"],
        "impressions": 3,
        "unique_viewers": 2,
        "clicks": 1,
        "click_through_permille": 333,
        "orders": 0,
        "revenue_cents": 0,
    }

    total = client.get(f"/api/brand/campaigns/{campaign['id']}/funnel", headers=brand).json()
    assert total["campaign_id"] == campaign["id"]
    assert (total["impressions"], total["unique_viewers"], total["clicks"]) == (5, 2, 1)
    assert total["click_through_permille"] == 200
    assert (total["orders"], total["revenue_cents"]) == (0, 0)
    assert [(p["placement_id"], p["impressions"]) for p in total["placements"]] == [
        (first["id"], 3),
        (second["id"], 2),
    ]


def test_a_placement_without_events_has_an_empty_funnel(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    brand, _, [first, _] = _placed(client, db_factory, settings)

    funnel = client.get(f"/api/brand/placements/{first['id']}/funnel", headers=brand).json()

    assert (funnel["impressions"], funnel["clicks"], funnel["click_through_permille"]) == (0, 0, 0)


def test_events_for_unknown_placements_and_kinds_are_refused(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    _, _, [first, _] = _placed(client, db_factory, settings)
    viewer = TestClient(client.app)

    assert _event(viewer, 999_999, "impression", "imp-1") == 404
    assert _event(viewer, first["id"], "purchase", "evt-1") == 422
    assert _event(viewer, first["id"], "click", "") == 422
    missing = viewer.post(f"/api/placements/{first['id']}/events", json={"kind": "click"})
    assert missing.status_code == 422


def test_only_the_owning_brand_sees_the_funnel(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    _, campaign, [first, _] = _placed(client, db_factory, settings)
    rival, _ = signed_in(db_factory, settings, role=Role.brand, name="Rival")
    creator, _ = signed_in(db_factory, settings, role=Role.creator, name="Other studio")

    placement_url = f"/api/brand/placements/{first['id']}/funnel"
    campaign_url = f"/api/brand/campaigns/{campaign['id']}/funnel"
    assert client.get(placement_url, headers=rival).status_code == 404
    assert client.get(campaign_url, headers=rival).status_code == 404
    assert client.get(placement_url, headers=creator).status_code == 403
    assert TestClient(client.app).get(campaign_url).status_code == 401
    assert client.get("/api/brand/placements/999999/funnel", headers=rival).status_code == 404
