"""Provider events: verified, recorded once, and applied in the transaction that records them;
refunds go through the provider and come back the same way.

Coins and money move only through the wallet; this module decides *when* (a verified,
deduplicated provider event). Every effect of an event happens in the same database
transaction as the PaymentEvent row that marks it as seen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Literal, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session, sessionmaker

from microdrama.config import Settings
from microdrama.db import dialect_insert, run_money_transaction, utcnow
from microdrama.errors import Conflict, NotFound
from microdrama.payments.models import (
    CoinPack,
    PaymentEvent,
    Purchase,
    PurchaseKind,
    PurchaseStatus,
    VipPass,
)
from microdrama.payments.providers import STRIPE, PaymentProvider, SignedEvent, get_provider
from microdrama.payments.purchases import get_purchase, purchase_kind, register_purchase_kind
from microdrama.payments.vip import grant_vip_pass
from microdrama.wallet import viewer_coins

log = logging.getLogger(__name__)


class NotRefundable(Conflict, code="not_refundable"): ...


class UnknownWebhookProvider(NotFound, code="unknown_provider"): ...


WebhookStatus = Literal["applied", "duplicate", "ignored"]


@dataclass(frozen=True)
class WebhookResult:
    status: WebhookStatus
    event_id: str
    event_type: str
    purchase_id: int | None = None
    detail: str = ""


def accepted_providers(settings: Settings) -> set[str]:
    """Whose webhooks we take: the configured provider, and Stripe whenever it has a secret."""
    names: set[str] = {settings.payment_provider}
    if settings.stripe_webhook_secret:
        names.add(STRIPE)
    return names


def webhook_provider(*, settings: Settings, provider: str) -> PaymentProvider:
    """The provider whose webhook route this is (the sandbox's only while it is selected)."""
    if provider not in accepted_providers(settings):
        raise UnknownWebhookProvider(f"Webhooks from {provider!r} are not accepted here.")
    return get_provider(settings, provider)


def handle_webhook(
    *,
    sessionmaker: sessionmaker[Session],
    settings: Settings,
    provider: str,
    payload: bytes,
    signature_header: str | None,
    now: datetime | None = None,
) -> WebhookResult:
    """Verify a provider's webhook and apply it once, in one transaction of its own."""
    source = webhook_provider(settings=settings, provider=provider)
    event = source.construct_event(payload=payload, signature_header=signature_header)
    return run_money_transaction(
        sessionmaker,
        lambda db: apply_event(
            db=db, settings=settings, provider=source.name, event=event, now=now
        ),
    )


def apply_signed_event(
    *,
    db: Session,
    settings: Settings,
    provider: PaymentProvider,
    signed: SignedEvent,
    now: datetime | None = None,
) -> WebhookResult:
    """The webhook path inside the caller's transaction (the sandbox's immediate answers)."""
    event = provider.construct_event(
        payload=signed.payload, signature_header=signed.signature_header
    )
    return apply_event(db=db, settings=settings, provider=provider.name, event=event, now=now)


_events = cast(Table, PaymentEvent.__table__)


@cache
def _record_event(dialect: str) -> Any:
    """INSERT of the event that does nothing when (provider, event id) was seen: one statement
    instead of a read, a savepoint and an insert (built once per backend)."""
    return dialect_insert(dialect, _events).on_conflict_do_nothing().returning(_events.c.id)


def apply_event(
    *,
    db: Session,
    settings: Settings,
    provider: str,
    event: dict[str, Any],
    now: datetime | None = None,
) -> WebhookResult:
    """Record a verified event and apply its effect, unless the event was seen before."""
    now = now or utcnow()
    event_id, event_type = str(event["id"]), str(event["type"])
    conn = db.connection()
    # A concurrent twin waits on the unique key until we commit, then records nothing.
    recorded = conn.execute(
        _record_event(conn.dialect.name),
        {
            "provider": provider,
            "event_id": event_id,
            "event_type": event_type,
            "payload": event,
            "received_at": now,
        },
    ).first()
    if recorded is None:
        return WebhookResult("duplicate", event_id, event_type)

    obj: dict[str, Any] = event["data"]["object"]
    handler = _HANDLERS.get(event_type)
    if handler is None:
        return WebhookResult("ignored", event_id, event_type, detail="event type not used")
    purchase = _locked_purchase_for(db, provider, obj)
    if purchase is None:
        log.warning("payment event %s (%s) names no purchase of ours", event_id, event_type)
        return WebhookResult("ignored", event_id, event_type, detail="no such purchase")
    detail = handler(db, settings, purchase, obj, now)
    status: WebhookStatus = "applied" if detail == "" else "ignored"
    return WebhookResult(status, event_id, event_type, purchase.id, detail)


def _locked_purchase_for(db: Session, provider: str, obj: dict[str, Any]) -> Purchase | None:
    metadata = obj.get("metadata") or {}
    raw_id = metadata.get("purchase_id") or obj.get("client_reference_id")
    try:
        purchase_id = int(str(raw_id))
    except ValueError:
        return None
    purchase = db.scalar(
        select(Purchase)
        .where(Purchase.id == purchase_id, Purchase.provider == provider)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if purchase is None:
        return None
    # A checkout session event must be about this purchase's own session.
    if obj.get("object") == "checkout.session" and obj.get("id") != purchase.provider_ref:
        return None
    return purchase


def _on_paid(
    db: Session, settings: Settings, purchase: Purchase, obj: dict[str, Any], now: datetime
) -> str:
    if obj.get("object") == "checkout.session" and obj.get("payment_status") != "paid":
        return "checkout complete, payment still processing"
    if purchase.status in (PurchaseStatus.paid, PurchaseStatus.refunded):
        return f"purchase already {purchase.status.value}"
    amount, currency = obj.get("amount_total"), str(obj.get("currency", "")).upper()
    if amount != purchase.amount_cents or currency != purchase.currency:
        purchase.status = PurchaseStatus.failed
        purchase.failure_reason = f"Paid {amount} {currency}, expected {purchase.amount_cents}."
        log.error("purchase %s: %s", purchase.id, purchase.failure_reason)
        return "amount mismatch"
    purchase.status = PurchaseStatus.paid
    purchase.paid_at = now
    purchase.failure_reason = None
    db.flush()
    if purchase_kind(purchase.kind).on_paid(db=db, settings=settings, purchase=purchase, now=now):
        _refund_now(db, settings, purchase)
    return ""


def _on_failed(
    db: Session, settings: Settings, purchase: Purchase, obj: dict[str, Any], now: datetime
) -> str:
    if purchase.status not in (PurchaseStatus.pending, PurchaseStatus.failed):
        return f"purchase already {purchase.status.value}"
    error = obj.get("last_payment_error") or {}
    if obj.get("object") == "checkout.session":
        reason = (
            "The checkout expired before payment."
            if obj.get("status") == "expired"
            else "The payment did not go through."
        )
    else:
        reason = str(error.get("message") or "The payment was declined.")
    purchase.status = PurchaseStatus.failed
    purchase.failure_reason = reason[:300]
    db.flush()
    return ""


def _on_refunded(
    db: Session, settings: Settings, purchase: Purchase, obj: dict[str, Any], now: datetime
) -> str:
    if purchase.status != PurchaseStatus.paid:
        return f"purchase is {purchase.status.value}"
    if not obj.get("refunded") or obj.get("amount_refunded") != purchase.amount_cents:
        return "partial refunds are not applied"
    purchase_kind(purchase.kind).on_refunded(db=db, purchase=purchase, now=now)
    purchase.status = PurchaseStatus.refunded
    purchase.refunded_at = now
    db.flush()
    return ""


_HANDLERS = {
    "checkout.session.completed": _on_paid,
    "checkout.session.async_payment_succeeded": _on_paid,
    "checkout.session.async_payment_failed": _on_failed,
    "checkout.session.expired": _on_failed,
    "payment_intent.payment_failed": _on_failed,
    "charge.refunded": _on_refunded,
}


def _refund_now(db: Session, settings: Settings, purchase: Purchase) -> None:
    """Refund a purchase through its provider from inside the transaction that booked it."""
    provider = get_provider(settings, purchase.provider)
    for event in provider.refund(purchase=purchase):
        apply_signed_event(db=db, settings=settings, provider=provider, signed=event)


def request_refund(*, db: Session, settings: Settings, purchase_id: int) -> Purchase:
    """Refund a paid purchase in full through its provider.

    The effect (money back, unspent coins taken back, VIP revoked) comes with the provider's
    charge.refunded event: the sandbox sends it at once and it is applied here, in this
    transaction; Stripe sends it to the webhook route shortly after.
    """
    purchase = get_purchase(db=db, purchase_id=purchase_id)
    if purchase.status != PurchaseStatus.paid:
        raise NotRefundable(
            f"Only paid purchases can be refunded; this one is {purchase.status.value}.",
            status=purchase.status.value,
        )
    _refund_now(db, settings, purchase)
    db.refresh(purchase)
    return purchase


# --- coin packs and VIP passes: what their payment and refund do -------------------------------


def _coin_pack_paid(*, db: Session, settings: Settings, purchase: Purchase, now: datetime) -> bool:
    pack = db.get(CoinPack, purchase.coin_pack_id) if purchase.coin_pack_id else None
    viewer_coins.credit_coin_purchase(
        db=db,
        settings=settings,
        purchase=purchase,
        bonus_valid_days=pack.bonus_valid_days if pack is not None else None,
    )
    return False


def _vip_paid(*, db: Session, settings: Settings, purchase: Purchase, now: datetime) -> bool:
    viewer_coins.credit_vip_payment(db=db, purchase=purchase)
    grant_vip_pass(db, purchase, now)
    return False


def _coins_or_vip_refunded(*, db: Session, purchase: Purchase, now: datetime) -> None:
    """Money back, unspent coins taken back, the VIP pass (if any) revoked."""
    viewer_coins.refund_purchase(db=db, purchase=purchase)
    vip_pass = db.scalar(select(VipPass).where(VipPass.purchase_id == purchase.id))
    if vip_pass is not None and vip_pass.revoked_at is None:
        vip_pass.revoked_at = now


register_purchase_kind(
    PurchaseKind.coin_pack, on_paid=_coin_pack_paid, on_refunded=_coins_or_vip_refunded
)
register_purchase_kind(PurchaseKind.vip, on_paid=_vip_paid, on_refunded=_coins_or_vip_refunded)
