"""VIP renewals: auto-renewing passes charged again a day before they end."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from microdrama.config import Settings
from microdrama.payments.models import Purchase, PurchaseStatus, VipPass, VipPlan
from microdrama.payments.providers import RenewalUnsupported, get_provider
from microdrama.payments.purchases import pending_purchase
from microdrama.payments.signing import InvalidSignature
from microdrama.payments.vip import live_passes, lock_vip_account
from microdrama.payments.webhooks import apply_signed_event

log = logging.getLogger(__name__)

RENEW_AHEAD = timedelta(days=1)


@dataclass(frozen=True)
class Renewal:
    account_id: int
    purchase_id: int | None
    status: str
    detail: str = ""


def renew_due_vip_passes(*, db: Session, settings: Settings, now: datetime) -> list[Renewal]:
    """Charge again for auto-renewing passes that end within a day (the last of each chain)."""
    due = list(
        db.scalars(
            select(VipPass)
            .where(
                VipPass.auto_renew.is_(True),
                VipPass.revoked_at.is_(None),
                VipPass.ends_at > now,
                VipPass.ends_at <= now + RENEW_AHEAD,
            )
            .order_by(VipPass.account_id, VipPass.id)
        )
    )
    renewals: list[Renewal] = []
    for vip_pass in due:
        lock_vip_account(db, vip_pass.account_id)
        live = live_passes(db, vip_pass.account_id, now)
        if not live or live[-1].id != vip_pass.id or not live[-1].auto_renew:
            continue  # a later pass (or a concurrent run's renewal) already covers what's next
        renewals.append(_renew(db, settings, vip_pass, now))
    return renewals


def _renew(db: Session, settings: Settings, vip_pass: VipPass, now: datetime) -> Renewal:
    previous = db.get(Purchase, vip_pass.purchase_id)
    plan = db.get(VipPlan, vip_pass.plan_id)
    if previous is None or plan is None or not plan.active:
        vip_pass.auto_renew = False
        return Renewal(vip_pass.account_id, None, "skipped", "the plan is no longer on sale")
    purchase = pending_purchase(
        account_id=vip_pass.account_id, provider=previous.provider, product=plan
    )
    db.add(purchase)
    db.flush()
    purchase.provider_ref = f"cs_renewal_{purchase.id}"
    db.flush()
    provider = get_provider(settings, previous.provider)
    try:
        events = provider.charge_renewal(purchase=purchase, previous=previous)
    except RenewalUnsupported as exc:
        purchase.status = PurchaseStatus.failed
        purchase.failure_reason = exc.message
        db.flush()
        return Renewal(vip_pass.account_id, purchase.id, "failed", exc.message)
    for event in events:
        try:
            apply_signed_event(db=db, settings=settings, provider=provider, signed=event, now=now)
        except InvalidSignature:
            log.exception("renewal event for purchase %s did not verify", purchase.id)
    db.refresh(purchase)
    return Renewal(
        vip_pass.account_id, purchase.id, purchase.status.value, purchase.failure_reason or ""
    )
