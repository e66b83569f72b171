"""Hypothesis drives earnings in several months, refunds, payout requests and decisions in
random orders; every month's statement must chain into the next and the last one must close
at the ledger's balance, with `ledger verify` clean."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from microdrama.accounts.models import Account, Role
from microdrama.config import Settings
from microdrama.db import make_sessionmaker, run_money_transaction, utcnow
from microdrama.errors import DomainError
from microdrama.payouts import service as payouts
from microdrama.payouts.models import PayoutStatus
from microdrama.wallet import ledger
from microdrama.wallet.models import Currency, LedgerAccountKind
from tests.support.database import _empty_all_tables
from tests.support.payouts import backdate, earn_from_unlocks, refund

EARN = st.tuples(st.just("earn"), st.integers(1, 40).map(lambda n: n * 100), st.integers(0, 2))
REFUND = st.tuples(st.just("refund"), st.just(0), st.just(0))
REQUEST = st.tuples(st.just("request"), st.integers(1, 40).map(lambda n: n * 100), st.just(0))
DECIDE = st.tuples(st.sampled_from(["approve", "reject", "pay"]), st.integers(0, 5), st.just(0))
STEPS = st.lists(st.one_of(EARN, EARN, REFUND, REQUEST, REQUEST, DECIDE, DECIDE), max_size=14)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
def test_statements_chain_month_to_month_and_close_at_the_ledger_balance(
    engine: Engine, settings: Settings, steps: list[tuple[str, int, int]]
) -> None:
    settings = settings.model_copy(update={"payout_minimum_cents": 0})
    _empty_all_tables(engine)
    factory = make_sessionmaker(engine)
    with factory() as db:
        creator = Account(display_name="Studio", role=Role.creator, is_guest=False)
        fan = Account(display_name="Fan", is_guest=False)
        admin = Account(display_name="Operator", role=Role.admin, is_guest=False)
        db.add_all([creator, fan, admin])
        db.commit()
    unlocks: list[int] = []
    requested: list[int] = []
    now = utcnow()

    def money(fn):  # type: ignore[no-untyped-def]
        try:
            return run_money_transaction(factory, fn)
        except DomainError:
            return None  # refused requests (too much, below minimum, decided) move nothing

    for action, amount, months_ago in steps:
        if action == "earn":
            (unlock,) = earn_from_unlocks(
                factory, settings, creator_id=creator.id, viewer_id=fan.id, prices=[amount]
            )
            backdate(factory, unlock, now - timedelta(days=31 * months_ago))
            unlocks.append(unlock)
        elif action == "refund":
            if unlocks:
                # Also after the creator's share was paid out: their earnings then owe it.
                refund(factory, unlocks.pop())
        elif action == "request":
            made = money(
                lambda db, amount=amount: payouts.request_payout(
                    db=db, settings=settings, owner=creator,
                    kind=LedgerAccountKind.creator_earnings, currency=Currency.coin, amount=amount,
                ).id
            )  # fmt: skip
            if made is not None:
                requested.append(made)
        elif requested:
            payout_id = requested[amount % len(requested)]
            decide = {
                "approve": lambda db, pid=payout_id: payouts.approve_payout(
                    db=db, admin=admin, payout_id=pid
                ),
                "reject": lambda db, pid=payout_id: payouts.reject_payout(
                    db=db, admin=admin, payout_id=pid, reason="no"
                ),
                "pay": lambda db, pid=payout_id: payouts.mark_paid(
                    db=db, admin=admin, payout_id=pid
                ),
            }[action]
            money(decide)

    with factory() as db:
        months = payouts.statement_months(
            db=db, owner=creator, kind=LedgerAccountKind.creator_earnings
        )
        statements = [
            payouts.monthly_statement(
                db=db, owner=creator, kind=LedgerAccountKind.creator_earnings, month=month
            )
            for month in reversed(months)
        ]
        balance = 0
        for statement in statements:
            for section in statement.currencies:
                assert section.opening_balance == balance
                assert section.closing_balance == section.opening_balance + sum(
                    line.amount for line in section.lines
                )
                balance = section.closing_balance
        account = ledger.ledger_account(
            db=db, kind=LedgerAccountKind.creator_earnings, currency=Currency.coin,
            owner_id=creator.id,
        )  # fmt: skip
        assert balance == account.balance
        (shown,) = payouts.earnings(
            db=db, settings=settings, owner=creator, kind=LedgerAccountKind.creator_earnings
        )
        held = payouts.list_payouts(db=db, owner_id=creator.id, status=PayoutStatus.pending)
        assert shown.balance == account.balance
        assert shown.available == max(0, account.balance - sum(p.amount for p in held))
        assert ledger.verify(db=db) == []
