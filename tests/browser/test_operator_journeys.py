"""The operator's and earners' desk pages in a real Chromium: the admin changes the revenue
share and a coin pack; a creator asks for a payout, the admin approves and pays it, and the
creator's statement shows it, tying out with the ledger."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from microdrama.accounts import service as accounts
from microdrama.accounts.models import Role, SessionKind
from microdrama.admin import service as platform
from microdrama.config import Settings
from microdrama.db import make_engine, make_sessionmaker, session_scope, utcnow
from microdrama.payouts.service import Month
from microdrama.wallet import ledger
from microdrama.wallet.models import Currency, LedgerAccountKind
from tests.support.browser import SQLITE_ONLY, Site, _context, serve_site
from tests.support.payouts import earn_from_unlocks

pytestmark = [pytest.mark.browser, SQLITE_ONLY]


@pytest.fixture(scope="module")
def site(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve_site(database_url, tmp_path_factory, []) as served:
        yield served


def _signed_in(
    browser: Browser, site: Site, database_url: str, role: Role, name: str
) -> tuple[BrowserContext, int]:
    engine = make_engine(database_url)
    with session_scope(make_sessionmaker(engine)) as db:
        account = accounts.create_account(db=db, display_name=name, role=role)
        token, _ = accounts.start_session(
            db=db,
            settings=Settings(environment="test", database_url=database_url),
            account=account,
            kind=SessionKind.cookie,
        )
        account_id = account.id
    engine.dispose()
    context = _context(browser, site, phone=False)
    context.add_cookies([{"name": "md_session", "value": token, "url": site.base_url}])
    return context, account_id


def _shot(page: Page, name: str) -> None:
    shots = os.environ.get("MICRODRAMA_SCREENSHOTS")
    if shots:
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)


def _page(context: BrowserContext, errors: list[str]) -> Page:
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page


def test_operator_settings_and_a_payout_from_request_to_statement(
    browser: Browser, site: Site, database_url: str
) -> None:
    errors: list[str] = []
    admin_context, _ = _signed_in(
        browser, site, database_url, Role.admin, f"Operator {uuid.uuid4().hex[:6]}"
    )
    creator_context, creator_id = _signed_in(
        browser, site, database_url, Role.creator, "Studio Nova"
    )
    engine = make_engine(database_url)
    factory = make_sessionmaker(engine)
    settings = Settings(environment="test", database_url=database_url)
    with session_scope(factory) as db:
        fan = accounts.create_account(db=db, display_name="Fan")
        fan_id = fan.id
    earn_from_unlocks(factory, settings, creator_id=creator_id, viewer_id=fan_id, prices=[5_000])

    try:
        # The operator sets the share to 65 % and takes a pack off sale.
        admin = _page(admin_context, errors)
        admin.goto("/admin")
        expect(admin.get_by_test_id("admin-page")).to_have_attribute("aria-busy", "false")
        expect(admin.get_by_test_id("share-input")).to_have_value("60")
        admin.get_by_test_id("share-input").fill("65")
        admin.get_by_test_id("settings-save").click()
        expect(admin.get_by_test_id("bo-notice")).to_have_text("Settings saved.")
        expect(admin.get_by_test_id("settings-change")).to_have_count(1)
        expect(admin.get_by_test_id("settings-change")).to_contain_text("60")
        # The VIP share of the month so far (no VIP sold here: no pool to share).
        month = str(Month.of(utcnow()))
        admin.get_by_test_id("vip-share-month").fill(month)
        admin.get_by_test_id("vip-share-show").click()
        summary = admin.get_by_test_id("vip-share-summary")
        expect(summary).to_contain_text(f"{month}, so far (the month is not over)")
        expect(summary).to_contain_text("\u00d7 65 % = pool $0.00. Nothing to share: no pool")
        pack = admin.locator("[data-testid=pack-row][data-code=coins_500]")
        pack.locator("[name=price_cents]").fill("599")
        pack.locator("[name=active]").uncheck()
        pack.get_by_test_id("pack-save").click()
        _shot(admin, "admin")
        expect(admin.get_by_test_id("bo-notice")).to_contain_text(
            "Saved coins_500: 500 coins + 0 bonus for $5.99 (off sale)"
        )

        # The creator sees 3,000 coins and asks for 2,000 of them.
        creator = _page(creator_context, errors)
        creator.goto("/studio/statements")
        card = creator.locator("[data-testid=earnings-card][data-currency=COIN]")
        expect(card.get_by_test_id("earnings-available")).to_have_text("3,000 coins")
        creator.get_by_test_id("payout-amount").fill("2000")
        creator.get_by_test_id("payout-submit").click()
        expect(creator.get_by_test_id("bo-notice")).to_contain_text(
            "requested: 2,000 coins ($19.96)"
        )
        expect(card.get_by_test_id("earnings-available")).to_have_text("1,000 coins")
        creator.get_by_test_id("payout-amount").fill("1500")
        creator.get_by_test_id("payout-submit").click()
        expect(creator.get_by_test_id("bo-error")).to_contain_text("at most 1,000 coins")
        _shot(creator, "statements")

        # The operator approves it, then marks it paid.
        admin.goto("/admin/payouts")
        row = admin.get_by_test_id("admin-payout-row").filter(has_text="Studio Nova")
        row.get_by_test_id("payout-approve").click()
        expect(admin.get_by_test_id("bo-notice")).to_contain_text("is now approved")
        _shot(admin, "admin-payouts")
        admin.get_by_test_id("payout-filter").select_option("approved")
        admin.get_by_test_id("admin-payout-row").filter(has_text="Studio Nova").get_by_test_id(
            "payout-paid"
        ).click()
        expect(admin.get_by_test_id("bo-notice")).to_contain_text("is now paid")

        # The creator's request is paid and the month's statement closes at the ledger balance.
        creator.reload()
        expect(creator.get_by_test_id("payout-row")).to_have_attribute("data-status", "paid")
        creator.get_by_role("link", name="View / print").first.click()
        section = creator.locator("[data-testid=statement-section][data-currency=COIN]")
        expect(section.locator("[data-category=unlock_share]")).to_contain_text("3,000 coins")
        expect(section.locator("[data-category=payouts]")).to_contain_text("\u22122,000 coins")
        expect(section.get_by_test_id("closing-balance")).to_have_text("1,000 coins")
        _shot(creator, "statement")
        assert creator.url.endswith(f"/studio/statements/{Month.of(utcnow())}")
    finally:
        admin_context.close()
        creator_context.close()

    with factory() as db:
        assert platform.creator_revenue_share_percent(db) == 65
        earnings = ledger.ledger_account(
            db=db,
            kind=LedgerAccountKind.creator_earnings,
            currency=Currency.coin,
            owner_id=creator_id,
        )
        assert earnings.balance == 1_000
        assert ledger.verify(db=db) == []
    engine.dispose()
    assert not errors, errors
