"""Payout requests: held while pending, moved through the ledger when approved and paid."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Role
from microdrama.config import Settings
from microdrama.db import utcnow
from microdrama.payouts.service import Month
from microdrama.wallet import ledger
from microdrama.wallet.models import Currency, LedgerAccountKind
from tests.support.accounts import signed_in
from tests.support.payouts import brand_sale, earn_from_unlocks, refund

Headers = dict[str, str]


def _key(headers: Headers, key: str | None = None) -> Headers:
    return {**headers, "Idempotency-Key": key or uuid.uuid4().hex}


def _platform_balance(
    factory: sessionmaker[Session], kind: LedgerAccountKind, currency: Currency
) -> int:
    with factory() as db:
        account = ledger.ledger_account(db=db, kind=kind, currency=currency)
        return ledger.account_balance(db=db, account=account)


def test_a_creator_is_paid_out_through_the_ledger_and_the_statement_ties_out(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    creator, creator_id = signed_in(db_factory, settings, role=Role.creator, name="Studio Nova")
    admin, _ = signed_in(db_factory, settings, role=Role.admin, name="Operator")
    _, viewer_id = signed_in(db_factory, settings, role=Role.viewer, name="Fan")
    earn_from_unlocks(
        db_factory, settings, creator_id=creator_id, viewer_id=viewer_id, prices=[2000, 3000]
    )  # the creator earns 1,200 + 1,800 = 3,000 coins
    cash_before = _platform_balance(db_factory, LedgerAccountKind.platform_cash, Currency.usd)

    too_small = client.post(
        "/api/studio/payouts", json={"currency": "COIN", "amount": 500}, headers=_key(creator)
    )
    assert (too_small.status_code, too_small.json()["error"]) == (422, "payout_below_minimum")
    assert too_small.json()["minimum_cents"] == 1000
    too_big = client.post(
        "/api/studio/payouts", json={"currency": "COIN", "amount": 3001}, headers=_key(creator)
    )
    assert (too_big.status_code, too_big.json()["available"]) == (409, 3000)
    no_key = client.post(
        "/api/studio/payouts", json={"currency": "COIN", "amount": 2000}, headers=creator
    )
    assert no_key.status_code == 400

    key = uuid.uuid4().hex
    first = client.post(
        "/api/studio/payouts", json={"currency": "COIN", "amount": 2000}, headers=_key(creator, key)
    )
    assert first.status_code == 201, first.text
    replay = client.post(
        "/api/studio/payouts", json={"currency": "COIN", "amount": 2000}, headers=_key(creator, key)
    )
    assert replay.json() == first.json() and replay.headers["Idempotent-Replayed"] == "true"
    payout = first.json()
    assert (payout["status"], payout["amount_cents"]) == ("pending", 2000 * 998 // 1000)

    (coins,) = client.get("/api/studio/earnings", headers=creator).json()["accounts"]
    assert (coins["balance"], coins["pending"], coins["available"]) == (3000, 2000, 1000)
    held = client.post(
        "/api/studio/payouts", json={"currency": "COIN", "amount": 1500}, headers=_key(creator)
    )
    assert (held.status_code, held.json()["available"]) == (409, 1000)

    # Only an admin decides, once.
    assert (
        client.post(f"/api/admin/payouts/{payout['id']}/approve", headers=_key(creator)).status_code
        == 403
    )
    approved = client.post(f"/api/admin/payouts/{payout['id']}/approve", headers=_key(admin))
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    again = client.post(f"/api/admin/payouts/{payout['id']}/approve", headers=_key(admin))
    assert (again.status_code, again.json()["error"]) == (409, "payout_already_decided")
    assert _platform_balance(db_factory, LedgerAccountKind.payouts_payable, Currency.coin) == 2000

    paid = client.post(f"/api/admin/payouts/{payout['id']}/paid", headers=_key(admin))
    assert paid.json()["status"] == "paid"
    assert _platform_balance(db_factory, LedgerAccountKind.payouts_payable, Currency.coin) == 0
    cash_after = _platform_balance(db_factory, LedgerAccountKind.platform_cash, Currency.usd)
    assert cash_before - cash_after == 1996

    (coins,) = client.get("/api/studio/earnings", headers=creator).json()["accounts"]
    assert (coins["balance"], coins["pending"], coins["available"]) == (1000, 0, 1000)
    month = str(Month.of(utcnow()))
    (section,) = client.get(f"/api/studio/statements/{month}", headers=creator).json()["currencies"]
    lines = {line["category"]: line["amount"] for line in section["lines"]}
    assert lines == {"unlock_share": 3000, "payouts": -2000}
    assert section["closing_balance"] == coins["balance"] == 1000
    with db_factory() as db:
        assert ledger.verify(db=db) == []


def test_a_rejected_payout_moves_nothing_and_releases_the_hold(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    brand, brand_id = signed_in(db_factory, settings, role=Role.brand, name="Luma Beauty")
    admin, _ = signed_in(db_factory, settings, role=Role.admin, name="Operator")
    brand_sale(db_factory, brand_id=brand_id, cents=5_000)
    coins = client.post(
        "/api/brand/payouts", json={"currency": "COIN", "amount": 5_000}, headers=_key(brand)
    )
    assert (coins.status_code, coins.json()["error"]) == (404, "no_earnings")
    payout = client.post(
        "/api/brand/payouts", json={"currency": "USD", "amount": 4_000}, headers=_key(brand)
    ).json()
    assert (
        client.get("/api/brand/earnings", headers=brand).json()["accounts"][0]["available"] == 1_000
    )

    no_reason = client.post(
        f"/api/admin/payouts/{payout['id']}/reject", json={"reason": " "}, headers=_key(admin)
    )
    assert no_reason.status_code == 422
    rejected = client.post(
        f"/api/admin/payouts/{payout['id']}/reject",
        json={"reason": "Bank details missing"},
        headers=_key(admin),
    )
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["rejection_reason"] == "Bank details missing"
    cannot_pay = client.post(f"/api/admin/payouts/{payout['id']}/paid", headers=_key(admin))
    assert cannot_pay.status_code == 409
    (dollars,) = client.get("/api/brand/earnings", headers=brand).json()["accounts"]
    assert (dollars["balance"], dollars["pending"], dollars["available"]) == (5_000, 0, 5_000)
    listed = client.get("/api/admin/payouts?status=rejected", headers=admin).json()
    assert [(p["id"], p["account_name"]) for p in listed] == [(payout["id"], "Luma Beauty")]
    assert client.get("/api/admin/payouts?status=nonsense", headers=admin).status_code == 422
    assert client.post("/api/admin/payouts/999999/approve", headers=_key(admin)).status_code == 404

    # A dollar payout leaves through payment clearing when paid.
    second = client.post(
        "/api/brand/payouts", json={"currency": "USD", "amount": 5_000}, headers=_key(brand)
    ).json()
    client.post(f"/api/admin/payouts/{second['id']}/approve", headers=_key(admin))
    client.post(f"/api/admin/payouts/{second['id']}/paid", headers=_key(admin))
    assert _platform_balance(db_factory, LedgerAccountKind.payment_clearing, Currency.usd) == 0
    with db_factory() as db:
        assert ledger.verify(db=db) == []


def test_the_admin_sets_the_payout_minimum(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    brand, brand_id = signed_in(db_factory, settings, role=Role.brand, name="Luma Beauty")
    admin, _ = signed_in(db_factory, settings, role=Role.admin, name="Operator")
    brand_sale(db_factory, brand_id=brand_id, cents=900)
    refused = client.post(
        "/api/brand/payouts", json={"currency": "USD", "amount": 900}, headers=_key(brand)
    )
    assert refused.status_code == 422
    client.put("/api/admin/settings", json={"payout_minimum_cents": 500}, headers=admin)
    accepted = client.post(
        "/api/brand/payouts", json={"currency": "USD", "amount": 900}, headers=_key(brand)
    )
    assert accepted.status_code == 201
    assert client.get("/api/brand/earnings", headers=brand).json()["minimum_payout_cents"] == 500


def test_a_refund_after_the_payout_leaves_the_creator_owing_until_the_next_earnings(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    creator, creator_id = signed_in(db_factory, settings, role=Role.creator, name="Studio Nova")
    admin, _ = signed_in(db_factory, settings, role=Role.admin, name="Operator")
    _, viewer_id = signed_in(db_factory, settings, role=Role.viewer, name="Fan")
    (first, _) = earn_from_unlocks(
        db_factory, settings, creator_id=creator_id, viewer_id=viewer_id, prices=[2000, 2000]
    )  # 1,200 + 1,200 coins earned
    payout = client.post(
        "/api/studio/payouts", json={"currency": "COIN", "amount": 2400}, headers=_key(creator)
    ).json()
    for step in ("approve", "paid"):
        answer = client.post(f"/api/admin/payouts/{payout['id']}/{step}", headers=_key(admin))
        assert answer.status_code == 200, answer.text

    refund(db_factory, first)  # support refunds an unlock whose share was already paid out

    (coins,) = client.get("/api/studio/earnings", headers=creator).json()["accounts"]
    assert (coins["balance"], coins["available"]) == (-1200, 0)
    nothing = client.post(
        "/api/studio/payouts", json={"currency": "COIN", "amount": 1100}, headers=_key(creator)
    )
    assert (nothing.status_code, nothing.json()["available"]) == (409, 0)
    earn_from_unlocks(
        db_factory, settings, creator_id=creator_id, viewer_id=viewer_id, prices=[5000]
    )  # the next 3,000 coins earned settle the debt first
    (coins,) = client.get("/api/studio/earnings", headers=creator).json()["accounts"]
    assert (coins["balance"], coins["available"]) == (1800, 1800)
    month = str(Month.of(utcnow()))
    (section,) = client.get(f"/api/studio/statements/{month}", headers=creator).json()["currencies"]
    assert section["closing_balance"] == 1800
    with db_factory() as db:
        assert ledger.verify(db=db) == []
