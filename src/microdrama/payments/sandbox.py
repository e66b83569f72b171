"""The sandbox provider's card page: a test card charged, its outcome through the webhook path."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from microdrama.config import Settings
from microdrama.db import session_scope, utcnow
from microdrama.errors import NotFound
from microdrama.payments.models import Purchase, PurchaseStatus
from microdrama.payments.providers import SANDBOX, Card, CardInvalid, SandboxProvider
from microdrama.payments.purchases import get_purchase, get_sandbox_purchase
from microdrama.payments.webhooks import handle_webhook


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
    """Charge a test card on a sandbox session; the outcome arrives through the webhook path."""
    if settings.payment_provider != SANDBOX:
        raise NotFound("The sandbox payment provider is not enabled.")
    with session_scope(sessionmaker) as db:
        purchase = get_sandbox_purchase(db=db, session_id=session_id)
    if purchase.status in (PurchaseStatus.paid, PurchaseStatus.refunded):
        return SandboxPayment(purchase, paid=True, message="This purchase is already paid.")
    sandbox = SandboxProvider(settings)
    try:
        result = sandbox.pay(purchase=purchase, card=card, today=utcnow().date())
    except CardInvalid as exc:
        return SandboxPayment(
            purchase, paid=False, message=exc.message, field=str(exc.details.get("field", ""))
        )
    handle_webhook(
        sessionmaker=sessionmaker,
        settings=settings,
        provider=SANDBOX,
        payload=result.event.payload,
        signature_header=result.event.signature_header,
    )
    with session_scope(sessionmaker) as db:
        purchase = get_purchase(db=db, purchase_id=purchase.id)
    paid = purchase.status == PurchaseStatus.paid
    return SandboxPayment(purchase, paid=paid, message="" if paid else result.message)
