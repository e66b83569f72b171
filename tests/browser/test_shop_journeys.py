"""Shoppable episodes in a real Chromium: the product card over the playing episode, the sheet,
and buying from it (cart, checkout with the sandbox card, the paid order), then what the brand's
dashboard and the creator's earnings page show for it.

Two series of one 8-second episode each, a hoodie placed from 2 s to 6 s in both (a brand's
product, one campaign per series that their creator accepted): the card test watches the first,
the buying journey the second, so that placement's numbers are the journey's alone. Waits are on
what the viewer sees and on the video's own clock. The brand and the creator sign in with a real
cookie session.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from microdrama.accounts import service as accounts
from microdrama.accounts.deps import SESSION_COOKIE
from microdrama.accounts.models import Role, SessionKind
from microdrama.catalog.models import Series
from microdrama.config import Settings
from microdrama.db import make_engine, make_sessionmaker, session_scope, utcnow
from microdrama.shop.campaigns import service as shop
from microdrama.shop.campaigns.schemas import CampaignCreate
from microdrama.shop.catalog import service as shop_catalog
from microdrama.shop.catalog.schemas import ProductCreate, VariantCreate
from microdrama.shop.models import ProductVariant
from microdrama.shop.placements import service as placements
from microdrama.shop.placements.schemas import PlacementCreate
from tests.support.browser import DESKTOP, SQLITE_ONLY, SeriesPlan, Site, serve_site

pytestmark = [pytest.mark.browser, SQLITE_ONLY]

WAIT_MS = 30_000
SERIES = "Shop Girl"
BUY_SERIES = "Shop Girl: The Wedding"
PRODUCT = "Contract Bride hoodie"
IMAGE = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 10 10'%3E"
    "%3Crect width='10' height='10' fill='%23c2185b'/%3E%3C/svg%3E"
)
PLAYING = """(episodeId) => window.__player && window.__player.episodeId === episodeId
  && window.__player.video.currentTime > 0.2 && !window.__player.video.paused"""


@dataclass
class Placed:
    watch_placement_id: int  # in SERIES: the card test's
    buy_placement_id: int  # in BUY_SERIES: the buying journey's
    brand_token: str
    creator_token: str


def _place_products(database_url: str, site: Site) -> Placed:
    """The brand Maison's hoodie, placed from 2 s to 6 s in the first episode of each series (a
    campaign at 12 % per series, accepted by their creator); cookie sessions for the brand and
    the creator."""
    settings = Settings(environment="test", data_dir=site.data_dir, database_url=database_url)
    engine = make_engine(database_url)
    factory = make_sessionmaker(engine)
    with session_scope(factory) as db:
        brand = accounts.create_account(db=db, display_name="Maison", role=Role.brand)
        product = shop_catalog.create_product(
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
        placement_ids = []
        for title in (SERIES, BUY_SERIES):
            seeded = site.series[title]
            series = db.get(Series, seeded.id)
            assert series is not None
            creator = accounts.get(db=db, account_id=series.owner_id)
            assert creator is not None
            creator.role = Role.creator
            campaign = shop.create_campaign(
                db=db,
                brand=brand,
                data=CampaignCreate(
                    series_id=seeded.id,
                    title=f"Autumn drop · {title}",
                    budget_cents=500_000,
                    starts_at=utcnow() - timedelta(days=1),
                    ends_at=utcnow() + timedelta(days=365),
                    commission_percent=12,
                ),
            )
            shop.decide_campaign(db=db, creator=creator, campaign_id=campaign.id, accept=True)
            placement = placements.create_placement(
                db=db,
                author=brand,
                campaign=campaign,
                data=PlacementCreate(
                    episode_id=seeded.episode_ids[0],
                    product_id=product.id,
                    start_ms=2_000,
                    end_ms=6_000,
                    x_permille=80,
                    y_permille=450,
                ),
            )
            db.flush()
            placement_ids.append(placement.id)
        brand_token, _ = accounts.start_session(
            db=db, settings=settings, account=brand, kind=SessionKind.cookie
        )
        creator_token, _ = accounts.start_session(
            db=db, settings=settings, account=creator, kind=SessionKind.cookie
        )
        placed = Placed(placement_ids[0], placement_ids[1], brand_token, creator_token)
    engine.dispose()
    return placed


@pytest.fixture(scope="module")
def site(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    plan = [
        SeriesPlan(SERIES, "romance", "teal", [8.0]),
        SeriesPlan(BUY_SERIES, "romance", "purple", [8.0]),
    ]
    with serve_site(database_url, tmp_path_factory, plan) as served:
        yield served


@pytest.fixture(scope="module")
def placed(database_url: str, site: Site) -> Placed:
    return _place_products(database_url, site)


@pytest.fixture
def signed_in(browser: Browser, site: Site) -> Iterator[Callable[[str], Page]]:
    """Pages (desktop) of accounts signed in with a cookie session; no page may throw."""
    contexts = []
    errors: list[str] = []

    def open_page(token: str) -> Page:
        context = browser.new_context(base_url=site.base_url, viewport=DESKTOP)
        context.set_default_timeout(20_000)
        context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": site.base_url}])
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not errors, errors


def test_the_product_card_shows_during_its_placement_and_opens_the_sheet_while_playing(
    phone_page: Page, site: Site, placed: Placed
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


def _stock(database_url: str) -> int:
    """The stock of the hoodie's M / Red variant."""
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as db:
        stock = db.scalar(select(ProductVariant.stock).where(ProductVariant.sku == "HOODIE-1-M"))
    engine.dispose()
    assert stock is not None
    return stock


