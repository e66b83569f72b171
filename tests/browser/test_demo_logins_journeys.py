"""Every role's demo login in a real Chromium: each journey starts on "About this demo" and
signs in with its one-click button, as a newcomer trying the demo would.

The server runs in development (the only environment with the about page) on the demo
accounts made by the seed's own function and a little content from the test factories, not
the whole video seed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from microdrama.accounts import brand_applications
from microdrama.accounts import service as accounts
from microdrama.accounts.schemas import BrandApplicationCreate
from microdrama.config import Settings
from microdrama.db import make_engine, make_sessionmaker, session_scope
from microdrama.demo.accounts import DEMO_VIEWER_COINS, ensure_demo_accounts
from microdrama.demo.brand import DEMO_PRODUCTS
from microdrama.demo.catalog import DEMO_SERIES
from microdrama.shop.catalog import service as shop_catalog
from tests.support.browser import SQLITE_ONLY, Site, _context
from tests.support.database import _empty_all_tables
from tests.support.factories import make_series
from tests.support.servers import running_server, server_env

pytestmark = [pytest.mark.browser, SQLITE_ONLY]

SERIES_TITLE = DEMO_SERIES[0].title
PRODUCT_TITLES = [p.title for p in DEMO_PRODUCTS[:2]]
APPLICANT_COMPANY = "Verde Tea Co."


@dataclass
class DemoSite:
    site: Site


@pytest.fixture(scope="module")
def demo_site(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    """A development server: the demo logins, the demo creator's series (a draft: the studio
    lists it, the feed stays quiet), two of Luma's products and one brand application."""
    data_dir = tmp_path_factory.mktemp("demo-logins")
    settings = Settings(environment="development", data_dir=data_dir, database_url=database_url)
    engine = make_engine(database_url)
    _empty_all_tables(engine)
    with session_scope(make_sessionmaker(engine)) as db:
        logins = ensure_demo_accounts(db=db, settings=settings)
        make_series(db, title=SERIES_TITLE, owner=logins.creator, published=False)
        for product in DEMO_PRODUCTS[:2]:
            shop_catalog.create_product(db=db, brand=logins.accounts["brand"], data=product)
        applicant = accounts.create_account(db=db, display_name="Mina")
        application = BrandApplicationCreate(
            company_name=APPLICANT_COMPANY,
            website="verde-tea.example",
            contact_email="mina@verde-tea.example",
            note="Loose-leaf teas for long binges.",
        )
        brand_applications.apply(db=db, account=applicant, data=application)
    engine.dispose()
    env = server_env(
        database_url=database_url, data_dir=data_dir, MICRODRAMA_ENVIRONMENT="development"
    )
    with running_server(env, data_dir / "server.log") as base_url:
        yield DemoSite(Site(base_url=base_url, data_dir=data_dir, series={}))


@pytest.fixture(params=["desktop", "phone"])
def tab(request: pytest.FixtureRequest, browser: Browser, demo_site: DemoSite) -> Iterator[Page]:
    """A fresh browser (desktop or phone) failing the test on page errors."""
    context = _context(browser, demo_site.site, phone=request.param == "phone")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


def _shot(page: Page, name: str) -> None:
    shots = os.environ.get("MICRODRAMA_SCREENSHOTS")
    if shots:
        size = page.viewport_size or {"width": 0}
        page.screenshot(path=str(Path(shots) / f"{name}-{size['width']}.png"), full_page=True)


def _open_account_menu_and_tap(page: Page, link: str) -> None:
    """The header's account menu holds About (in development) and the role links."""
    page.get_by_test_id("account-menu").click()
    page.get_by_test_id(link).click()


def _sign_in_from_about(page: Page, role: str) -> None:
    """From the feed's About link (in the account menu) to the role's one-click sign-in."""
    page.goto("/")
    _open_account_menu_and_tap(page, "about-link")
    expect(page.get_by_role("heading", name="About this demo")).to_be_visible()
    card = page.locator(f"[data-testid=demo-login][data-role={role}]")
    expect(card.get_by_test_id("demo-password")).not_to_be_empty()
    _shot(page, "about")
    card.get_by_test_id(f"sign-in-as-{role}").click()


def test_the_demo_viewer_signs_in_and_has_coins_to_spend(tab: Page) -> None:
    _sign_in_from_about(tab, "viewer")

    expect(tab.get_by_test_id("coin-pill")).to_contain_text(f"{DEMO_VIEWER_COINS}")
    _open_account_menu_and_tap(tab, "account-link")
    expect(tab.get_by_test_id("account-email")).to_have_text("viewer@demo.microdrama.test")


def test_the_demo_creator_reaches_the_studio_and_sees_the_demo_series(tab: Page) -> None:
    _sign_in_from_about(tab, "creator")

    expect(tab).to_have_url(f"{tab.url.split('/studio')[0]}/studio")
    expect(tab.get_by_test_id("studio-series").first).to_contain_text(SERIES_TITLE)
    _shot(tab, "creator-studio")


def test_the_demo_brand_sees_lumas_products(tab: Page) -> None:
    _sign_in_from_about(tab, "brand")

    products = tab.get_by_test_id("product-list")
    for title in PRODUCT_TITLES:
        expect(products).to_contain_text(title)
    expect(tab.get_by_test_id("account-link")).to_have_text("Luma Beauty")
    _shot(tab, "brand-products")


def test_the_demo_operator_approves_a_brand_and_looks_at_each_brands_pages(
    browser: Browser, demo_site: DemoSite
) -> None:
    # Desktop only: the operator's desk is a wide page, and the approval changes the data.
    context = _context(browser, demo_site.site, phone=False)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    _sign_in_from_about(page, "operator")

    expect(page.get_by_test_id("admin-page")).to_be_visible()
    application = page.get_by_test_id("brand-application").filter(has_text=APPLICANT_COMPANY)
    expect(application).to_contain_text("Mina")
    expect(application.get_by_test_id("application-status")).to_have_text("Waiting")
    _shot(page, "operator-admin")
    application.get_by_test_id("application-approve").click()
    expect(page.get_by_test_id("bo-notice")).to_have_text(f"{APPLICANT_COMPANY} is now a brand.")
    expect(application.get_by_test_id("application-status")).to_have_text("Approved")

    page.goto("/brand/products")
    picker = page.get_by_test_id("brand-select")
    expect(picker.locator("option:checked")).to_have_text("Luma Beauty")
    expect(page.get_by_test_id("product-list")).to_contain_text(PRODUCT_TITLES[0])
    picker.select_option(label=APPLICANT_COMPANY)
    expect(page.get_by_text("No products yet.")).to_be_visible()
    # The pick stays with the other brand pages, and their data is that brand's.
    page.get_by_role("link", name="Campaigns", exact=True).click()
    expect(page.get_by_test_id("brand-select").locator("option:checked")).to_have_text(
        APPLICANT_COMPANY
    )
    page.get_by_role("link", name="Products", exact=True).click()
    expect(page.get_by_text("No products yet.")).to_be_visible()
    page.get_by_test_id("brand-select").select_option(label="Luma Beauty")
    expect(page.get_by_test_id("product-list")).to_contain_text(PRODUCT_TITLES[1])
    _shot(page, "operator-brand-pick")
    context.close()
    assert not errors, errors
