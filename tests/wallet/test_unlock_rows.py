"""An unlock writes exactly these rows, on SQLite (statement by statement) and on PostgreSQL
(one data-modifying statement, docs/performance.md): the same test, the same rows expected."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from microdrama import idempotency
from microdrama.accounts.models import Account
from microdrama.config import Settings
from microdrama.db import run_money_transaction, utcnow
from microdrama.idempotency import IdempotencyRecord
from microdrama.paywall import service as paywall
from microdrama.paywall.models import Unlock, UnlockMethod
from microdrama.wallet import ledger, unlocks
from microdrama.wallet.models import (
    BonusLot,
    Currency,
    LedgerAccount,
    LedgerAccountKind,
    LedgerEntry,
    LedgerTransaction,
)
from tests.support.factories import make_series
from tests.support.wallet import entries_of, top_up


def _unlock_as_the_route_does(
    factory: sessionmaker[Session], settings: Settings, viewer_id: int, episode_id: int, key: str
) -> dict[str, Any]:
    (status, body), replayed = idempotency.run_idempotent(
        factory=factory,
        account_id=viewer_id,
        key=key,
        request_hash=f"unlock {episode_id}",
        keep_hours=24,
        effect=lambda db: (
            200,
            paywall.unlock_with_coins(
                db=db, settings=settings, viewer_id=viewer_id, episode_id=episode_id
            ),
        ),
    )
    assert status == 200 and not replayed
    return body


def _postings(db: Session, viewer_id: int) -> list[tuple[str, str, dict[str, Any], list[Any]]]:
    """The viewer's ledger transactions, oldest first: kind, memo, details and the entries
    (account kind and owner, amount) in the order they were written."""
    postings = []
    for transaction in db.scalars(
        select(LedgerTransaction)
        .where(LedgerTransaction.actor_id == viewer_id, LedgerTransaction.kind != "purchase")
        .order_by(LedgerTransaction.id)
    ):
        entries = entries_of(db, transaction.id)
        postings.append(
            (
                transaction.kind,
                transaction.memo,
                transaction.details,
                [(kind.value, owner, amount) for kind, owner, amount in entries],
            )
        )
    return postings


def test_an_unlock_paid_with_expired_and_live_bonus_writes_the_same_rows_on_every_backend(
    db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    series = make_series(db, title="Night Shift", episodes=3, free_episodes=0)
    series.episode_price_coins = 60
    viewer = Account(display_name="v")
    db.add(viewer)
    db.commit()
    v, creator, episode = viewer.id, series.owner_id, series.episodes[0]
    top_up(db_factory, settings, v, coins=100, bonus_coins=30, amount_cents=100)
    top_up(db_factory, settings, v, coins=0, bonus_coins=20, amount_cents=0)
    first_lot, _second_lot = db.scalars(
        select(BonusLot).where(BonusLot.owner_id == v).order_by(BonusLot.id)
    ).all()
    first_lot.expires_at = utcnow() - timedelta(minutes=1)
    db.commit()

    # Paid for: the 30 expired bonus coins go back first, then 20 live bonus + 40 paid.
    answer = _unlock_as_the_route_does(db_factory, settings, v, episode.id, key="first")
    # Refunded (the unlock is revoked), then bought again: the unlock row is revived.
    run_money_transaction(
        db_factory,
        lambda s: paywall.refund_unlock(db=s, viewer_id=v, episode_id=episode.id, reason="oops"),
    )
    again = _unlock_as_the_route_does(db_factory, settings, v, episode.id, key=uuid.uuid4().hex)

    assert answer == {
        "episode_id": episode.id,
        "allowed": True,
        "reason": "unlocked",
        "charged_coins": 60,
        "balance_coins": 60,
    }
    assert again["balance_coins"] == 60  # the refund's 20 bonus + 40 paid, spent again
    db.expire_all()
    facts = {"episode_id": episode.id, "series_id": series.id}
    paid = {"paid_coins": 40, "bonus_coins": 20, "creator_coins": 24}
    unlock_entries = [
        ("viewer_bonus", v, -20),
        ("promotions", None, 20),
        ("viewer_paid", v, -40),
        ("creator_earnings", creator, 24),
        ("platform_revenue", None, 16),
    ]
    postings = _postings(db, v)
    refund_id = postings[2][2]["refunded_transaction_id"]
    assert postings == [
        (
            "bonus_expiry",
            "30 bonus coins expired",
            {"lots": [first_lot.id]},
            [("viewer_bonus", v, -30), ("promotions", None, 30)],
        ),
        ("unlock", "Unlocked episode 1 of Night Shift", {**facts, **paid}, unlock_entries),
        (
            "unlock_refund",
            "oops",
            {"refunded_transaction_id": refund_id},
            [(kind, owner, -amount) for kind, owner, amount in unlock_entries],
        ),
        ("unlock", "Unlocked episode 1 of Night Shift", {**facts, **paid}, unlock_entries),
    ]
    unlock_ids = db.scalars(
        select(LedgerTransaction.id)
        .where(LedgerTransaction.actor_id == v, LedgerTransaction.kind == "unlock")
        .order_by(LedgerTransaction.id)
    ).all()
    assert refund_id == unlock_ids[0]
    balances = {
        account.kind.value: account.balance
        for account in db.scalars(
            select(LedgerAccount).where(LedgerAccount.owner_id.in_([v, creator]))
        )
    }
    assert balances == {"viewer_paid": 60, "viewer_bonus": 0, "creator_earnings": 24}
    lots = db.execute(
        select(BonusLot.source, BonusLot.granted, BonusLot.remaining)
        .where(BonusLot.owner_id == v)
        .order_by(BonusLot.id)
    ).all()
    assert [tuple(lot) for lot in lots] == [
        ("pack_bonus", 30, 0),
        ("pack_bonus", 20, 0),
        ("refund", 20, 0),
    ]
    unlock = db.get(Unlock, (v, episode.id))
    assert unlock is not None
    assert (
        unlock.series_id,
        unlock.method,
        unlock.price_coins,
        unlock.ledger_transaction_id,
        unlock.revoked_at,
    ) == (series.id, UnlockMethod.coins, 60, unlock_ids[1], None)
    record = db.get(IdempotencyRecord, (v, "first"))
    assert record is not None
    assert (record.status_code, record.response) == (200, answer)
    assert ledger.verify(db=db) == []


def _paid_through_the_ledger(
    db: Session, settings: Settings, viewer_id: int, creator_id: int, price_coins: int
) -> None:
    """The same unlock written by the ledger's general posting (`ledger.post`, ORM rows): bonus
    coins first, soonest-expiring lot first, then paid coins; the creator's share of the paid
    coins to their earnings, the rest to the platform."""
    kind = LedgerAccountKind
    paid, bonus = ledger.ensure_wallet(db=db, account_id=viewer_id)
    lots = db.scalars(
        select(BonusLot)
        .where(BonusLot.owner_id == viewer_id, BonusLot.remaining > 0)
        .order_by(BonusLot.expires_at, BonusLot.id)
    ).all()
    bonus_used = min(sum(lot.remaining for lot in lots), price_coins)
    paid_used = price_coins - bonus_used
    to_creator = unlocks.creator_share(
        share_percent=settings.creator_revenue_share_percent, paid_coins=paid_used
    )
    left = bonus_used
    for lot in lots:
        take = min(lot.remaining, left)
        lot.remaining -= take
        left -= take

    def account(k: LedgerAccountKind, owner: int | None = None) -> LedgerAccount:
        return ledger.ledger_account(db=db, kind=k, currency=Currency.coin, owner_id=owner)

    ledger.post(
        db=db,
        kind="unlock",
        legs=[
            (bonus, -bonus_used),
            (account(kind.promotions), bonus_used),
            (paid, -paid_used),
            (account(kind.creator_earnings, creator_id), to_creator),
            (account(kind.platform_revenue), paid_used - to_creator),
        ],
        reference=f"twin:{viewer_id}",
        actor_id=viewer_id,
        memo="Unlocked episode 2 of Twins",
        details={"paid_coins": paid_used, "bonus_coins": bonus_used, "creator_coins": to_creator},
    )


def _written(db: Session, viewer_id: int, creator_id: int) -> dict[str, Any]:
    """What the viewer's unlock left in the books, with the two people named by their role."""
    role = {viewer_id: "viewer", creator_id: "creator", None: "platform"}
    transaction = db.scalars(
        select(LedgerTransaction).where(
            LedgerTransaction.actor_id == viewer_id, LedgerTransaction.kind == "unlock"
        )
    ).one()
    entries = db.execute(
        select(LedgerAccount.kind, LedgerAccount.owner_id, LedgerEntry.amount)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.ledger_account_id)
        .where(LedgerEntry.transaction_id == transaction.id)
        .order_by(LedgerEntry.id)
    ).all()
    balances = db.execute(
        select(LedgerAccount.kind, LedgerAccount.balance).where(
            LedgerAccount.owner_id.in_([viewer_id, creator_id])
        )
    ).all()
    lots = db.scalars(
        select(BonusLot.remaining).where(BonusLot.owner_id == viewer_id).order_by(BonusLot.id)
    ).all()
    return {
        "transaction": (transaction.kind, transaction.memo, transaction.details),
        "entries": [(kind.value, role[owner], amount) for kind, owner, amount in entries],
        "balances": sorted((kind.value, balance) for kind, balance in balances),
        "lots": list(lots),
    }


