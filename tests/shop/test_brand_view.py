"""An operator picks which brand the brand pages show; every page and call then agrees."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Role
from microdrama.config import Settings
from tests.support.accounts import signed_in
from tests.support.shop import list_product, placed_campaign


def two_brands(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> dict[str, Any]:
    """Luma with a placed campaign and its hoodie; Verde with a tea set and no campaign."""
    luma = placed_campaign(client, db_factory, settings, brand_name="Luma Beauty")
    verde, verde_id = signed_in(db_factory, settings, role=Role.brand, name="Verde Tea")
    list_product(client, verde, title="Tea set", sku="TEA-1", variants=[])
    admin, _ = signed_in(db_factory, settings, role=Role.admin, name="Operator")
    return {"luma": luma, "verde": verde, "verde_id": verde_id, "admin": admin}


def titles(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [item["title"] for item in answer.json()]


def test_an_operator_sees_the_picked_brands_products_campaigns_and_funnels(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    world = two_brands(client, db_factory, settings)
    admin, luma_id, verde_id = world["admin"], world["luma"]["brand_id"], world["verde_id"]

    def get(path: str, brand_id: int | None = None) -> Any:
        params = {"brand": brand_id} if brand_id is not None else {}
        return client.get(path, params=params, headers=admin)

    assert titles(get("/api/brand/products", luma_id)) == ["Contract Bride hoodie"]
    assert titles(get("/api/brand/products", verde_id)) == ["Tea set"]
    # Without a pick: the first brand by name, on every call alike.
    assert titles(get("/api/brand/products")) == ["Contract Bride hoodie"]
    assert titles(get("/api/brand/campaigns")) == ["Autumn drop"]
    assert titles(get("/api/brand/campaigns", verde_id)) == []
    luma_rows = get("/api/brand/funnels", luma_id).json()["rows"]
    assert len(luma_rows) == 2  # its two placements
    assert get("/api/brand/funnels", verde_id).json()["rows"] == []
    assert get("/api/brand/orders", verde_id).json() == []


def test_an_operator_adds_a_product_to_the_picked_brand(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    world = two_brands(client, db_factory, settings)

    client.post(
        "/api/brand/products",
        params={"brand": world["verde_id"]},
        json={"title": "Teapot", "sku": "POT-1", "price_cents": 2_500, "currency": "USD"},
        headers=world["admin"],
    )

    verde_sees = titles(client.get("/api/brand/products", headers=world["verde"]))
    assert sorted(verde_sees) == ["Tea set", "Teapot"]


def test_a_brand_always_sees_itself_and_a_bad_pick_is_not_found(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    world = two_brands(client, db_factory, settings)
    luma_id = world["luma"]["brand_id"]
    creator_id = world["luma"]["creator_id"]

    mine = client.get("/api/brand/products", params={"brand": luma_id}, headers=world["verde"])
    assert titles(mine) == ["Tea set"]
    for wrong in (creator_id, 999_999):
        answer = client.get("/api/brand/products", params={"brand": wrong}, headers=world["admin"])
        assert answer.status_code == 404
    answer = client.get("/api/brand/products", params={"brand": 2**63}, headers=world["admin"])
    assert answer.status_code == 422


def page_data(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html, re.S)
    assert match is not None
    return dict(json.loads(match.group(1)))


def test_the_brand_pages_offer_an_operator_a_brand_picker_that_every_page_keeps(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    world = two_brands(client, db_factory, settings)
    verde_id = world["verde_id"]

    for path in ("/brand", "/brand/products", "/brand/campaigns", "/brand/orders"):
        page = client.get(path, params={"brand": verde_id}, headers=world["admin"])
        assert page.status_code == 200, path
        assert 'data-testid="brand-picker"' in page.text
        assert re.search(rf'<option value="{verde_id}" selected>Verde Tea</option>', page.text)
        assert "Luma Beauty</option>" in page.text
        assert f'href="/brand/products?brand={verde_id}"' in page.text
        assert page_data(page.text)["brand_id"] == verde_id  # the page's calls send it along

    brand_page = client.get("/brand/products", headers=world["verde"])
    assert 'data-testid="brand-picker"' not in brand_page.text
    assert page_data(brand_page.text)["brand_id"] is None
    missing = client.get("/brand/products", params={"brand": 999_999}, headers=world["admin"])
    assert missing.status_code == 404
