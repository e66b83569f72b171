"""Payments service: the store catalog, purchases, provider webhooks, refunds and VIP passes.

Coins and money move only through wallet.service; this module decides *when* (a verified,
deduplicated provider event) and records what was bought. Every effect of a webhook happens in
the same database transaction as the PaymentEvent row that marks the event as seen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Account
from microdrama.config import Settings
from microdrama.db import session_scope, utcnow
from microdrama.errors import Conflict, DomainError, NotFound
from microdrama.payments.models import (
    CoinPack,
    PaymentEvent,
    Purchase,
    PurchaseKind,
    PurchaseStatus,
    VipPass,
    VipPlan,
)
from microdrama.payments.providers import (
    SANDBOX,
    STRIPE,
    CardInvalid,
    PaymentProvider,
    RenewalUnsupported,
    SandboxProvider,
    get_provider,
)
from microdrama.payments.signing import InvalidSignature
from microdrama.wallet import service as wallet

log = logging.getLogger(__name__)

RENEW_AHEAD = timedelta(days=1)


# --- errors users can hit -------------------------------------------------------------------


class UnknownProduct(NotFound):
    code = "unknown_product"


class InvalidReturnTo(DomainError):
    status_code = 422
    code = "invalid_return_to"


class NotRefundable(Conflict):
    code = "not_refundable"


class VipNotActive(Conflict):
    code = "vip_not_active"


class UnknownWebhookProvider(NotFound):
    code = "unknown_provider"


# --- the catalog ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CoinPackDefault:
    code: str
    price_cents: int
    coins: int
    bonus_coins: int


@dataclass(frozen=True)
class VipPlanDefault:
    code: str
    name: str
    period_days: int
    price_cents: int


# Market figures (PRODUCT.md): $4.99 = 500 coins, $19.99 ≈ 2,200 coins, bonus on larger packs.
DEFAULT_COIN_PACKS = (
    CoinPackDefault("coins_100", 99, 100, 0),
    CoinPackDefault("coins_500", 499, 500, 0),
    CoinPackDefault("coins_1000", 999, 1000, 100),
    CoinPackDefault("coins_2000", 1999, 2000, 200),
    CoinPackDefault("coins_5000", 4999, 5000, 1000),
)
DEFAULT_VIP_PLANS = (
    VipPlanDefault("weekly", "VIP Weekly", 7, 1999),
    VipPlanDefault("monthly", "VIP Monthly", 30, 3999),
    VipPlanDefault("yearly", "VIP Yearly", 365, 19999),
)


def _insert_if_missing(db: Session, row: CoinPack | VipPlan) -> None:
    try:
        with db.begin_nested():
            db.add(row)
    except IntegrityError:
        pass  # a concurrent request seeded the same code first


def ensure_default_catalog(*, db: Session) -> None:
    """Add the default coin packs and VIP plans whose codes are missing (operator edits stay)."""
    have_packs = set(db.scalars(select(CoinPack.code)))
    for order, pack in enumerate(DEFAULT_COIN_PACKS):
        if pack.code not in have_packs:
            _insert_if_missing(
                db,
                CoinPack(
                    code=pack.code,
                    price_cents=pack.price_cents,
                    currency="USD",
                    coins=pack.coins,
                    bonus_coins=pack.bonus_coins,
                    bonus_valid_days=30,
                    active=True,
                    sort_order=order,
                ),
            )
    have_plans = set(db.scalars(select(VipPlan.code)))
    for order, plan in enumerate(DEFAULT_VIP_PLANS):
        if plan.code not in have_plans:
            _insert_if_missing(
                db,
                VipPlan(
                    code=plan.code,
                    name=plan.name,
                    period_days=plan.period_days,
                    price_cents=plan.price_cents,
                    currency="USD",
                    active=True,
                    sort_order=order,
                ),
            )
    db.flush()


def catalog(*, db: Session, include_inactive: bool = False) -> tuple[list[CoinPack], list[VipPlan]]:
    """Coin packs and VIP plans in display order (the defaults on a brand-new database)."""
    if db.scalar(select(func.count(CoinPack.id))) == 0 and (
        db.scalar(select(func.count(VipPlan.id))) == 0
    ):
        ensure_default_catalog(db=db)
    packs = select(CoinPack).order_by(CoinPack.sort_order, CoinPack.price_cents, CoinPack.id)
    plans = select(VipPlan).order_by(VipPlan.sort_order, VipPlan.period_days, VipPlan.id)
    if not include_inactive:
        packs, plans = packs.where(CoinPack.active), plans.where(VipPlan.active)
    return list(db.scalars(packs)), list(db.scalars(plans))


def get_vip_plan(*, db: Session, plan_id: int) -> VipPlan | None:
    """A VIP plan by id."""
    return db.get(VipPlan, plan_id)


_Catalogued = TypeVar("_Catalogued", CoinPack, VipPlan)


def _upsert_by_code(
    db: Session, model: type[_Catalogued], code: str, values: dict[str, Any]
) -> _Catalogued:
    item = db.scalar(select(model).where(model.code == code))
    if item is None:
        item = model(code=code)
        db.add(item)
    for name, value in values.items():
        setattr(item, name, value)
    db.flush()
    return item


def upsert_coin_pack(*, db: Session, code: str, values: dict[str, Any]) -> CoinPack:
    """Create or change a coin pack (purchases already made keep their frozen terms)."""
    return _upsert_by_code(db, CoinPack, code, values)


def upsert_vip_plan(*, db: Session, code: str, values: dict[str, Any]) -> VipPlan:
    """Create or change a VIP plan (passes already bought keep their periods)."""
    return _upsert_by_code(db, VipPlan, code, values)


# --- purchases ------------------------------------------------------------------------------


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
    coin_pack_code: str | None = None,
    vip_plan_code: str | None = None,
    return_to: str | None = None,
) -> NewPurchase:
    """A pending purchase with its terms frozen now, and the provider's checkout page."""
    return_path = check_return_to(return_to)
    catalog(db=db)  # a brand-new database gets the default catalog
    if (coin_pack_code is None) == (vip_plan_code is None):
        raise UnknownProduct("Choose exactly one coin pack or one VIP plan.")
    if coin_pack_code is not None:
        pack = db.scalar(select(CoinPack).where(CoinPack.code == coin_pack_code, CoinPack.active))
        if pack is None:
            raise UnknownProduct(f"There is no coin pack {coin_pack_code!r} on sale.")
        purchase = Purchase(
            account_id=account_id,
            kind=PurchaseKind.coin_pack,
            coin_pack_id=pack.id,
            amount_cents=pack.price_cents,
            currency=pack.currency,
            coins=pack.coins,
            bonus_coins=pack.bonus_coins,
            provider=provider.name,
            status=PurchaseStatus.pending,
        )
        description = f"{pack.coins} coins" + (
            f" + {pack.bonus_coins} bonus" if pack.bonus_coins else ""
        )
    else:
        plan = db.scalar(select(VipPlan).where(VipPlan.code == vip_plan_code, VipPlan.active))
        if plan is None:
            raise UnknownProduct(f"There is no VIP plan {vip_plan_code!r} on sale.")
        purchase = Purchase(
            account_id=account_id,
            kind=PurchaseKind.vip,
            vip_plan_id=plan.id,
            amount_cents=plan.price_cents,
            currency=plan.currency,
            provider=provider.name,
            status=PurchaseStatus.pending,
        )
        description = f"{plan.name} ({plan.period_days} days)"
    db.add(purchase)
    db.flush()
    session = provider.create_checkout(
        purchase=purchase, description=description, return_to=return_path
    )
    purchase.provider_ref = session.session_id
    db.flush()
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
    purchase = Purchase(
        account_id=account_id,
        kind=PurchaseKind.order,
        amount_cents=amount_cents,
        currency=currency,
        provider=provider.name,
        status=PurchaseStatus.pending,
    )
    db.add(purchase)
    db.flush()
    session = provider.create_checkout(
        purchase=purchase, description=description, return_to=check_return_to(return_to)
    )
    purchase.provider_ref = session.session_id
    db.flush()
    return NewPurchase(purchase=purchase, checkout_url=session.url)


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


