"""Purchases: a pending purchase with its terms frozen and the provider's checkout page, and
the registry of what each kind of purchase does once paid or refunded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from microdrama.config import Settings
from microdrama.errors import DomainError, NotFound
from microdrama.payments.catalog import catalog
from microdrama.payments.models import CoinPack, Purchase, PurchaseKind, PurchaseStatus, VipPlan
from microdrama.payments.providers import SANDBOX, PaymentProvider
from microdrama.payments.schemas import PurchaseCreate


class UnknownProduct(NotFound, code="unknown_product"): ...


class InvalidReturnTo(DomainError, code="invalid_return_to", status_code=422): ...


@dataclass(frozen=True)
class NewPurchase:
    purchase: Purchase
    checkout_url: str


def check_return_to(return_to: str | None) -> str:
    """A same-site relative path to come back to after checkout (never another site)."""
    if not return_to:
        return "/"
    parts = urlsplit(return_to)
    if (
        len(return_to) > 500
        or not return_to.startswith("/")
        or return_to.startswith("//")
        or "\\" in return_to
        or parts.scheme
        or parts.netloc
        or any(ord(char) < 0x20 or ord(char) == 0x7F for char in return_to)
    ):
        raise InvalidReturnTo(
            "return_to must be a path on this site, like /watch/3/5.", return_to=return_to
        )
    return return_to


def create_purchase(
    *,
    db: Session,
    provider: PaymentProvider,
    account_id: int,
    purchase_in: PurchaseCreate,
) -> NewPurchase:
    """A pending purchase with its terms frozen now, and the provider's checkout page."""
    coin_pack_code, vip_plan_code = purchase_in.coin_pack, purchase_in.vip_plan
    return_path = check_return_to(purchase_in.return_to)
    catalog(db=db)  # a brand-new database gets the default catalog
    if (coin_pack_code is None) == (vip_plan_code is None):
        raise UnknownProduct("Choose exactly one coin pack or one VIP plan.")
    product: CoinPack | VipPlan | None
    if coin_pack_code is not None:
        product = db.scalar(
            select(CoinPack).where(CoinPack.code == coin_pack_code, CoinPack.active)
        )
        if product is None:
            raise UnknownProduct(f"There is no coin pack {coin_pack_code!r} on sale.")
        description = f"{product.coins} coins" + (
            f" + {product.bonus_coins} bonus" if product.bonus_coins else ""
        )
    else:
        product = db.scalar(select(VipPlan).where(VipPlan.code == vip_plan_code, VipPlan.active))
        if product is None:
            raise UnknownProduct(f"There is no VIP plan {vip_plan_code!r} on sale.")
        description = f"{product.name} ({product.period_days} days)"
    purchase = pending_purchase(account_id=account_id, provider=provider.name, product=product)
    return _open_checkout(db, provider, purchase, description=description, return_to=return_path)


def pending_purchase(*, account_id: int, provider: str, product: CoinPack | VipPlan) -> Purchase:
    """A pending purchase of a coin pack or a VIP plan, its terms copied from the product now
    (later price changes do not alter it)."""
    terms: dict[str, Any]
    if isinstance(product, CoinPack):
        terms = {
            "kind": PurchaseKind.coin_pack,
            "coin_pack_id": product.id,
            "coins": product.coins,
            "bonus_coins": product.bonus_coins,
        }
    else:
        terms = {"kind": PurchaseKind.vip, "vip_plan_id": product.id}
    return _pending(
        account_id, provider, amount_cents=product.price_cents, currency=product.currency, **terms
    )


def _pending(account_id: int, provider: str, **terms: Any) -> Purchase:
    return Purchase(
        account_id=account_id, provider=provider, status=PurchaseStatus.pending, **terms
    )


def _open_checkout(
    db: Session, provider: PaymentProvider, purchase: Purchase, *, description: str, return_to: str
) -> NewPurchase:
    """Store the pending purchase and open the provider's checkout session for it (the
    session's id is written with the caller's next flush or the commit)."""
    db.add(purchase)
    db.flush()
    session = provider.create_checkout(
        purchase=purchase, description=description, return_to=return_to
    )
    purchase.provider_ref = session.session_id
    return NewPurchase(purchase=purchase, checkout_url=session.url)


def create_order_payment(
    *,
    db: Session,
    provider: PaymentProvider,
    account_id: int,
    amount_cents: int,
    currency: str,
    description: str,
    return_to: str,
) -> NewPurchase:
    """A pending payment for a shop order (money, not coins) and the provider's checkout page."""
    return_path = check_return_to(return_to)
    purchase = _pending(
        account_id,
        provider.name,
        kind=PurchaseKind.order,
        amount_cents=amount_cents,
        currency=currency,
    )
    return _open_checkout(db, provider, purchase, description=description, return_to=return_path)


def get_purchase(*, db: Session, purchase_id: int, account_id: int | None = None) -> Purchase:
    """The purchase; with account_id, only when it belongs to that account (else NotFound)."""
    purchase = db.get(Purchase, purchase_id)
    if purchase is None or (account_id is not None and purchase.account_id != account_id):
        raise NotFound("There is no such purchase.", purchase_id=purchase_id)
    return purchase


def get_sandbox_purchase(*, db: Session, session_id: str) -> Purchase:
    """The purchase behind a sandbox checkout session."""
    purchase = db.scalar(
        select(Purchase).where(Purchase.provider == SANDBOX, Purchase.provider_ref == session_id)
    )
    if purchase is None:
        raise NotFound("This checkout session does not exist.")
    return purchase


# --- what each kind of purchase does ---------------------------------------------------------
# Payments decides *when* a purchase is paid or refunded; what that does depends on what was
# bought, and the domain that sells it says so here (coin packs and VIP: payments.webhooks;
# shop orders: shop.orders, at import). Payments never imports the domains built on it.


class OnPaid(Protocol):
    def __call__(
        self, *, db: Session, settings: Settings, purchase: Purchase, now: datetime
    ) -> bool:
        """Deliver what was paid for; True when it can no longer be (refund the payment)."""
        ...


class OnRefunded(Protocol):
    def __call__(self, *, db: Session, purchase: Purchase, now: datetime) -> None:
        """Take back what a refunded payment had bought."""
        ...


@dataclass(frozen=True)
class PurchaseKindHandler:
    on_paid: OnPaid
    on_refunded: OnRefunded


_KINDS: dict[PurchaseKind, PurchaseKindHandler] = {}


def register_purchase_kind(kind: PurchaseKind, *, on_paid: OnPaid, on_refunded: OnRefunded) -> None:
    """Say what paying for and refunding a purchase of this kind does (once per kind)."""
    _KINDS[kind] = PurchaseKindHandler(on_paid=on_paid, on_refunded=on_refunded)


def purchase_kind(kind: PurchaseKind) -> PurchaseKindHandler:
    """The handler registered for a kind of purchase."""
    handler = _KINDS.get(kind)
    if handler is None:  # a programming error: the selling domain was never imported
        raise LookupError(f"no handler is registered for {kind.value} purchases")
    return handler
