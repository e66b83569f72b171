"""Statements and payouts API: the same routes for creators (/api/studio/...) and brands
(/api/brand/...), each on their own earnings, and the admin's decisions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy.orm import Session

from microdrama import idempotency
from microdrama.accounts import service as accounts
from microdrama.accounts.deps import CurrentAdmin, require_role
from microdrama.accounts.models import Account, Role
from microdrama.admin import service as platform
from microdrama.config import AppSettings, Settings
from microdrama.db import DbSession, utcnow
from microdrama.idempotency import Money, MoneyAction
from microdrama.payouts import service, vip_share
from microdrama.payouts.models import PayoutRequest, PayoutStatus
from microdrama.payouts.pages import router as pages_router
from microdrama.payouts.schemas import (
    AdminPayoutRead,
    CurrencyStatementRead,
    EarningsRead,
    EarningsSummary,
    PayoutCreate,
    PayoutRead,
    PayoutReject,
    StatementRead,
    VipShareLineRead,
    VipShareRead,
)
from microdrama.routing import add_routes
from microdrama.types import PathId
from microdrama.wallet.models import LedgerAccountKind

router = APIRouter(tags=["payouts"])
add_routes(router, pages_router)

MonthPath = Annotated[str, Path(max_length=7, description="YYYY-MM (UTC)")]


def statement_read(statement: service.Statement) -> StatementRead:
    return StatementRead(
        month=str(statement.month),
        owner_id=statement.owner_id,
        owner_name=statement.owner_name,
        account_kind=statement.account_kind.value,
        starts_at=statement.month.starts_at,
        ends_at=statement.month.ends_at,
        generated_at=statement.generated_at,
        currencies=[
            CurrencyStatementRead.model_validate(section, from_attributes=True)
            for section in statement.currencies
        ],
    )


def earnings_summary(
    db: Session, settings: Settings, owner: Account, kind: LedgerAccountKind
) -> EarningsSummary:
    return EarningsSummary(
        accounts=[
            EarningsRead(**e.__dict__)
            for e in service.earnings(db=db, settings=settings, owner=owner, kind=kind)
        ],
        minimum_payout_cents=platform.payout_minimum_cents(db, settings=settings),
        payouts=[
            PayoutRead.model_validate(p)
            for p in service.list_payouts(db=db, owner_id=owner.id, kind=kind)
        ],
    )


def _earner_routes(prefix: str, kind: LedgerAccountKind, role: Role) -> APIRouter:
    """Earnings, statements and payout requests of one kind of earner."""
    earner = APIRouter(prefix=prefix, tags=["payouts"])
    # A default, not an Annotated alias: string annotations cannot name a local.
    earner_role = Depends(require_role(role))
    who = "creator" if role == Role.creator else "brand"

    @earner.get("/earnings", response_model=EarningsSummary, name=f"{who}_earnings")
    def get_earnings(
        db: DbSession, settings: AppSettings, owner: Account = earner_role
    ) -> EarningsSummary:
        """Balances from the ledger, amounts held by pending payouts, and payout requests."""
        return earnings_summary(db, settings, owner, kind)

    def month_statement(
        month: MonthPath, db: DbSession, owner: Account = earner_role
    ) -> service.Statement:
        """The path's month's statement of the signed-in earner (a route dependency)."""
        return service.monthly_statement(
            db=db, owner=owner, kind=kind, month=service.Month.parse(month)
        )

    # A default, like earner_role: the dependency is a local.
    statement_of_month = Depends(month_statement)

    @earner.get("/statements/{month}.csv", name=f"{who}_statement_csv")
    def get_statement_csv(
        month: MonthPath, statement: service.Statement = statement_of_month
    ) -> Response:
        """The month's statement as CSV: one row per ledger transaction, running balance."""
        return Response(
            service.statement_csv(statement),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="statement-{month}.csv"',
                "Cache-Control": "private, no-store",
            },
        )

    @earner.get("/statements/{month}", response_model=StatementRead, name=f"{who}_statement")
    def get_statement(statement: service.Statement = statement_of_month) -> StatementRead:
        """The month's statement: opening balance, lines by kind, entries, closing balance."""
        return statement_read(statement)

    @earner.post(
        "/payouts",
        **idempotency.answers(PayoutRead, 201),
        name=f"{who}_request_payout",
    )
    def create_payout(
        body: PayoutCreate,
        settings: AppSettings,
        owner: Account = earner_role,
        *,
        money: Money,
    ) -> dict[str, Any]:
        """Ask for a payout of (part of) the available earnings (needs an Idempotency-Key)."""

        def effect(money_db: Session) -> idempotency.Outcome:
            payout = service.request_payout(
                db=money_db,
                settings=settings,
                owner=owner,
                kind=kind,
                currency=body.currency,
                amount=body.amount,
            )
            return 201, PayoutRead.model_validate(payout).model_dump(mode="json")

        return money.run(owner.id, effect)

    return earner


