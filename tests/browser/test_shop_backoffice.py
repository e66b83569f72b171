"""The brand's and the creator's shop pages in a real Chromium: the timeline placement editor,
the campaign inbox, the catalog.

One published series with an 8-second episode; a brand (Maison) with a product; a creator
owning the series. Accounts sign in with a real cookie session.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect

from microdrama.accounts import service as accounts
from microdrama.accounts.deps import SESSION_COOKIE
from microdrama.accounts.models import Role, SessionKind
from microdrama.catalog.models import Series
from microdrama.config import Settings
from microdrama.db import make_engine, make_sessionmaker, session_scope
from microdrama.shop.catalog import service as shop_catalog
from microdrama.shop.catalog.schemas import ProductCreate, VariantCreate
from tests.support.browser import DESKTOP, PHONE, SQLITE_ONLY, SeriesPlan, Site, serve_site
from tests.support.orders import ADDRESS, PAYS

pytestmark = [pytest.mark.browser, SQLITE_ONLY]

SERIES = "Boutique Nights"
PRODUCT = "Velvet lipstick"
EPISODE_MS = 8_000
# A drag is turned into milliseconds at the timeline's pixel scale (~10 ms a pixel here) and
# snapped to 0.1 s: allow one snap step either way.
TIME_TOLERANCE_MS = 100
# A click on the frame is exact to a pixel of a ~320 px wide frame: 1 px ≈ 3 ‰.
POSITION_TOLERANCE = 10


@dataclass
class Accounts:
    brand_token: str
    creator_token: str
    product_id: int
    variant_id: int
    episode_id: int
    series_id: int


@pytest.fixture(scope="module")
def site(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    plan = [SeriesPlan(SERIES, "romance", "purple", [8.0])]
    with serve_site(database_url, tmp_path_factory, plan) as served:
        yield served


@pytest.fixture(scope="module")
def people(database_url: str, site: Site) -> Accounts:
    """A brand with a product and the series' creator, each with a cookie session."""
    settings = Settings(environment="test", data_dir=site.data_dir, database_url=database_url)
    engine = make_engine(database_url)
    with session_scope(make_sessionmaker(engine)) as db:
        brand = accounts.create_account(db=db, display_name="Maison", role=Role.brand)
        seeded = site.series[SERIES]
        series = db.get(Series, seeded.id)
        assert series is not None
        creator = accounts.get(db=db, account_id=series.owner_id)
        assert creator is not None
        creator.role = Role.creator
        product = shop_catalog.create_product(
            db=db,
            brand=brand,
            data=ProductCreate(
                title=PRODUCT,
                price_cents=2_400,
                sku="LIP-1",
                variants=[VariantCreate(name="Ruby", sku="LIP-1-RUBY", stock=3)],
            ),
        )
        brand_token, _ = accounts.start_session(
            db=db, settings=settings, account=brand, kind=SessionKind.cookie
        )
        creator_token, _ = accounts.start_session(
            db=db, settings=settings, account=creator, kind=SessionKind.cookie
        )
        people = Accounts(
            brand_token,
            creator_token,
            product.id,
            product.variants[0].id,
            seeded.episode_ids[0],
            seeded.id,
        )
    engine.dispose()
    return people


def _signed_in(browser: Browser, site: Site, token: str) -> BrowserContext:
    context = browser.new_context(base_url=site.base_url, viewport=DESKTOP)
    context.set_default_timeout(20_000)
    context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": site.base_url}])
    return context


@pytest.fixture
def brand_page(browser: Browser, site: Site, people: Accounts) -> Iterator[Page]:
    context = _signed_in(browser, site, people.brand_token)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


@pytest.fixture
def creator_page(browser: Browser, site: Site, people: Accounts) -> Iterator[Page]:
    context = _signed_in(browser, site, people.creator_token)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


def _screenshot(page: Page, name: str) -> None:
    shots = os.environ.get("MICRODRAMA_SCREENSHOTS")
    if shots:
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)


def _clock_tenths(ms: int) -> str:
    """A time as the editor writes it: 0:06.5."""
    tenths = round(ms / 100)
    return f"{tenths // 600}:{tenths // 10 % 60:02d}.{tenths % 10}"


def _drag_on_timeline(page: Page, start_fraction: float, end_fraction: float) -> None:
    box = page.get_by_test_id("timeline").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] - 6  # below the bars
    page.mouse.move(box["x"] + box["width"] * start_fraction, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * end_fraction, y, steps=12)
    page.mouse.up()


