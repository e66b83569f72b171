"""VIP passes: granted when a plan is paid for, chained, covering a moment, renewing by choice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.orm import Session

from microdrama.accounts.models import Account
from microdrama.errors import Conflict, NotFound
from microdrama.payments.models import Purchase, VipPass, VipPlan


class VipNotActive(Conflict, code="vip_not_active"): ...


@dataclass(frozen=True)
class VipStatus:
    active: bool
    plan: str | None = None
    plan_name: str | None = None
    ends_at: datetime | None = None
    auto_renew: bool = False


def lock_vip_account(db: Session, account_id: int) -> None:
    # Serialises VIP changes of one account (two passes bought at once must chain, not overlap).
    db.execute(select(Account.id).where(Account.id == account_id).with_for_update())


def live_passes(db: Session, account_id: int, now: datetime) -> list[VipPass]:
    return list(
        db.scalars(
            select(VipPass)
            .where(
                VipPass.account_id == account_id,
                VipPass.revoked_at.is_(None),
                VipPass.ends_at > now,
            )
            .order_by(VipPass.ends_at)
        )
    )


def grant_vip_pass(db: Session, purchase: Purchase, now: datetime) -> VipPass:
    lock_vip_account(db, purchase.account_id)
    plan = db.get(VipPlan, purchase.vip_plan_id)
    if plan is None:
        raise NotFound("The VIP plan of this purchase no longer exists.")
    live = live_passes(db, purchase.account_id, now)
    starts_at = max(now, live[-1].ends_at) if live else now
    vip_pass = VipPass(
        account_id=purchase.account_id,
        plan_id=plan.id,
        purchase_id=purchase.id,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(days=plan.period_days),
        auto_renew=live[-1].auto_renew if live else True,
    )
    db.add(vip_pass)
    db.flush()
    return vip_pass


def _covers(
    *, account_id: int | ColumnElement[int], now: datetime | ColumnElement[datetime]
) -> ColumnElement[bool]:
    return and_(
        VipPass.account_id == account_id,
        VipPass.revoked_at.is_(None),
        VipPass.starts_at <= now,
        VipPass.ends_at > now,
    )


def active_vip(*, db: Session, account_id: int, now: datetime) -> VipPass | None:
    """The VIP pass covering this moment, if any (expired and refunded passes never do)."""
    return db.scalar(
        select(VipPass)
        .where(_covers(account_id=account_id, now=now))
        .order_by(VipPass.ends_at.desc())
        .limit(1)
    )


def has_active_vip_clause(
    *, account_id: int | ColumnElement[int], now: datetime | ColumnElement[datetime]
) -> ColumnElement[bool]:
    """The SQL condition "a VIP pass covers this moment", to fold into a larger query."""
    return exists().where(_covers(account_id=account_id, now=now))


def vip_status(*, db: Session, account_id: int, now: datetime) -> VipStatus:
    """Whether the viewer is VIP now, on which plan, until when (renewals already bought
    included) and whether it renews by itself."""
    current = active_vip(db=db, account_id=account_id, now=now)
    if current is None:
        return VipStatus(active=False)
    live = live_passes(db, account_id, now)
    last = live[-1] if live else current
    plan = db.get(VipPlan, current.plan_id)
    return VipStatus(
        active=True,
        plan=plan.code if plan else None,
        plan_name=plan.name if plan else None,
        ends_at=last.ends_at,
        auto_renew=last.auto_renew,
    )


def set_auto_renew(*, db: Session, account_id: int, enabled: bool, now: datetime) -> VipStatus:
    """Switch automatic renewal on or off for the viewer's current and queued passes."""
    live = live_passes(db, account_id, now)
    if not live:
        raise VipNotActive("You have no active VIP to renew.")
    for vip_pass in live:
        vip_pass.auto_renew = enabled
    db.flush()
    return vip_status(db=db, account_id=account_id, now=now)