add_routes(router, _earner_routes("/api/studio", LedgerAccountKind.creator_earnings, Role.creator))
add_routes(router, _earner_routes("/api/brand", LedgerAccountKind.brand_revenue, Role.brand))


# --- admin ----------------------------------------------------------------------------------


def admin_payout_read(db: Session, payout: PayoutRequest) -> AdminPayoutRead:
    read = AdminPayoutRead.model_validate(payout, from_attributes=True)
    owner = accounts.get(db=db, account_id=payout.account_id)
    if owner is not None:
        read.account_name, read.account_email = owner.display_name, owner.email
        read.account_role = owner.role.value
    return read


@router.get("/api/admin/payouts", response_model=list[AdminPayoutRead])
def admin_payouts(
    db: DbSession,
    admin: CurrentAdmin,
    status: Annotated[PayoutStatus | None, Query()] = None,
) -> list[AdminPayoutRead]:
    """Payout requests, newest first, optionally of one status (admin)."""
    return [admin_payout_read(db, p) for p in service.list_payouts(db=db, status=status)]


def _decide(
    money: MoneyAction, admin: Account, decide: Callable[[Session], PayoutRequest]
) -> dict[str, Any]:
    """Apply an admin's decision on a payout once per Idempotency-Key; answer the payout."""

    def effect(money_db: Session) -> idempotency.Outcome:
        return 200, admin_payout_read(money_db, decide(money_db)).model_dump(mode="json")

    return money.run(admin.id, effect)


@router.post("/api/admin/payouts/{payout_id}/approve", **idempotency.answers(AdminPayoutRead))
def approve(payout_id: PathId, admin: CurrentAdmin, money: Money) -> dict[str, Any]:
    """Approve: the amount moves from the earnings to payouts payable (Idempotency-Key)."""
    return _decide(
        money, admin, lambda db: service.approve_payout(db=db, admin=admin, payout_id=payout_id)
    )


@router.post("/api/admin/payouts/{payout_id}/reject", **idempotency.answers(AdminPayoutRead))
def reject(
    payout_id: PathId, body: PayoutReject, admin: CurrentAdmin, money: Money
) -> dict[str, Any]:
    """Reject with a reason: nothing moves and the held amount is available again."""
    return _decide(
        money,
        admin,
        lambda db: service.reject_payout(
            db=db, admin=admin, payout_id=payout_id, reason=body.reason
        ),
    )


@router.post("/api/admin/payouts/{payout_id}/paid", **idempotency.answers(AdminPayoutRead))
def mark_paid(payout_id: PathId, admin: CurrentAdmin, money: Money) -> dict[str, Any]:
    """Record that an approved payout was sent: it leaves through payment clearing."""
    return _decide(
        money, admin, lambda db: service.mark_paid(db=db, admin=admin, payout_id=payout_id)
    )


@router.get("/api/admin/vip-share/{month}", response_model=VipShareRead)
def read_vip_share(
    month: MonthPath, db: DbSession, settings: AppSettings, admin: CurrentAdmin
) -> VipShareRead:
    """A month's VIP pool and its split by series: as settled in the ledger, or else what
    settling it would post now (the month so far, if it has not ended). Posts nothing."""
    found = service.Month.parse(month)
    settlement = vip_share.preview_month(db=db, settings=settings, month=found)
    return VipShareRead(
        month=str(found),
        settled=not settlement.preview,
        month_over=utcnow() >= found.ends_at,
        vip_income_cents=settlement.vip_income_cents,
        share_percent=settlement.share_percent,
        pool_cents=settlement.pool_cents,
        total_watch_ms=settlement.total_watch_ms,
        note=settlement.nothing_to_share,
        shares=[_vip_share_line(db, share) for share in settlement.shares],
    )


def _vip_share_line(db: Session, share: vip_share.SeriesShare) -> VipShareLineRead:
    line = VipShareLineRead.model_validate(share, from_attributes=True)
    creator = accounts.get(db=db, account_id=share.creator_id)
    line.creator_name = creator.display_name if creator is not None else ""
    return line