def test_brand_requests_a_campaign_creator_accepts_it_in_the_inbox(
    brand_page: Page, creator_page: Page, people: Accounts
) -> None:
    brand_page.goto("/brand/campaigns")
    brand_page.get_by_test_id("campaign-series").select_option(label=SERIES)
    brand_page.get_by_test_id("campaign-title").fill("Lip season")
    brand_page.get_by_test_id("campaign-budget").fill("1500.50")
    brand_page.get_by_test_id("campaign-commission").fill("15")
    brand_page.get_by_test_id("campaign-create").click()
    row = brand_page.get_by_test_id("campaign-row").filter(has_text="Lip season")
    expect(row.get_by_test_id("status")).to_have_text("requested")
    expect(row).to_contain_text("$1,500.50")

    creator_page.goto("/studio/campaigns")
    item = creator_page.get_by_test_id("inbox-item").filter(has_text="Lip season")
    expect(item).to_contain_text("Maison")
    expect(item).to_contain_text("15 % commission")
    item.get_by_test_id("campaign-accept").click()
    expect(item.get_by_test_id("status")).to_have_text("accepted")
    expect(item.get_by_test_id("campaign-accept")).to_have_count(0)
    expect(item.get_by_test_id("campaign-editor")).to_be_visible()
    _screenshot(creator_page, "studio-campaigns")

    expect(row.get_by_test_id("delivery")).to_have_text("waiting for the creator · $0.00 spent")

    brand_page.reload()
    expect(row.get_by_test_id("status")).to_have_text("accepted")
    expect(row.get_by_test_id("delivery")).to_have_text("showing · $0.00 spent")


def test_brand_draws_a_placement_on_the_timeline_then_edits_and_deletes_it(
    brand_page: Page, people: Accounts
) -> None:
    page = brand_page
    page.goto("/brand/campaigns")
    page.get_by_test_id("campaign-row").filter(has_text="Lip season").get_by_test_id(
        "campaign-editor"
    ).click()
    expect(page.get_by_test_id("placement-editor")).to_be_visible()
    page.wait_for_function("document.body.dataset.ready === 'true'")
    campaign_id = int(page.url.split("/")[-2])
    page.get_by_test_id("editor-episode").select_option(str(people.episode_id))
    page.wait_for_function("window.__editor.episode !== null")

    # Drag from a quarter to three quarters of the 8 s episode: 2 s to 6 s.
    _drag_on_timeline(page, 0.25, 0.75)
    expect(page.get_by_test_id("timeline-selection")).to_be_visible()
    # The card points at a fifth across and a third down the frame.
    frame = page.get_by_test_id("editor-frame").bounding_box()
    assert frame is not None
    page.mouse.click(frame["x"] + frame["width"] * 0.2, frame["y"] + frame["height"] * 0.3)
    page.get_by_test_id("editor-product").select_option(label=PRODUCT)
    page.get_by_test_id("editor-save").click()

    expect(page.get_by_test_id("bo-notice")).to_contain_text("Saved")
    expect(page.get_by_test_id("placement-bar")).to_have_count(1)
    _screenshot(page, "placement-editor")
    placements = page.request.get(f"/api/brand/campaigns/{campaign_id}/placements").json()
    assert len(placements) == 1
    placed = placements[0]
    assert placed["episode_id"] == people.episode_id
    assert placed["product_id"] == people.product_id
    assert abs(placed["start_ms"] - 2_000) <= TIME_TOLERANCE_MS, placed
    assert abs(placed["end_ms"] - 6_000) <= TIME_TOLERANCE_MS, placed
    assert abs(placed["x_permille"] - 200) <= POSITION_TOLERANCE, placed
    assert abs(placed["y_permille"] - 300) <= POSITION_TOLERANCE, placed
    # The player shows it too.
    shown = page.request.get(f"/api/episodes/{people.episode_id}/placements").json()
    assert [(p["id"], p["start_ms"]) for p in shown] == [(placed["id"], placed["start_ms"])]

    # Keyboard: the end handle 0.5 s later (five presses), the start 1 s earlier (Shift).
    page.get_by_test_id("handle-end").focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    page.get_by_test_id("handle-start").focus()
    page.keyboard.press("Shift+ArrowLeft")
    start_ms, end_ms = placed["start_ms"] - 1_000, placed["end_ms"] + 500
    expect(page.get_by_test_id("editor-start")).to_have_value(f"{start_ms / 1000:.1f}")
    expect(page.get_by_test_id("editor-end")).to_have_value(f"{end_ms / 1000:.1f}")
    page.get_by_test_id("editor-save").click()
    expect(page.get_by_test_id("bo-notice")).to_contain_text(
        f"from {_clock_tenths(start_ms)} to {_clock_tenths(end_ms)}"
    )
    edited = page.request.get(f"/api/brand/campaigns/{campaign_id}/placements").json()
    assert [(p["id"], p["start_ms"], p["end_ms"]) for p in edited] == [
        (placed["id"], placed["start_ms"] - 1_000, placed["end_ms"] + 500)
    ]

    # A fresh page shows the saved bar; clicking it opens it for editing; delete removes it.
    page.reload()
    page.wait_for_function("document.body.dataset.ready === 'true'")
    page.get_by_test_id("placement-bar").click()
    expect(page.get_by_test_id("editor-start")).to_have_value(
        f"{(placed['start_ms'] - 1_000) / 1000:.1f}"
    )
    page.get_by_test_id("editor-delete").click()
    expect(page.get_by_test_id("bo-notice")).to_contain_text("Deleted")
    expect(page.get_by_test_id("placement-bar")).to_have_count(0)
    assert page.request.get(f"/api/brand/campaigns/{campaign_id}/placements").json() == []


