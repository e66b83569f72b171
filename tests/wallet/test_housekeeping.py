"""The periodic chores: expired bonus coins leave, old idempotency keys are forgotten."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Account
from microdrama.config import Settings
from microdrama.db import utcnow
from microdrama.housekeeping import run_once
from microdrama.wallet import service as wallet
from microdrama.wallet.models import BonusLot, IdempotencyRecord
from tests.wallet.money import top_up


def test_housekeeping_expires_bonus_and_forgets_day_old_keys(
    db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    viewer = Account(display_name="v")
    db.add(viewer)
    db.commit()
    top_up(db_factory, settings, viewer.id, coins=100, bonus_coins=40)
    with db_factory() as session:
        for lot in session.scalars(select(BonusLot)):
            lot.expires_at = utcnow() - timedelta(hours=1)
        session.add_all(
            [
                IdempotencyRecord(account_id=viewer.id, key="old", request_hash="h",
                                  created_at=utcnow() - timedelta(hours=25)),
                IdempotencyRecord(account_id=viewer.id, key="new", request_hash="h"),
            ]
        )  # fmt: skip
        session.commit()

    chores = run_once(factory=db_factory, settings=settings)

    assert chores.bonus_coins_expired == 40
    assert chores.idempotency_keys_forgotten == 1
    with db_factory() as session:
        assert wallet.balances(db=session, account_id=viewer.id).total == 100
        assert [r.key for r in session.scalars(select(IdempotencyRecord))] == ["new"]
        assert wallet.verify(db=session) == []