# --- webhooks -------------------------------------------------------------------------------


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
    return wallet.run_money_transaction(
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
    payload: bytes,
    signature_header: str,
    now: datetime | None = None,
) -> WebhookResult:
    """The webhook path inside the caller's transaction (the sandbox's immediate answers)."""
    event = provider.construct_event(payload=payload, signature_header=signature_header)
    return apply_event(db=db, settings=settings, provider=provider.name, event=event, now=now)


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
    seen = select(PaymentEvent.id).where(
        PaymentEvent.provider == provider, PaymentEvent.event_id == event_id
    )
    if db.scalar(seen) is not None:
        return WebhookResult("duplicate", event_id, event_type)
    try:
        # A concurrent twin blocks on the unique key until we commit, then lands here.
        with db.begin_nested():
            db.add(
                PaymentEvent(
                    provider=provider,
                    event_id=event_id,
                    event_type=event_type,
                    payload=event,
                    received_at=now,
                )
            )
    except IntegrityError:
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
    if purchase.kind == PurchaseKind.order:
        from microdrama.shop import orders  # shop builds on payments, not the other way

        if orders.order_paid(db=db, settings=settings, purchase=purchase, now=now):
            _refund_now(db, settings, purchase)
        return ""
    if purchase.kind == PurchaseKind.coin_pack:
        wallet.credit_coin_purchase(db=db, settings=settings, purchase=purchase)
    else:
        wallet.credit_vip_payment(db=db, purchase=purchase)
        _grant_vip_pass(db, purchase, now)
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
    if purchase.kind == PurchaseKind.order:
        from microdrama.shop import orders

        orders.order_refunded(db=db, purchase=purchase, now=now)
        purchase.status = PurchaseStatus.refunded
        purchase.refunded_at = now
        db.flush()
        return ""
    wallet.refund_purchase(db=db, purchase=purchase)
    purchase.status = PurchaseStatus.refunded
    purchase.refunded_at = now
    vip_pass = db.scalar(select(VipPass).where(VipPass.purchase_id == purchase.id))
    if vip_pass is not None and vip_pass.revoked_at is None:
        vip_pass.revoked_at = now
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


