"""Brands read their funnels (JSON, CSV, per day); creators read their commissions; nobody
reads anyone else's."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Role
from microdrama.config import Settings
from microdrama.db import utcnow
from tests.support.accounts import signed_in
from tests.support.shop import placed_campaign


def _event(viewer: TestClient, placement_id: int, kind: str, event_id: str) -> None:
    answer = viewer.post(
        f"/api/placements/{placement_id}/events", json={"kind": kind, "event_id": event_id}
    )
    assert answer.status_code == 204, answer.text


def test_the_funnel_by_placement_campaign_and_series_counts_what_viewers_did(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    shop = placed_campaign(client, db_factory, settings, brand_name="Maison")
    first, second = shop["placements"]
    viewer_a, viewer_b = TestClient(client.app), TestClient(client.app)
    _event(viewer_a, first["id"], "impression", "i1")
    _event(viewer_a, first["id"], "click", "c1")
    _event(viewer_b, first["id"], "impression", "i1")
    _event(viewer_a, second["id"], "impression", "i2")

    by_placement = client.get("/api/brand/funnels", headers=shop["brand"]).json()
    assert by_placement["group_by"] == "placement"
    assert by_placement["until"] == utcnow().date().isoformat()
    rows = {row["key"]: row for row in by_placement["rows"]}
    row = rows[f"placement:{first['id']}"]
    assert row["label"] == f"{row['series_title']} · Ep 1 · Contract Bride hoodie · 0:05\u20130:12"
    assert row["series_title"]  # two series' placements must not look alike
    assert (row["impressions"], row["unique_viewers"], row["clicks"]) == (2, 2, 1)
    assert (row["add_to_carts"], row["orders"], row["revenue_cents"]) == (0, 0, 0)
    assert (row["click_through_permille"], row["roas_permille"]) == (500, None)
    assert row["episode_number"] == 1 and row["campaign_id"] == shop["campaign"]["id"]
    assert by_placement["totals"]["impressions"] == 3
    assert by_placement["totals"]["unique_viewers"] == 2  # viewer A saw both: once

    by_campaign = client.get("/api/brand/funnels?group_by=campaign", headers=shop["brand"]).json()
    [campaign_row] = by_campaign["rows"]
    assert campaign_row["key"] == f"campaign:{shop['campaign']['id']}"
    assert (campaign_row["impressions"], campaign_row["unique_viewers"]) == (3, 2)
    assert campaign_row["placement_id"] is None

    by_series = client.get("/api/brand/funnels?group_by=series", headers=shop["brand"]).json()
    assert [r["key"] for r in by_series["rows"]] == [f"series:{shop['series'].id}"]


def test_the_csv_export_has_a_header_and_one_line_per_row(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    shop = placed_campaign(client, db_factory, settings, brand_name="Maison")

    answer = client.get(
        "/api/brand/funnels.csv?group_by=placement&since=2026-11-01&until=2026-11-30",
        headers=shop["brand"],
    )

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert (
        'filename="funnels-placement-2026-11-01-2026-11-30.csv"'
        in (answer.headers["content-disposition"])
    )
    table = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(table) == 2
    assert table[0]["impressions"] == "0" and table[0]["roas_permille"] == ""


def test_the_daily_funnel_lists_every_day_of_the_range(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    shop = placed_campaign(client, db_factory, settings, brand_name="Maison")
    viewer = TestClient(client.app)
    _event(viewer, shop["placements"][0]["id"], "impression", "i1")
    today = utcnow().date()

    days = client.get("/api/brand/funnels/daily", headers=shop["brand"]).json()["days"]

    assert len(days) == 30
    assert days[-1] == {
        "day": today.isoformat(),
        "impressions": 1,
        "clicks": 0,
        "add_to_carts": 0,
        "orders": 0,
        "revenue_cents": 0,
    }
    assert sum(d["impressions"] for d in days) == 1


def test_bad_ranges_are_refused_clearly(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    brand, _ = signed_in(db_factory, settings, role=Role.brand, name="Maison")

    backwards = client.get("/api/brand/funnels?since=2026-11-20&until=2026-11-01", headers=brand)
    assert (backwards.status_code, backwards.json()["error"]) == (422, "invalid_range")
    too_long = client.get("/api/brand/funnels/daily?since=2020-01-01", headers=brand)
    assert too_long.status_code == 422
    assert client.get("/api/brand/funnels?group_by=episode", headers=brand).status_code == 422
    assert client.get("/api/brand/funnels?since=yesterday", headers=brand).status_code == 422


def test_a_brand_sees_only_its_own_numbers_and_a_creator_only_their_commissions(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    shop = placed_campaign(client, db_factory, settings, brand_name="Maison")
    _event(TestClient(client.app), shop["placements"][0]["id"], "impression", "i1")
    rival, _ = signed_in(db_factory, settings, role=Role.brand, name="Rival")
    other_creator, _ = signed_in(db_factory, settings, role=Role.creator, name="Other studio")

    rival_view = client.get("/api/brand/funnels", headers=rival).json()
    assert rival_view["rows"] == [] and rival_view["totals"]["impressions"] == 0
    assert (
        client.get("/api/brand/funnels/daily", headers=rival).json()["days"][-1]["impressions"] == 0
    )
    assert client.get("/api/brand/funnels", headers=shop["creator"]).status_code == 403
    assert client.get("/api/brand/funnels.csv", headers=shop["creator"]).status_code == 403
    assert TestClient(client.app).get("/api/brand/funnels").status_code == 401

    mine = client.get("/api/studio/commissions", headers=shop["creator"]).json()
    assert [r["placement_id"] for r in mine["rows"]] == [p["id"] for p in shop["placements"]]
    assert mine["rows"][0]["brand_name"] == "Maison"
    assert mine["total_commission_cents"] == 0
    assert client.get("/api/studio/commissions", headers=other_creator).json()["rows"] == []
    assert client.get("/api/studio/commissions", headers=shop["brand"]).status_code == 403
