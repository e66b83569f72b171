"""A Hypothesis state machine drives top-ups, unlocks, VIP, ad unlocks, refunds and expiry in
random orders; after every step the books must balance to the coin."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Account
from microdrama.config import Settings
from microdrama.db import make_sessionmaker, run_money_transaction, utcnow
from microdrama.errors import DomainError
from microdrama.payments.models import Purchase, PurchaseKind, PurchaseStatus, VipPass, VipPlan
from microdrama.paywall import service as paywall
from microdrama.paywall.models import UnlockMethod
from microdrama.wallet import ledger, viewer_coins
from microdrama.wallet.models import BonusLot, LedgerAccount, LedgerAccountKind, LedgerTransaction
from tests.support.database import _empty_all_tables
from tests.support.factories import make_series
from tests.support.wallet import top_up as credit_paid_pack

PACKS = [(99, 100, 0), (499, 500, 0), (999, 1000, 100), (1999, 2000, 200)]


def _make_machine(engine: Engine, app_settings: Settings) -> type[RuleBasedStateMachine]:
    factory: sessionmaker[Session] = make_sessionmaker(engine)

    class Books(RuleBasedStateMachine):
        @initialize()
        def setup(self) -> None:
            _empty_all_tables(engine)
            with factory() as db:
                series = make_series(db, episodes=6, free_episodes=1)
                series.episode_price_coins = 70
                self.viewers = [Account(display_name=f"v{n}") for n in range(2)]
                db.add_all(self.viewers)
                plan = VipPlan(code="weekly", name="Weekly", period_days=7, price_cents=1999)
                db.add(plan)
                db.commit()
                self.plan_id = plan.id
                self.episode_ids = [e.id for e in series.episodes]
                self.viewer_ids = [v.id for v in self.viewers]
            self.purchases: list[int] = []
            for viewer in range(2):  # start with coins, so unlocks happen from the first step
                self.top_up(viewer, PACKS[2])

        def _money(self, fn):  # type: ignore[no-untyped-def]
            try:
                return run_money_transaction(factory, fn)
            except DomainError:
                return None

        @rule(viewer=st.integers(0, 1), pack=st.sampled_from(PACKS))
        def top_up(self, viewer: int, pack: tuple[int, int, int]) -> None:
            cents, coins, bonus = pack
            account_id = self.viewer_ids[viewer]
            self.purchases.append(
                credit_paid_pack(
                    factory,
                    app_settings,
                    account_id,
                    coins=coins,
                    bonus_coins=bonus,
                    amount_cents=cents,
                )
            )

        @rule(viewer=st.integers(0, 1), episode=st.integers(0, 5))
        def unlock(self, viewer: int, episode: int) -> None:
            self._money(
                lambda db: paywall.unlock_with_coins(
                    db=db,
                    settings=app_settings,
                    viewer_id=self.viewer_ids[viewer],
                    episode_id=self.episode_ids[episode],
                )
            )

        @rule(viewer=st.integers(0, 1))
        def buy_vip(self, viewer: int) -> None:
            def go(db: Session) -> None:
                purchase = Purchase(
                    account_id=self.viewer_ids[viewer],
                    kind=PurchaseKind.vip,
                    vip_plan_id=self.plan_id,
                    amount_cents=1999,
                    provider="test",
                    status=PurchaseStatus.paid,
                    paid_at=utcnow(),
                )
                db.add(purchase)
                db.flush()
                viewer_coins.credit_vip_payment(db=db, purchase=purchase)
                db.add(
                    VipPass(
                        account_id=self.viewer_ids[viewer],
                        plan_id=self.plan_id,
                        purchase_id=purchase.id,
                        starts_at=utcnow(),
                        ends_at=utcnow() + timedelta(days=7),
                    )
                )

            self._money(go)

        @rule(viewer=st.integers(0, 1))
        def vip_expires(self, viewer: int) -> None:
            with factory() as db:
                for vip in db.scalars(
                    select(VipPass).where(VipPass.account_id == self.viewer_ids[viewer])
                ):
                    vip.ends_at = utcnow() - timedelta(seconds=1)
                db.commit()

        @rule(viewer=st.integers(0, 1), episode=st.integers(0, 5))
        def ad_unlock(self, viewer: int, episode: int) -> None:
            def go(db: Session) -> None:
                target = paywall.catalog.get_episode(db=db, episode_id=self.episode_ids[episode])
                assert target is not None
                paywall.grant_unlock(
                    db=db, viewer_id=self.viewer_ids[viewer], episode=target, method=UnlockMethod.ad
                )

            self._money(go)

        @rule(index=st.integers(0, 20))
        def refund_purchase(self, index: int) -> None:
            if not self.purchases:
                return
            purchase_id = self.purchases.pop(index % len(self.purchases))

            def go(db: Session) -> None:
                purchase = db.get(Purchase, purchase_id)
                assert purchase is not None
                viewer_coins.refund_purchase(db=db, purchase=purchase)
                purchase.status = PurchaseStatus.refunded

            self._money(go)

        @rule(viewer=st.integers(0, 1), episode=st.integers(0, 5))
        def refund_unlock(self, viewer: int, episode: int) -> None:
            self._money(
                lambda db: paywall.refund_unlock(
                    db=db,
                    viewer_id=self.viewer_ids[viewer],
                    episode_id=self.episode_ids[episode],
                    reason="refund",
                )
            )

        @rule(viewer=st.integers(0, 1))
        def bonus_expires(self, viewer: int) -> None:
            with factory() as db:
                for lot in db.scalars(
                    select(BonusLot).where(BonusLot.owner_id == self.viewer_ids[viewer])
                ):
                    lot.expires_at = utcnow() - timedelta(seconds=1)
                db.commit()
            self._money(lambda db: viewer_coins.expire_bonus(db=db))

        @invariant()
        def books_balance(self) -> None:
            if not hasattr(self, "viewer_ids"):
                return
            with factory() as db:
                assert ledger.verify(db=db) == []
                negative = db.scalars(
                    select(LedgerAccount).where(
                        LedgerAccount.may_go_negative.is_(False), LedgerAccount.balance < 0
                    )
                ).all()
                assert negative == []
                for viewer_id in self.viewer_ids:
                    balance = viewer_coins.balances(db=db, account_id=viewer_id)
                    assert balance.paid >= 0 and balance.bonus >= 0

        @invariant()
        def creator_and_platform_shares_add_up_to_the_gross(self) -> None:
            if not hasattr(self, "viewer_ids"):
                return
            with factory() as db:
                for transaction in db.scalars(
                    select(LedgerTransaction).where(LedgerTransaction.kind == "unlock")
                ):
                    by_kind: dict[LedgerAccountKind, int] = {}
                    for entry in transaction.entries:
                        account = db.get(LedgerAccount, entry.ledger_account_id)
                        assert account is not None
                        by_kind[account.kind] = by_kind.get(account.kind, 0) + entry.amount
                    gross = -by_kind.get(LedgerAccountKind.viewer_paid, 0)
                    creator = by_kind.get(LedgerAccountKind.creator_earnings, 0)
                    platform = by_kind.get(LedgerAccountKind.platform_revenue, 0)
                    assert creator + platform == gross
                    assert creator == gross * app_settings.creator_revenue_share_percent // 100

    return Books


def test_random_money_histories_keep_the_books_balanced(engine: Engine, settings: Settings) -> None:
    machine = _make_machine(engine, settings)
    run_state_machine_as_test(
        machine,
        # PostgreSQL pays a round trip per statement: fewer histories there, same rules.
        settings=settings_for(examples=30 if engine.dialect.name == "sqlite" else 10),
    )


def settings_for(*, examples: int) -> settings:
    return settings(
        max_examples=examples,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