# --- the sandbox's card page ----------------------------------------------------------------


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
    card_number: str,
    expiry: str,
    cvc: str,
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
        result = sandbox.pay(
            purchase=purchase,
            card_number=card_number,
            expiry=expiry,
            cvc=cvc,
            today=utcnow().date(),
        )
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


# --- refunds --------------------------------------------------------------------------------


def _refund_now(db: Session, settings: Settings, purchase: Purchase) -> None:
    """Refund a purchase through its provider from inside the transaction that booked it."""
    provider = get_provider(settings, purchase.provider)
    for event in provider.refund(purchase=purchase):
        apply_signed_event(
            db=db,
            settings=settings,
            provider=provider,
            payload=event.payload,
            signature_header=event.signature_header,
        )


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


# --- VIP ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VipStatus:
    active: bool
    plan: str | None = None
    plan_name: str | None = None
    ends_at: datetime | None = None
    auto_renew: bool = False


def _lock_account(db: Session, account_id: int) -> None:
    # Serialises VIP changes of one account (two passes bought at once must chain, not overlap).
    db.execute(select(Account.id).where(Account.id == account_id).with_for_update())


def _live_passes(db: Session, account_id: int, now: datetime) -> list[VipPass]:
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


def _grant_vip_pass(db: Session, purchase: Purchase, now: datetime) -> VipPass:
    _lock_account(db, purchase.account_id)
    plan = db.get(VipPlan, purchase.vip_plan_id)
    if plan is None:
        raise NotFound("The VIP plan of this purchase no longer exists.")
    live = _live_passes(db, purchase.account_id, now)
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
    live = _live_passes(db, account_id, now)
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
    live = _live_passes(db, account_id, now)
    if not live:
        raise VipNotActive("You have no active VIP to renew.")
    for vip_pass in live:
        vip_pass.auto_renew = enabled
    db.flush()
    return vip_status(db=db, account_id=account_id, now=now)


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
        _lock_account(db, vip_pass.account_id)
        live = _live_passes(db, vip_pass.account_id, now)
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
    purchase = Purchase(
        account_id=vip_pass.account_id,
        kind=PurchaseKind.vip,
        vip_plan_id=plan.id,
        amount_cents=plan.price_cents,
        currency=plan.currency,
        provider=previous.provider,
        status=PurchaseStatus.pending,
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
            apply_signed_event(
                db=db,
                settings=settings,
                provider=provider,
                payload=event.payload,
                signature_header=event.signature_header,
                now=now,
            )
        except InvalidSignature:
            log.exception("renewal event for purchase %s did not verify", purchase.id)
    db.refresh(purchase)
    return Renewal(
        vip_pass.account_id, purchase.id, purchase.status.value, purchase.failure_reason or ""
    )
