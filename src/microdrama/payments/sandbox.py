"""The sandbox provider's card page: a test card charged, its outcome through the webhook path."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from microdrama.config import Settings
from microdrama.db import run_money_transaction, utcnow
from microdrama.errors import NotFound
from microdrama.payments.models import Purchase, PurchaseStatus
from microdrama.payments.providers import SANDBOX, Card, CardInvalid, SandboxProvider
from microdrama.payments.purchases import get_sandbox_purchase
from microdrama.payments.webhooks import apply_signed_event


@dataclass(frozen=True)
class SandboxPayment:
    purchase: Purchase
    paid: bool
    message: str = ""
    field: str = ""


def pay_sandbox_checkout(
    *,
    sessionmaker: sessionmaker[Session],
    settings: Settings,
    session_id: str,
    card: Card,
) -> SandboxPayment:
    """Charge a test card on a sandbox session; the outcome goes through the webhook path
    (its signed event verified, deduplicated and applied) in the same transaction as the
    purchase's read: one transaction instead of three."""
    if settings.payment_provider != SANDBOX:
        raise NotFound("The sandbox payment provider is not enabled.")
    sandbox = SandboxProvider(settings)

    def pay(db: Session) -> SandboxPayment:
        purchase = get_sandbox_purchase(db=db, session_id=session_id)
        if purchase.status in (PurchaseStatus.paid, PurchaseStatus.refunded):
            return SandboxPayment(purchase, paid=True, message="This purchase is already paid.")
        try:
            result = sandbox.pay(purchase=purchase, card=card, today=utcnow().date())
        except CardInvalid as exc:
            return SandboxPayment(
                purchase, paid=False, message=exc.message, field=str(exc.details.get("field", ""))
            )
        # The event locks and re-reads this very purchase (same session): its status after.
        apply_signed_event(db=db, settings=settings, provider=sandbox, signed=result.event)
        paid = purchase.status == PurchaseStatus.paid
        return SandboxPayment(purchase, paid=paid, message="" if paid else result.message)

    return run_money_transaction(sessionmaker, pay)