def test_creator_places_a_product_by_typing_times_in_the_studio_editor(
    creator_page: Page, people: Accounts
) -> None:
    page = creator_page
    page.goto("/studio/campaigns")
    page.get_by_test_id("inbox-item").filter(has_text="Lip season").get_by_test_id(
        "campaign-editor"
    ).click()
    page.wait_for_function("document.body.dataset.ready === 'true'")
    campaign_id = int(page.url.split("/")[-2])
    page.get_by_test_id("editor-start").fill("1.5")
    page.get_by_test_id("editor-end").fill("3")
    page.get_by_test_id("editor-end").press("Tab")
    page.get_by_test_id("editor-save").click()
    expect(page.get_by_test_id("placement-bar")).to_have_count(1)

    placements = page.request.get(f"/api/studio/campaigns/{campaign_id}/placements").json()
    assert [(p["start_ms"], p["end_ms"], p["x_permille"]) for p in placements] == [
        (1_500, 3_000, 500)
    ]

    # An end past the episode's end snaps to the episode's end.
    page.get_by_test_id("editor-new").click()
    page.get_by_test_id("editor-start").fill("7")
    page.get_by_test_id("editor-end").fill("9")
    page.get_by_test_id("editor-end").press("Tab")
    expect(page.get_by_test_id("editor-end")).to_have_value("8.0")
    page.get_by_test_id("editor-save").click()
    expect(page.get_by_test_id("placement-bar")).to_have_count(2)
    placements = page.request.get(f"/api/studio/campaigns/{campaign_id}/placements").json()
    assert [(p["start_ms"], p["end_ms"]) for p in placements] == [(1_500, 3_000), (7_000, 8_000)]

    # A click on the timeline at 2 s moves the playhead: the frame shows the card on screen then.
    page.get_by_test_id("editor-new").click()
    box = page.get_by_test_id("timeline").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] - 6)
    expect(page.get_by_test_id("editor-ghost")).to_have_count(1)
    expect(page.get_by_test_id("editor-ghost")).to_have_text(PRODUCT)


def test_an_end_typed_before_the_start_is_refused_with_a_message_not_swapped(
    creator_page: Page, people: Accounts
) -> None:
    page = creator_page
    page.goto("/studio/campaigns")
    page.get_by_test_id("inbox-item").filter(has_text="Lip season").get_by_test_id(
        "campaign-editor"
    ).click()
    page.wait_for_function("document.body.dataset.ready === 'true'")
    campaign_id = int(page.url.split("/")[-2])
    before = page.request.get(f"/api/studio/campaigns/{campaign_id}/placements").json()

    page.get_by_test_id("editor-new").click()
    page.get_by_test_id("editor-start").fill("6")
    page.get_by_test_id("editor-end").fill("2")
    page.get_by_test_id("editor-end").press("Tab")

    # The times stay as typed, and the editor says what is wrong.
    expect(page.get_by_test_id("editor-start")).to_have_value("6.0")
    expect(page.get_by_test_id("editor-end")).to_have_value("2.0")
    expect(page.get_by_test_id("bo-error")).to_contain_text("after the start")

    # Saving anyway: the server refuses it, the editor shows its plain message, nothing is stored.
    page.get_by_test_id("editor-save").click()
    expect(page.get_by_test_id("bo-error")).to_have_text("End must be after the start.")
    # ... and beside the End box, which gets the focus to be fixed.
    end_error = page.locator("[data-testid=editor-end] + .field-error")
    expect(end_error).to_have_text("End must be after the start.")
    expect(page.get_by_test_id("editor-end")).to_be_focused()
    _screenshot(page, "editor-end-error")
    after = page.request.get(f"/api/studio/campaigns/{campaign_id}/placements").json()
    assert after == before


