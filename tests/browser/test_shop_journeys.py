"""Shoppable episodes in a real Chromium: the product card over the playing episode, the sheet,
and buying from it (cart, checkout with the sandbox card, the paid order).

One 8-second episode with a hoodie placed from 2 s to 6 s (a brand's product, a campaign the
series' creator accepted). Waits are on what the viewer sees and on the video's own clock.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from microdrama.accounts import service as accounts
from microdrama.accounts.models import Account, Role
from microdrama.catalog.models import Series
from microdrama.db import make_engine, make_sessionmaker, session_scope, utcnow
from microdrama.shop import reports
from microdrama.shop import service as shop
from microdrama.shop.models import ProductVariant
from microdrama.shop.schemas import CampaignCreate, PlacementCreate, ProductCreate, VariantCreate
from tests.browser.conftest import SeriesPlan, Site, serve_site

pytestmark = pytest.mark.browser

WAIT_MS = 30_000
SERIES = "Shop Girl"
PRODUCT = "Contract Bride hoodie"
IMAGE = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 10 10'%3E"
    "%3Crect width='10' height='10' fill='%23c2185b'/%3E%3C/svg%3E"
)
PLAYING = """(episodeId) => window.__player && window.__player.episodeId === episodeId
  && window.__player.video.currentTime > 0.2 && !window.__player.video.paused"""


def _place_a_product(database_url: str, series_id: int, episode_id: int) -> None:
    engine = make_engine(database_url)
    factory = make_sessionmaker(engine)
    with session_scope(factory) as db:
        brand = accounts.create_account(db=db, display_name="Maison", role=Role.brand)
        series = db.get(Series, series_id)
        assert series is not None
        creator = accounts.get(db=db, account_id=series.owner_id)
        assert creator is not None
        product = shop.create_product(
            db=db,
            brand=brand,
            data=ProductCreate(
                title=PRODUCT,
                description="The one she wears in episode 1.",
                image_urls=[IMAGE],
                price_cents=4_900,
                currency="USD",
                sku="HOODIE-1",
                variants=[
                    VariantCreate(name="M / Red", sku="HOODIE-1-M", stock=5),
                    VariantCreate(name="L / Red", sku="HOODIE-1-L", stock=0),
                ],
            ),
        )
        campaign = shop.create_campaign(
            db=db,
            brand=brand,
            data=CampaignCreate(
                series_id=series_id,
                title="Autumn drop",
                budget_cents=500_000,
                starts_at=datetime(2026, 1, 1, tzinfo=UTC),
                ends_at=datetime(2027, 1, 1, tzinfo=UTC),
                commission_percent=12,
            ),
        )
        shop.decide_campaign(db=db, creator=creator, campaign_id=campaign.id, accept=True)
        shop.create_placement(
            db=db,
            author=brand,
            campaign=campaign,
            data=PlacementCreate(
                episode_id=episode_id,
                product_id=product.id,
                start_ms=2_000,
                end_ms=6_000,
                x_permille=80,
                y_permille=450,
            ),
        )
    engine.dispose()


@pytest.fixture(scope="module")
def site(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    plan = [SeriesPlan(SERIES, "romance", "teal", [8.0])]
    with serve_site(database_url, tmp_path_factory, plan) as served:
        seeded = served.series[SERIES]
        _place_a_product(database_url, seeded.id, seeded.episode_ids[0])
        yield served


def test_the_product_card_shows_during_its_placement_and_opens_the_sheet_while_playing(
    phone_page: Page, site: Site
) -> None:
    page = phone_page
    episode = site.series[SERIES].episode_ids[0]
    page.goto(f"/watch/{episode}")
    page.wait_for_function(PLAYING, arg=episode, timeout=WAIT_MS)
    card = page.get_by_test_id("product-card")
    expect(card).to_have_count(0)

    # The card slides in within a second of 2 s of playback.
    expect(card).to_be_visible(timeout=WAIT_MS)
    shown_at = page.evaluate("Object.values(window.__shop.shown)[0].currentTime")
    assert 1.9 <= shown_at <= 3.0, shown_at
    expect(card).to_contain_text(PRODUCT)
    expect(card).to_contain_text("$49.00")
    shots = os.environ.get("MICRODRAMA_SCREENSHOTS")
    if shots:
        page.wait_for_timeout(300)  # the slide-in finished
        page.screenshot(path=str(Path(shots) / "product-card.png"))

    # One tap: the sheet over the episode, which keeps playing.
    card.click()
    sheet = page.get_by_test_id("product-sheet")
    expect(sheet).to_be_visible()
    tapped_at = page.evaluate("window.__player.video.currentTime")
    expect(sheet.get_by_test_id("product-title")).to_have_text(PRODUCT)
    expect(sheet.get_by_test_id("product-price")).to_have_text("$49.00")
    expect(sheet.get_by_test_id("product-stock")).to_have_text("In stock")
    expect(sheet.get_by_role("radio", name="M / Red")).to_be_checked()
    expect(sheet.get_by_role("radio", name="L / Red")).to_be_disabled()
    expect(sheet.get_by_test_id("product-add")).to_be_enabled()
    expect(sheet.get_by_test_id("product-buy")).to_be_enabled()
    page.wait_for_function(
        "(t) => window.__player.video.currentTime > t + 0.5 && !window.__player.video.paused",
        arg=tapped_at,
        timeout=WAIT_MS,
    )
    if shots:
        page.screenshot(path=str(Path(shots) / "product-sheet.png"))

    # After 6 s the card is gone (the sheet stays until the viewer closes it).
    page.wait_for_function("() => window.__player.video.currentTime > 6.3", timeout=WAIT_MS)
    expect(card).to_have_count(0)
    sheet.get_by_role("button", name="Close").click()
    expect(sheet).to_be_hidden()

    # "Shop this episode" finds it again.
    page.get_by_role("button", name="Shop this episode").click()
    sheet.get_by_test_id("shop-item").filter(has_text=PRODUCT).click()
    expect(sheet.get_by_test_id("product-title")).to_have_text(PRODUCT)


def _shop_numbers(database_url: str) -> dict[str, int]:
    """The hoodie's stock, its placement's clicks and orders, and the creator's commission."""
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as db:
        stock = db.scalar(select(ProductVariant.stock).where(ProductVariant.sku == "HOODIE-1-M"))
        brand = db.scalar(select(Account).where(Account.display_name == "Maison"))
        series = db.scalar(select(Series).where(Series.title == SERIES))
        assert brand is not None and series is not None and stock is not None
        creator = accounts.get(db=db, account_id=series.owner_id)
        assert creator is not None
        today = utcnow().date()
        period = reports.date_range(since=today, until=today, today=today)
        funnel = reports.funnels(db=db, brand=brand, group_by="placement", period=period)
        earned = reports.commissions(db=db, creator=creator, period=period)
    engine.dispose()
    [row] = funnel["rows"]
    return {
        "stock": stock,
        "clicks": row["clicks"],
        "orders": row["orders"],
        "commission_cents": earned["total_commission_cents"],
    }


