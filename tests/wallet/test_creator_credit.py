"""The creator's share of an unlock reaches their earnings when the unlock commits, and only
then: the stored balance moves in the last statement before COMMIT (docs/performance.md)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Account
from microdrama.config import Settings
from microdrama.db import run_money_transaction
from microdrama.paywall import service as paywall
from microdrama.wallet import ledger, viewer_coins
from microdrama.wallet.models import LedgerAccount, LedgerAccountKind
from tests.support.factories import make_series
from tests.support.wallet import top_up


def _earnings(db: Session, creator_id: int) -> int:
    account = db.scalar(
        select(LedgerAccount).where(
            LedgerAccount.kind == LedgerAccountKind.creator_earnings,
            LedgerAccount.owner_id == creator_id,
        )
    )
    return ledger.account_balance(db=db, account=account) if account is not None else 0


def test_creator_earnings_move_with_the_unlock_that_commits_and_not_with_one_rolled_back(
    db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    series = make_series(db, episodes=3, free_episodes=0)
    viewer = Account(display_name="v")
    db.add(viewer)
    db.commit()
    episodes = [e.id for e in series.episodes]
    top_up(db_factory, settings, viewer.id, coins=500)

    def unlock(session: Session, episode_id: int) -> dict[str, object]:
        return paywall.unlock_with_coins(
            db=session, settings=settings, viewer_id=viewer.id, episode_id=episode_id
        )

    run_money_transaction(db_factory, lambda s: unlock(s, episodes[0]))
    with db_factory() as session:
        assert _earnings(session, series.owner_id) == 36  # 60 % of 60 coins
        unlock(session, episodes[1])
        # Read in the same transaction, the balance already counts the pending credit.
        assert _earnings(session, series.owner_id) == 72
        session.rollback()
        # The session goes on after the rollback: nothing of that unlock is left behind.
        unlock(session, episodes[2])
        session.commit()
    with db_factory() as session:
        assert _earnings(session, series.owner_id) == 72
        assert viewer_coins.balances(db=session, account_id=viewer.id).total == 500 - 120
        assert ledger.verify(db=session) == []