def test_brand_lists_a_product_and_restocks_its_variant(brand_page: Page) -> None:
    page = brand_page
    page.goto("/brand/products")
    page.get_by_test_id("product-title-input").fill("Silk scarf")
    page.get_by_test_id("product-sku-input").fill("SCARF-1")
    page.get_by_test_id("product-price-input").fill("35.5")
    page.get_by_test_id("variant-name-input").fill("Blue")
    page.get_by_test_id("variant-sku-input").fill("SCARF-1-BLUE")
    page.get_by_test_id("variant-stock-input").fill("2")
    page.get_by_test_id("product-create").click()

    card = page.get_by_test_id("product").filter(has_text="Silk scarf")
    expect(card).to_contain_text("$35.50")
    card.get_by_test_id("variant-stock").fill("7")
    card.get_by_test_id("variant-save").click()
    expect(page.get_by_test_id("bo-notice")).to_contain_text("7 in stock")
    _screenshot(page, "brand-products")
    products = page.request.get("/api/brand/products").json()
    scarf = next(p for p in products if p["sku"] == "SCARF-1")
    assert (scarf["price_cents"], scarf["variants"][0]["stock"]) == (3_550, 7)

    # A duplicate SKU is refused with the server's words; nothing is added.
    page.get_by_test_id("product-title-input").fill("Another scarf")
    page.get_by_test_id("product-sku-input").fill("SCARF-1")
    page.get_by_test_id("product-price-input").fill("10")
    page.get_by_test_id("product-create").click()
    expect(page.get_by_test_id("bo-error")).to_contain_text("SKU")
    sku_error = page.locator("[data-testid=product-sku-input] + .field-error")
    expect(sku_error).to_have_text("You already have a product with this SKU.")
    expect(page.get_by_test_id("product-sku-input")).to_be_focused()
    _screenshot(page, "brand-products-sku-error")
    assert len(page.request.get("/api/brand/products").json()) == len(products)
    # Typing a new SKU takes the message away; a price that is no amount is said under Price.
    page.get_by_test_id("product-sku-input").fill("SCARF-2")
    expect(sku_error).to_have_count(0)
    page.get_by_test_id("product-price-input").fill("ten")
    page.get_by_test_id("product-create").click()
    price_error = page.locator("[data-testid=product-price-input] + .field-error")
    expect(price_error).to_have_text("A price is an amount like 49 or 49.90.")


def _lip_season(page: Page) -> int:
    campaigns = page.request.get("/api/brand/campaigns").json()
    return int(next(c["id"] for c in campaigns if c["title"] == "Lip season"))


def _funnel_row(page: Page, key: str) -> dict[str, object]:
    rows = page.evaluate("window.__dashboard.report.rows")
    return next(row for row in rows if row["key"] == key)