def test_the_fast_unlock_writes_the_rows_the_ledgers_general_posting_writes(
    db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    twins = [Account(display_name=name) for name in ("fast", "fast's creator", "slow", "slow's")]
    db.add_all(twins)
    db.commit()
    fast, fast_creator, slow, slow_creator = (account.id for account in twins)
    for viewer in (fast, slow):
        top_up(db_factory, settings, viewer, coins=100, bonus_coins=30, amount_cents=100)
        top_up(db_factory, settings, viewer, coins=0, bonus_coins=20, amount_cents=0)

    run_money_transaction(
        db_factory,
        lambda s: unlocks.spend_for_unlock(
            db=s,
            settings=settings,
            viewer_id=fast,
            charge=unlocks.UnlockCharge(
                creator_id=fast_creator,
                price_coins=90,
                reference=f"twin:{fast}",
                memo="Unlocked episode 2 of Twins",
            ),
        ),
    )
    run_money_transaction(
        db_factory, lambda s: _paid_through_the_ledger(s, settings, slow, slow_creator, 90)
    )

    db.expire_all()
    written = _written(db, fast, fast_creator)
    assert written == _written(db, slow, slow_creator)
    # 50 bonus coins (the 30 of the first lot, then 20) and 40 paid; the creator's share of 40.
    assert written["lots"] == [0, 0]
    assert written["balances"] == [
        ("creator_earnings", 24),
        ("viewer_bonus", 0),
        ("viewer_paid", 60),
    ]
    assert ledger.verify(db=db) == []
