"""Refunds reverse purchases through the provider's event; VIP passes start, chain, expire,
renew and are revoked."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Account
from microdrama.catalog.models import Episode
from microdrama.config import Settings
from microdrama.db import run_money_transaction, session_scope, utcnow
from microdrama.payments.models import Purchase, PurchaseStatus, VipPass
from microdrama.payments.renewals import renew_due_vip_passes
from microdrama.payments.vip import active_vip, vip_status
from microdrama.paywall import entitlement as paywall
from microdrama.wallet import ledger, unlocks
from microdrama.wallet.models import LedgerTransaction
from tests.support.factories import make_series
from tests.support.payments import admin_headers, balance, buy_coins, pay, start_purchase, viewer


def _refund(app: FastAPI, headers: dict[str, str], purchase_id: int) -> dict[str, Any]:
    answer = TestClient(app).post(
        f"/api/admin/purchases/{purchase_id}/refund",
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _buy_vip(client: TestClient, plan: str = "weekly") -> int:
    created = start_purchase(client, vip_plan=plan)
    assert pay(client, created["checkout_url"]).status_code == 303
    return int(created["id"])


def test_refund_reverses_the_money_and_takes_back_unspent_coins(
    app: FastAPI, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    client, account_id = viewer(app)
    purchase_id = buy_coins(client, "coins_1000")
    assert balance(client) == (1000, 100)
    # The viewer spends 250 coins before the refund: 100 bonus first, then 150 paid.
    with session_scope(db_factory) as db:
        series = make_series(db, episodes=1)
        creator_id = series.owner_id

    def spend(db: Session) -> None:
        unlocks.spend_for_unlock(
            db=db,
            settings=settings,
            viewer_id=account_id,
            charge=unlocks.UnlockCharge(
                creator_id=creator_id,
                price_coins=250,
                reference=f"test-unlock:{account_id}",
                memo="test unlock",
            ),
        )

    run_money_transaction(db_factory, spend)
    assert balance(client) == (850, 0)

    refunded = _refund(app, admin_headers(db_factory, settings), purchase_id)
    assert refunded["status"] == "refunded" and refunded["refunded_at"]
    assert balance(client) == (0, 0)  # the 850 unspent paid coins went back
    with session_scope(db_factory) as db:
        refund = db.scalar(
            select(LedgerTransaction).where(
                LedgerTransaction.reference == f"refund:purchase:{purchase_id}"
            )
        )
        assert refund is not None and refund.details["coins_taken_back"] == 850
        assert ledger.verify(db=db) == []

    again = client.post(
        f"/api/admin/purchases/{purchase_id}/refund",
        headers={**admin_headers(db_factory, settings), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert again.status_code == 409 and again.json()["error"] == "not_refundable"


def test_refunds_are_for_admins_and_paid_purchases_only(
    app: FastAPI, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    client, _ = viewer(app)
    purchase_id = buy_coins(client, "coins_500")
    mine = client.post(
        f"/api/admin/purchases/{purchase_id}/refund", headers={"Idempotency-Key": "k1"}
    )
    assert mine.status_code in (401, 403)
    pending = start_purchase(client, coin_pack="coins_100")
    answer = client.post(
        f"/api/admin/purchases/{pending['id']}/refund",
        headers={**admin_headers(db_factory, settings), "Idempotency-Key": "k2"},
    )
    assert answer.status_code == 409
    assert balance(client) == (500, 0)


def test_vip_is_active_after_paying_and_inactive_after_expiry(
    app: FastAPI, db_factory: sessionmaker[Session]
) -> None:
    client, account_id = viewer(app)
    assert client.get("/api/vip").json() == {
        "active": False,
        "plan": None,
        "plan_name": None,
        "ends_at": None,
        "auto_renew": False,
    }
    _buy_vip(client)
    vip = client.get("/api/vip").json()
    assert vip["active"] is True and vip["plan"] == "weekly" and vip["auto_renew"] is True

    with session_scope(db_factory) as db:
        vip_pass = active_vip(db=db, account_id=account_id, now=utcnow())
        assert vip_pass is not None
        assert vip_pass.ends_at - vip_pass.starts_at == timedelta(days=7)
        after = vip_pass.ends_at + timedelta(seconds=1)
        assert active_vip(db=db, account_id=account_id, now=after) is None
        assert vip_status(db=db, account_id=account_id, now=after).active is False


def test_a_second_vip_purchase_starts_when_the_first_ends(
    app: FastAPI, db_factory: sessionmaker[Session]
) -> None:
    client, account_id = viewer(app)
    _buy_vip(client, "weekly")
    _buy_vip(client, "monthly")
    with session_scope(db_factory) as db:
        passes = db.scalars(
            select(VipPass).where(VipPass.account_id == account_id).order_by(VipPass.id)
        ).all()
        assert passes[1].starts_at == passes[0].ends_at
        assert passes[1].ends_at - passes[0].starts_at == timedelta(days=37)
    assert client.get("/api/vip").json()["ends_at"].startswith(passes[1].ends_at.date().isoformat())


def test_renewal_charges_the_saved_card_and_extends_vip(
    app: FastAPI, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    client, account_id = viewer(app)
    _buy_vip(client, "weekly")
    with session_scope(db_factory) as db:
        first = active_vip(db=db, account_id=account_id, now=utcnow())
        assert first is not None
    an_hour_before_end = first.ends_at - timedelta(hours=1)
    too_early = first.ends_at - timedelta(days=2)

    early = run_money_transaction(
        db_factory,
        lambda db: renew_due_vip_passes(db=db, settings=settings, now=too_early),
    )
    assert early == []
    renewals = run_money_transaction(
        db_factory,
        lambda db: renew_due_vip_passes(db=db, settings=settings, now=an_hour_before_end),
    )
    assert [r.status for r in renewals] == ["paid"]
    # Running again renews nothing more: the new pass is now the end of the chain.
    assert (
        run_money_transaction(
            db_factory,
            lambda db: renew_due_vip_passes(db=db, settings=settings, now=an_hour_before_end),
        )
        == []
    )
    with session_scope(db_factory) as db:
        after_first = first.ends_at + timedelta(hours=1)
        second = active_vip(db=db, account_id=account_id, now=after_first)
        assert second is not None and second.id != first.id
        assert second.starts_at == first.ends_at
        assert second.ends_at == first.ends_at + timedelta(days=7)
        renewal = db.get(Purchase, renewals[0].purchase_id)
        assert renewal is not None and renewal.status == PurchaseStatus.paid
        assert renewal.amount_cents == 1999
        assert ledger.verify(db=db) == []


def test_auto_renew_off_lets_vip_lapse(
    app: FastAPI, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    client, account_id = viewer(app)
    _buy_vip(client)
    off = client.post("/api/vip/auto-renew", json={"enabled": False})
    assert off.status_code == 200 and off.json()["auto_renew"] is False
    with session_scope(db_factory) as db:
        vip_pass = active_vip(db=db, account_id=account_id, now=utcnow())
        assert vip_pass is not None
    renewals = run_money_transaction(
        db_factory,
        lambda db: renew_due_vip_passes(
            db=db, settings=settings, now=vip_pass.ends_at - timedelta(hours=1)
        ),
    )
    assert renewals == []
    nobody, _ = viewer(app)
    assert nobody.post("/api/vip/auto-renew", json={"enabled": True}).status_code == 409


def test_refunded_vip_is_revoked_at_once(
    app: FastAPI, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    client, account_id = viewer(app)
    purchase_id = _buy_vip(client)
    assert client.get("/api/vip").json()["active"] is True
    _refund(app, admin_headers(db_factory, settings), purchase_id)
    assert client.get("/api/vip").json()["active"] is False
    with session_scope(db_factory) as db:
        assert active_vip(db=db, account_id=account_id, now=utcnow()) is None
        assert ledger.verify(db=db) == []


def test_vip_plays_locked_episodes_until_it_expires(
    app: FastAPI, db_factory: sessionmaker[Session]
) -> None:
    client, account_id = viewer(app)
    with session_scope(db_factory) as db:
        series = make_series(db, episodes=4, free_episodes=2)
        series_id = series.id
    _buy_vip(client)
    with session_scope(db_factory) as db:
        episode = db.scalar(
            select(Episode).where(Episode.series_id == series_id, Episode.number == 4)
        )
        viewer_account = db.get(Account, account_id)
        vip_pass = active_vip(db=db, account_id=account_id, now=utcnow())
        assert episode is not None and vip_pass is not None
        now = paywall.entitlement(db=db, viewer=viewer_account, episode=episode)
        assert (now.allowed, now.reason) == (True, "vip")
        later = paywall.entitlement(
            db=db,
            viewer=viewer_account,
            episode=episode,
            now=vip_pass.ends_at + timedelta(minutes=1),
        )
        assert (later.allowed, later.reason) == (False, "locked")