def test_dashboard_shows_the_funnel_by_placement_campaign_and_series_with_charts_and_csv(
    brand_page: Page, site: Site, people: Accounts
) -> None:
    page = brand_page
    campaigns = page.request.get("/api/brand/campaigns").json()
    campaign_id = next(c["id"] for c in campaigns if c["title"] == "Lip season")
    placed = page.request.post(
        f"/api/brand/campaigns/{campaign_id}/placements",
        data={
            "episode_id": people.episode_id,
            "product_id": people.product_id,
            "start_ms": 500,
            "end_ms": 2_000,
        },
    )
    assert placed.ok, placed.text()
    placement_id = placed.json()["id"]
    # Three viewers see the card (each a fresh device), one of them opens the sheet.
    for n in range(3):
        viewer = httpx.Client(base_url=site.base_url)
        url = f"/api/placements/{placement_id}/events"
        assert viewer.post(url, json={"kind": "impression", "event_id": f"i{n}"}).status_code == 204
        if n == 0:
            assert viewer.post(url, json={"kind": "click", "event_id": "c0"}).status_code == 204
        viewer.close()

    page.goto("/brand")
    page.wait_for_function("window.__dashboard.loads >= 1")
    row = _funnel_row(page, f"placement:{placement_id}")
    assert (row["impressions"], row["unique_viewers"], row["clicks"]) == (3, 3, 1)
    table_row = page.locator(f'[data-testid="funnel-row"][data-key="placement:{placement_id}"]')
    expect(table_row).to_contain_text("33.3 %")
    funnel = page.evaluate(
        "Chart.getChart(document.querySelector('[data-testid=funnel-chart]')).data.datasets[0].data"
    )
    totals = page.evaluate("window.__dashboard.report.totals")
    assert funnel == [totals["impressions"], totals["clicks"], totals["add_to_carts"], 0]
    assert funnel[:2] == [3, 1]
    daily = page.evaluate(
        "Chart.getChart(document.querySelector('[data-testid=daily-chart]')).data.datasets[0].data"
    )
    assert sum(daily) == 3 and daily[-1] == 3  # all today, the last day of the range
    _screenshot(page, "brand-dashboard")

    page.get_by_test_id("group-switch").get_by_role("button", name="Campaign").click()
    page.wait_for_function("window.__dashboard.loads >= 2")
    expect(page.get_by_test_id("funnel-row").first).to_contain_text("Lip season")
    assert _funnel_row(page, f"campaign:{campaign_id}")["clicks"] == 1
    page.get_by_test_id("group-switch").get_by_role("button", name="Series").click()
    page.wait_for_function("window.__dashboard.loads >= 3")
    expect(page.get_by_test_id("funnel-row")).to_have_count(1)
    expect(page.get_by_test_id("funnel-row")).to_contain_text(SERIES)
    assert "group_by=series" in page.url

    with page.expect_download() as download:
        page.get_by_test_id("funnel-csv").click()
    assert download.value.suggested_filename.startswith("funnels-series-")
    lines = Path(download.value.path()).read_text().splitlines()
    assert (
        lines[0].startswith("key,") and len(lines) == 2 and f"series:{people.series_id}" in lines[1]
    )

    # A range that ends yesterday has none of today's numbers.
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    page.get_by_test_id("funnel-until").fill(yesterday)
    page.get_by_test_id("funnel-until").dispatch_event("change")
    page.wait_for_function("window.__dashboard.loads >= 4")
    assert page.evaluate("window.__dashboard.report.totals.impressions") == 0


