"""Brands upload product images: checked, re-encoded and stored like posters, then shown with the
product wherever a viewer meets it (the player's card and sheet, the cart, the orders)."""

from __future__ import annotations

import io
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Role
from microdrama.config import Settings
from microdrama.shop.catalog.images import MAX_PRODUCT_IMAGE_BYTES
from tests.support.accounts import Headers, signed_in
from tests.support.orders import buy
from tests.support.shop import list_product, placed_campaign


def _png(width: int = 1600, height: int = 1200) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (200, 40, 90, 255)).save(out, format="PNG")
    return out.getvalue()


def _upload(
    client: TestClient, brand: Headers, product_id: int, data: bytes, name: str = "lipstick.png"
) -> Any:
    return client.post(
        f"/api/brand/products/{product_id}/images",
        files={"file": (name, data, "image/png")},
        headers=brand,
    )


def test_a_brand_uploads_an_image_and_gets_a_resized_jpeg_it_can_remove(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    brand, _ = signed_in(db_factory, settings, role=Role.brand, name="Maison")
    product = list_product(client, brand, image_urls=[])

    answer = _upload(client, brand, product["id"], _png())

    assert answer.status_code == 201, answer.text
    [url] = answer.json()["image_urls"]
    assert url.startswith(f"/media/products/{product['id']}/") and url.endswith(".jpg")
    served = client.get(url)
    assert served.status_code == 200
    with Image.open(io.BytesIO(served.content)) as stored:
        assert (stored.format, stored.size) == ("JPEG", (1000, 750))  # longest side 1000 px
    listed = client.get(f"/api/brand/products/{product['id']}", headers=brand).json()
    assert listed["image_urls"] == [url]

    removed = client.delete(f"/api/brand/products/{product['id']}/images/0", headers=brand)
    assert removed.status_code == 200
    assert removed.json()["image_urls"] == []
    assert client.get(url).status_code == 404  # the file went with it


def test_a_file_that_is_not_an_image_is_refused_in_plain_words(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    brand, _ = signed_in(db_factory, settings, role=Role.brand, name="Maison")
    product = list_product(client, brand, image_urls=[])

    answer = _upload(client, brand, product["id"], b"just some text, named .png", "notes.png")

    assert answer.status_code == 422
    assert answer.json()["message"] == (
        "This file is not an image we can read; send a JPEG, PNG or WebP picture."
    )
    assert (
        client.get(f"/api/brand/products/{product['id']}", headers=brand).json()["image_urls"] == []
    )


def test_an_image_over_the_size_limit_is_refused(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    brand, _ = signed_in(db_factory, settings, role=Role.brand, name="Maison")
    product = list_product(client, brand, image_urls=[])
    huge = _png(400, 400) + b"\0" * MAX_PRODUCT_IMAGE_BYTES

    answer = _upload(client, brand, product["id"], huge)

    assert answer.status_code == 422
    assert answer.json()["message"].startswith("The image is larger than 8 MB")
    too_small = _upload(client, brand, product["id"], _png(120, 80))
    assert too_small.status_code == 422
    assert "too small" in too_small.json()["message"]


def test_only_the_products_brand_uploads_its_images(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    brand, _ = signed_in(db_factory, settings, role=Role.brand, name="Maison")
    rival, _ = signed_in(db_factory, settings, role=Role.brand, name="Rival")
    viewer, _ = signed_in(db_factory, settings, role=Role.viewer, name="Viewer")
    product = list_product(client, brand, image_urls=[])

    assert _upload(client, rival, product["id"], _png()).status_code == 404
    assert _upload(client, viewer, product["id"], _png()).status_code == 403


def test_the_uploaded_image_shows_in_the_player_the_cart_and_the_order(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    shop = placed_campaign(client, db_factory, settings, brand_name="Maison")
    product = shop["product"]
    url = _upload(client, shop["brand"], product["id"], _png()).json()["image_urls"][0]
    episode_id = shop["series"].episodes[0].id

    shown = client.get(f"/api/episodes/{episode_id}/placements").json()
    assert {p["product"]["image_url"] for p in shown} == {url}
    viewer = TestClient(client.app)
    cart = viewer.post("/api/cart/items", json={"variant_id": product["variants"][0]["id"]})
    assert cart.json()["items"][0]["image_url"] == url
    order = buy(viewer)
    assert [item["image_url"] for item in order["items"]] == [url]
    brand_orders = client.get("/api/brand/orders", headers=shop["brand"]).json()
    assert [item["image_url"] for item in brand_orders[0]["items"]] == [url]