def test_a_viewer_buys_from_the_episode_and_the_order_is_paid(
    phone_page: Page, site: Site, database_url: str
) -> None:
    page = phone_page
    before = _shop_numbers(database_url)
    episode = site.series[SERIES].episode_ids[0]
    page.goto(f"/watch/{episode}")
    page.wait_for_function(PLAYING, arg=episode, timeout=WAIT_MS)

    # During the episode: tap the card, add to cart; the episode keeps playing.
    card = page.get_by_test_id("product-card")
    expect(card).to_be_visible(timeout=WAIT_MS)
    card.click()
    sheet = page.get_by_test_id("product-sheet")
    expect(sheet.get_by_test_id("product-title")).to_have_text(PRODUCT)
    tapped_at = page.evaluate("window.__player.video.currentTime")
    sheet.get_by_test_id("product-add").click()
    expect(sheet.get_by_test_id("product-note")).to_contain_text("Added to your cart (1 item)")
    page.wait_for_function(
        "(t) => window.__player.video.currentTime > t + 0.5 && !window.__player.video.paused",
        arg=tapped_at,
        timeout=WAIT_MS,
    )

    # The cart, then the shipping form.
    sheet.get_by_role("link", name="View cart").click()
    item = page.get_by_test_id("cart-item")
    expect(item).to_contain_text(PRODUCT)
    expect(item).to_contain_text("M / Red")
    page.get_by_test_id("cart-checkout").click()
    expect(page.get_by_test_id("checkout-total")).to_have_text("$49.00")
    form = page.get_by_test_id("shipping-form")
    form.get_by_label("Full name").fill("Mia Chen")
    form.get_by_label("Address").fill("12 Harbour Street")
    form.get_by_label("City").fill("Portland")
    form.get_by_label("Postal code").fill("97201")
    form.get_by_label("State / region").fill("OR")
    form.get_by_test_id("checkout-continue").click()

    # The sandbox's card page, the test card that pays, back to the confirmation.
    expect(page.get_by_test_id("sandbox-checkout")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_test_id("checkout-price")).to_have_text("$49.00")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry").fill("12/39")
    page.get_by_label("CVC").fill("123")
    page.get_by_test_id("checkout-pay").click()
    expect(page.get_by_test_id("order-status")).to_have_text("Paid", timeout=WAIT_MS)
    expect(page.get_by_test_id("order")).to_contain_text("Thank you")
    expect(page.get_by_test_id("order")).to_contain_text("Portland")
    shots = os.environ.get("MICRODRAMA_SCREENSHOTS")
    if shots:
        page.screenshot(path=str(Path(shots) / "order-confirmation.png"))

    page.goto("/orders")
    expect(page.get_by_test_id("order-row")).to_have_count(1)
    expect(page.get_by_test_id("order-row")).to_contain_text("Paid")

    after = _shop_numbers(database_url)
    assert after["stock"] == before["stock"] - 1
    assert after["clicks"] == before["clicks"] + 1
    assert after["orders"] == before["orders"] + 1
    assert after["commission_cents"] == before["commission_cents"] + 588  # 12 % of $49.00