def _buy_from_placement(site: Site, people: Accounts, placement_id: int) -> int:
    """A viewer (a fresh device) buys one lipstick from the card and pays with the sandbox card;
    returns the paid order's id."""
    with httpx.Client(base_url=site.base_url) as viewer:
        added = viewer.post(
            "/api/cart/items",
            json={"variant_id": people.variant_id, "quantity": 1, "placement_id": placement_id},
        )
        assert added.status_code == 201, added.text
        started = viewer.post(
            "/api/checkout",
            json={"shipping": ADDRESS},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert started.status_code == 201, started.text
        order_id = int(started.json()["order"]["id"])
        checkout_url = started.json()["checkout_url"]
        assert viewer.get(checkout_url).status_code == 200
        paid = viewer.post(
            checkout_url,
            data={
                "card_number": PAYS,
                "expiry": "12/39",
                "cvc": "123",
                "return_to": f"/orders/{order_id}",
            },
        )
        assert paid.status_code in (200, 303), paid.text
        assert viewer.get(f"/api/orders/{order_id}").json()["status"] == "paid"
    return order_id


def test_an_order_from_a_placement_shows_on_the_dashboard_orders_and_earnings_pages(
    brand_page: Page, creator_page: Page, site: Site, people: Accounts
) -> None:
    placements = brand_page.request.get(
        f"/api/brand/campaigns/{_lip_season(brand_page)}/placements"
    ).json()
    placement_id = next(p["id"] for p in placements if p["start_ms"] == 500)
    order_id = _buy_from_placement(site, people, placement_id)

    # The brand's dashboard: one order and its revenue on that placement.
    brand_page.goto("/brand")
    brand_page.wait_for_function("window.__dashboard.loads >= 1")
    row = _funnel_row(brand_page, f"placement:{placement_id}")
    assert (row["add_to_carts"], row["orders"], row["revenue_cents"]) == (1, 1, 2_400)
    commission = 2_400 * 15 // 100  # the campaign's 15 %
    assert row["commission_cents"] == commission
    table_row = brand_page.locator(
        f'[data-testid="funnel-row"][data-key="placement:{placement_id}"]'
    )
    expect(table_row).to_contain_text("$24.00")
    expect(table_row).to_contain_text("6.67\u00d7")  # ROAS: $24.00 of revenue for $3.60

    # The creator's earnings: the commission on that placement, and the total.
    creator_page.goto("/studio/earnings")
    expect(creator_page.get_by_test_id("earnings-total")).to_have_text(f"${commission / 100:.2f}")
    earned = creator_page.locator(
        f'[data-testid="earnings-row"][data-placement-id="{placement_id}"]'
    )
    expect(earned).to_contain_text(PRODUCT)
    expect(earned).to_contain_text("Maison")
    expect(earned).to_contain_text(f"${commission / 100:.2f}")

    # The brand's orders: ship, deliver, refund.
    brand_page.goto("/brand/orders")
    order = brand_page.locator(f'[data-testid="order"][data-order-id="{order_id}"]')
    expect(order.get_by_test_id("status")).to_have_text("paid")
    expect(order).to_contain_text(f"1 \u00d7 {PRODUCT} (Ruby)")
    expect(order).to_contain_text("Mia Chen, Portland, US")
    _screenshot(brand_page, "brand-orders")
    _screenshot(creator_page, "studio-earnings")
    order.get_by_test_id("order-ship").click()
    expect(order.get_by_test_id("status")).to_have_text("shipped")
    order.get_by_test_id("order-deliver").click()
    expect(order.get_by_test_id("status")).to_have_text("delivered")
    order.get_by_test_id("order-refund").click()
    expect(order.get_by_test_id("status")).to_have_text("refunded")
    expect(order.get_by_test_id("order-refund")).to_have_count(0)

    # The refund took the creator's commission back.
    creator_page.reload()
    expect(creator_page.get_by_test_id("earnings-total")).to_have_text("$0.00")


def test_brand_uploads_a_product_image_and_viewers_see_it_in_the_sheet_and_the_cart(
    brand_page: Page, browser: Browser, site: Site, people: Accounts, tmp_path: Path
) -> None:
    # Last in the module: the viewer's clicks and cart would count in the dashboard's funnel.
    page = brand_page
    page.goto("/brand/products")
    card = page.get_by_test_id("product").filter(has_text=PRODUCT)
    expect(card.get_by_test_id("product-image")).to_have_text("No image yet")

    # A text file named like a picture: refused in words, nothing stored.
    notes = tmp_path / "notes.png"
    notes.write_bytes(b"shopping list, not a picture")
    card.get_by_test_id("product-image-input").set_input_files(str(notes))
    expect(page.get_by_test_id("bo-error")).to_have_text(
        "This file is not an image we can read; send a JPEG, PNG or WebP picture."
    )
    expect(card.get_by_test_id("product-image").locator("img")).to_have_count(0)

    picture = tmp_path / "lipstick.png"
    Image.new("RGB", (600, 600), (190, 20, 60)).save(picture)
    card.get_by_test_id("product-image-input").set_input_files(str(picture))
    shown = card.get_by_test_id("product-image").locator("img")
    expect(shown).to_have_count(1)
    expect(page.get_by_test_id("bo-notice")).to_contain_text("New image")
    url = shown.get_attribute("src")
    assert url and url.startswith(f"/media/products/{people.product_id}/")
    _screenshot(page, "brand-products-image")

    viewer = browser.new_context(base_url=site.base_url, viewport=PHONE)
    watch = viewer.new_page()
    watch.goto(f"/watch/{people.episode_id}")
    watch.get_by_test_id("shop-button").click()
    item = watch.get_by_test_id("shop-item").filter(has_text=PRODUCT)
    expect(item.locator(".product-thumb img")).to_have_attribute("src", url)
    item.click()
    sheet = watch.get_by_test_id("product-sheet")
    expect(sheet.locator("[data-slot=image] img")).to_have_attribute("src", url)
    assert watch.evaluate(
        "() => document.querySelector('[data-slot=image] img').complete"
        " && document.querySelector('[data-slot=image] img').naturalWidth > 0"
    )

    added = watch.request.post("/api/cart/items", data={"variant_id": people.variant_id})
    assert added.status == 201, added.text()
    watch.goto("/cart")
    expect(watch.locator(".thumb img").first).to_have_attribute("src", url)
    viewer.close()
