"""The periodic chores: expired bonus coins leave; old idempotency keys, expired sessions and
old sign-in attempts are forgotten."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts import service as accounts
from microdrama.accounts.models import Account, AuthSession, LoginAttempt, SessionKind
from microdrama.config import Settings
from microdrama.db import utcnow
from microdrama.housekeeping import run_once
from microdrama.idempotency import IdempotencyRecord
from microdrama.wallet import ledger, viewer_coins
from microdrama.wallet.models import BonusLot
from tests.support.wallet import top_up


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
        assert viewer_coins.balances(db=session, account_id=viewer.id).total == 100
        assert [r.key for r in session.scalars(select(IdempotencyRecord))] == ["new"]
        assert ledger.verify(db=session) == []


def test_housekeeping_deletes_expired_sessions_and_old_sign_in_attempts(
    db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    viewer = Account(display_name="v")
    db.add(viewer)
    db.flush()
    live, _ = accounts.start_session(
        db=db, settings=settings, account=viewer, kind=SessionKind.cookie
    )
    ended, stale = accounts.start_session(
        db=db, settings=settings, account=viewer, kind=SessionKind.bearer
    )
    stale.expires_at = utcnow() - timedelta(minutes=1)
    long_ago = utcnow() - timedelta(days=settings.login_attempts_keep_days, hours=1)
    db.add_all(
        [
            LoginAttempt(email="a@example.com", ip="203.0.113.9", created_at=long_ago),
            LoginAttempt(email="a@example.com", ip="203.0.113.9"),
        ]
    )
    db.commit()

    chores = run_once(factory=db_factory, settings=settings)

    assert (chores.sessions_ended, chores.login_attempts_forgotten) == (1, 1)
    with db_factory() as session:
        assert session.scalar(select(func.count()).select_from(AuthSession)) == 1
        assert accounts.account_for_session(db=session, token=live, kind=SessionKind.cookie)
        assert not accounts.account_for_session(db=session, token=ended, kind=SessionKind.bearer)
        recent = session.scalars(select(LoginAttempt.created_at)).all()
        assert len(recent) == 1 and recent[0] > long_ago