def test_a_viewer_buys_from_the_episode_and_the_brand_and_the_creator_see_it(
    phone_page: Page,
    site: Site,
    placed: Placed,
    database_url: str,
    signed_in: Callable[[str], Page],
) -> None:
    page = phone_page
    stock_before = _stock(database_url)
    # Before buying anything, the orders page says what will show there and leads to the feed.
    page.goto("/orders")
    empty = page.get_by_test_id("orders-empty")
    expect(empty).to_contain_text("No orders yet")
    expect(empty.get_by_role("link", name="Browse the feed")).to_have_attribute("href", "/")
    episode = site.series[BUY_SERIES].episode_ids[0]
    page.goto(f"/watch/{episode}")
    page.wait_for_function(PLAYING, arg=episode, timeout=WAIT_MS)

    # During the episode: the card slides in within a second of 2 s; tap it, add to cart; the
    # episode keeps playing.
    card = page.get_by_test_id("product-card")
    expect(card).to_be_visible(timeout=WAIT_MS)
    shown_at = page.evaluate(f"window.__shop.shown[{placed.buy_placement_id}].currentTime")
    assert 1.9 <= shown_at <= 3.0, shown_at
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

    # Stock went down by one: the database, and the brand's products page.
    assert _stock(database_url) == stock_before - 1
    brand = signed_in(placed.brand_token)
    brand.goto("/brand/products")
    variant = (
        brand.get_by_test_id("product")
        .filter(has_text=PRODUCT)
        .get_by_test_id("variant-row")
        .filter(has_text="M / Red")
    )
    expect(variant.get_by_test_id("variant-stock")).to_have_value(str(stock_before - 1))

    # The brand's dashboard, grouped by placement: one click and one order on that placement.
    brand.goto("/brand?group_by=campaign")
    # The page's script has read the address (a click before it runs would do nothing).
    expect(
        brand.get_by_test_id("group-switch").get_by_role("button", name="Campaign")
    ).to_have_attribute("aria-pressed", "true", timeout=WAIT_MS)
    brand.get_by_test_id("group-switch").get_by_role("button", name="Placement").click()
    expect(
        brand.get_by_test_id("group-switch").get_by_role("button", name="Placement")
    ).to_have_attribute("aria-pressed", "true")
    row = brand.locator(
        f'[data-testid="funnel-row"][data-key="placement:{placed.buy_placement_id}"]'
    )
    expect(row).to_contain_text(PRODUCT)
    expect(row.get_by_test_id("funnel-clicks")).to_have_text("1")
    expect(row.get_by_test_id("funnel-carts")).to_have_text("1")
    expect(row.get_by_test_id("funnel-orders")).to_have_text("1")
    expect(row.get_by_test_id("funnel-revenue")).to_have_text("$49.00")
    expect(row.get_by_test_id("funnel-commission")).to_have_text("$5.88")  # 12 % of $49.00
    expect(brand).to_have_url(re.compile(r"group_by=placement"))
    if shots:
        brand.screenshot(path=str(Path(shots) / "journey-brand-dashboard.png"), full_page=True)

    # The creator's earnings: the commission on that placement, and in total.
    creator = signed_in(placed.creator_token)
    creator.goto("/studio/earnings")
    earned = creator.locator(
        f'[data-testid="earnings-row"][data-placement-id="{placed.buy_placement_id}"]'
    )
    expect(earned).to_contain_text(BUY_SERIES)
    expect(earned).to_contain_text("Maison")
    expect(earned.get_by_test_id("earnings-orders")).to_have_text("1")
    expect(earned.get_by_test_id("earnings-revenue")).to_have_text("$49.00")
    expect(earned.get_by_test_id("earnings-commission")).to_have_text("$5.88")
    expect(creator.get_by_test_id("earnings-total")).to_have_text("$5.88")
    if shots:
        creator.screenshot(path=str(Path(shots) / "journey-studio-earnings.png"), full_page=True)
