"""Monthly statements are read from the ledger and tie out with it to the unit."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Role
from microdrama.config import Settings
from microdrama.db import utcnow
from microdrama.payouts.service import Month
from microdrama.wallet import ledger
from microdrama.wallet.models import Currency, LedgerAccount, LedgerAccountKind
from tests.support.accounts import signed_in
from tests.support.payouts import backdate, brand_sale, earn_from_unlocks, refund, refund_order


def _earnings_balance(
    factory: sessionmaker[Session], owner_id: int, kind: LedgerAccountKind
) -> int:
    with factory() as db:
        account = ledger.ledger_account(
            db=db,
            kind=kind,
            currency=(
                Currency.coin if kind == LedgerAccountKind.creator_earnings else Currency.usd
            ),
            owner_id=owner_id,
        )
        assert isinstance(account, LedgerAccount)
        return account.balance


def _last_month_mid() -> datetime:
    first = Month.of(utcnow()).starts_at
    return (first - timedelta(days=1)).replace(hour=12, tzinfo=UTC)


def test_creator_statement_groups_the_month_and_closes_at_the_ledger_balance(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    creator, creator_id = signed_in(db_factory, settings, role=Role.creator, name="Studio Nova")
    _, viewer_id = signed_in(db_factory, settings, role=Role.viewer, name="Fan")
    earlier, *unlocks = earn_from_unlocks(
        db_factory, settings, creator_id=creator_id, viewer_id=viewer_id,
        prices=[100, 200, 300, 500],
    )  # fmt: skip
    backdate(db_factory, earlier, _last_month_mid())
    refund(db_factory, unlocks[0])  # the 200-coin unlock: its 120 coins are taken back

    month = str(Month.of(utcnow()))
    statement = client.get(f"/api/studio/statements/{month}", headers=creator).json()
    (coins,) = statement["currencies"]
    assert coins["currency"] == "COIN"
    assert coins["opening_balance"] == 60  # last month's unlock of 100 coins
    lines = {line["category"]: (line["count"], line["amount"]) for line in coins["lines"]}
    assert lines == {"unlock_share": (3, 120 + 180 + 300), "refunds": (1, -120)}
    assert coins["closing_balance"] == 60 + 600 - 120
    assert coins["closing_balance"] == _earnings_balance(
        db_factory, creator_id, LedgerAccountKind.creator_earnings
    )
    assert [e["balance_after"] for e in coins["entries"]] == [180, 360, 660, 540]

    previous = str(Month.of(_last_month_mid()))
    before = client.get(f"/api/studio/statements/{previous}", headers=creator).json()
    assert (
        before["currencies"][0]["opening_balance"],
        before["currencies"][0]["closing_balance"],
    ) == (0, 60)

    exported = client.get(f"/api/studio/statements/{month}.csv", headers=creator)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert f'filename="statement-{month}.csv"' in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert rows[0]["kind"] == "opening_balance" and rows[0]["balance"] == "60"
    assert rows[-1]["kind"] == "closing_balance" and rows[-1]["balance"] == "540"
    assert sum(int(r["amount"]) for r in rows[1:-1]) == 540 - 60

    page = client.get(f"/studio/statements/{month}", headers=creator)
    assert page.status_code == 200 and "Unlock share" in page.text and "540" in page.text
    with db_factory() as db:
        assert ledger.verify(db=db) == []


def test_shop_orders_show_as_brand_revenue_and_commission_with_refunds_netted(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    brand, brand_id = signed_in(db_factory, settings, role=Role.brand, name="Luma Beauty")
    creator, creator_id = signed_in(db_factory, settings, role=Role.creator, name="Studio Nova")
    brand_sale(db_factory, brand_id=brand_id, cents=4_900, creator_id=creator_id,
               commission_cents=588, fee_cents=490)  # fmt: skip
    refunded = brand_sale(db_factory, brand_id=brand_id, cents=2_500, creator_id=creator_id,
                          commission_cents=300, fee_cents=250)  # fmt: skip
    refund_order(db_factory, refunded)
    month = str(Month.of(utcnow()))
    (dollars,) = client.get(f"/api/brand/statements/{month}", headers=brand).json()["currencies"]
    assert dollars["currency"] == "USD"
    assert dollars["lines"] == [
        {"category": "commerce", "label": "Brand revenue", "count": 2, "amount": 7_400},
        {"category": "refunds", "label": "Refunds and reversals", "count": 1, "amount": -2_500},
    ]
    assert (
        dollars["closing_balance"]
        == 4_900
        == _earnings_balance(db_factory, brand_id, LedgerAccountKind.brand_revenue)
    )
    (commission,) = client.get(f"/api/studio/statements/{month}", headers=creator).json()[
        "currencies"
    ]
    assert (commission["currency"], commission["closing_balance"]) == ("USD", 588)
    assert commission["lines"][0] == {
        "category": "commerce", "label": "Commission", "count": 2, "amount": 888
    }  # fmt: skip
    with db_factory() as db:
        assert ledger.verify(db=db) == []

    for bad in ("2026-13", "26-11", "2999-01", "latest"):
        answer = client.get(f"/api/brand/statements/{bad}", headers=brand)
        assert answer.status_code in (404, 422), bad
        if answer.status_code == 422:
            assert answer.json()["error"] in ("invalid_month", "invalid_request")


def test_each_earner_sees_only_their_own_statements(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    creator, creator_id = signed_in(db_factory, settings, role=Role.creator, name="Studio Nova")
    other, _ = signed_in(db_factory, settings, role=Role.creator, name="Other Studio")
    brand, _ = signed_in(db_factory, settings, role=Role.brand, name="Luma Beauty")
    _, viewer_id = signed_in(db_factory, settings, role=Role.viewer, name="Fan")
    earn_from_unlocks(
        db_factory, settings, creator_id=creator_id, viewer_id=viewer_id, prices=[100]
    )
    month = str(Month.of(utcnow()))
    assert client.get(f"/api/studio/statements/{month}", headers=other).json()["currencies"] == []
    assert client.get("/api/studio/earnings", headers=other).json()["accounts"] == []
    assert client.get(f"/api/studio/statements/{month}", headers=brand).status_code == 403
    assert client.get("/api/brand/earnings", headers=creator).status_code == 403
    assert client.get("/studio/statements", headers=brand).status_code == 403
