"""Payments API and the sandbox's checkout page (see docs/paywall.md for the contract)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from microdrama import idempotency
from microdrama.accounts.deps import CurrentAdmin, CurrentViewer
from microdrama.config import AppSettings
from microdrama.db import DbSession, SessionFactory, utcnow
from microdrama.errors import DomainError, NotFound
from microdrama.idempotency import Money
from microdrama.payments import catalog as store_catalog
from microdrama.payments import purchases, sandbox, webhooks
from microdrama.payments import vip as vip_passes
from microdrama.payments.models import Purchase, PurchaseKind, PurchaseStatus, VipPlan
from microdrama.payments.providers import SANDBOX, TEST_CARDS, Card, Provider, with_query
from microdrama.payments.schemas import (
    CODE_PATTERN,
    AutoRenewUpdate,
    CoinPackRead,
    CoinPackWrite,
    PurchaseCreate,
    PurchaseCreated,
    PurchaseRead,
    StoreRead,
    VipPlanRead,
    VipPlanWrite,
    VipRead,
    WebhookAnswer,
)
from microdrama.payments.signing import SIGNATURE_HEADER
from microdrama.templating import templates
from microdrama.types import BigPathId, PathKey
from microdrama.wording import money

router = APIRouter(tags=["payments"])

FormText = Annotated[str, Form()]
CodePath = Annotated[str, Path(pattern=CODE_PATTERN)]


def _vip_plan_of(db: Session, purchase: Purchase) -> VipPlan | None:
    if purchase.vip_plan_id is None:
        return None
    return store_catalog.get_vip_plan(db=db, plan_id=purchase.vip_plan_id)


def purchase_read(db: Session, purchase: Purchase) -> PurchaseRead:
    plan = _vip_plan_of(db, purchase)
    return PurchaseRead.model_validate(purchase).model_copy(
        update={"vip_plan": plan.code if plan else None}
    )


def _vip_read(status: vip_passes.VipStatus) -> VipRead:
    return VipRead(**status.__dict__)


def _store_read(db: Session, *, include_inactive: bool) -> StoreRead:
    packs, plans = store_catalog.catalog(db=db, include_inactive=include_inactive)
    return StoreRead(
        coin_packs=[CoinPackRead.model_validate(p) for p in packs],
        vip_plans=[VipPlanRead.model_validate(p) for p in plans],
    )


# --- the store ------------------------------------------------------------------------------


@router.get("/api/store", response_model=StoreRead)
def store(db: DbSession) -> StoreRead:
    """Coin packs and VIP plans on sale, with prices in cents."""
    return _store_read(db, include_inactive=False)


@router.get("/api/admin/store", response_model=StoreRead)
def admin_store(db: DbSession, admin: CurrentAdmin) -> StoreRead:
    """Every coin pack and VIP plan, including those taken off sale (admin)."""
    return _store_read(db, include_inactive=True)


@router.put("/api/admin/coin-packs/{code}", response_model=CoinPackRead)
def put_coin_pack(
    code: CodePath, body: CoinPackWrite, db: DbSession, admin: CurrentAdmin
) -> CoinPackRead:
    """Create or change a coin pack (admin); purchases already made keep their terms."""
    pack = store_catalog.upsert_coin_pack(db=db, code=code, values=body.model_dump())
    return CoinPackRead.model_validate(pack)


@router.put("/api/admin/vip-plans/{code}", response_model=VipPlanRead)
def put_vip_plan(
    code: CodePath, body: VipPlanWrite, db: DbSession, admin: CurrentAdmin
) -> VipPlanRead:
    """Create or change a VIP plan (admin)."""
    plan = store_catalog.upsert_vip_plan(db=db, code=code, values=body.model_dump())
    return VipPlanRead.model_validate(plan)


# --- purchases ------------------------------------------------------------------------------


@router.post("/api/purchases", **idempotency.answers(PurchaseCreated, 201))
def create_purchase(
    body: PurchaseCreate, viewer: CurrentViewer, provider: Provider, money: Money
) -> dict[str, Any]:
    """Start buying a coin pack or VIP plan: a pending purchase and its checkout page."""

    def effect(money_db: Session) -> idempotency.Outcome:
        created = purchases.create_purchase(
            db=money_db, provider=provider, account_id=viewer.id, purchase_in=body
        )
        answer = PurchaseCreated(
            id=created.purchase.id,
            status=created.purchase.status,
            checkout_url=created.checkout_url,
        )
        return 201, answer.model_dump(mode="json")

    return money.run(viewer.id, effect)


@router.get("/api/purchases/{purchase_id}", response_model=PurchaseRead)
def get_purchase(purchase_id: BigPathId, db: DbSession, viewer: CurrentViewer) -> PurchaseRead:
    """One of the viewer's own purchases (others' are not found)."""
    purchase = purchases.get_purchase(db=db, purchase_id=purchase_id, account_id=viewer.id)
    return purchase_read(db, purchase)


@router.post(
    "/api/admin/purchases/{purchase_id}/refund", **idempotency.answers(PurchaseRead, 200, 202)
)
def refund_purchase(
    purchase_id: BigPathId, settings: AppSettings, admin: CurrentAdmin, money: Money
) -> dict[str, Any]:
    """Refund a paid purchase in full through its provider (admin): 200 once applied (the
    sandbox answers at once), 202 while Stripe's charge.refunded event is on its way."""

    def effect(money_db: Session) -> idempotency.Outcome:
        purchase = webhooks.request_refund(db=money_db, settings=settings, purchase_id=purchase_id)
        status = 200 if purchase.status == PurchaseStatus.refunded else 202
        return status, purchase_read(money_db, purchase).model_dump(mode="json")

    return money.run(admin.id, effect)


@router.post("/api/payments/webhooks/{provider}", response_model=WebhookAnswer)
async def webhook(
    provider: str, request: Request, factory: SessionFactory, settings: AppSettings
) -> WebhookAnswer:
    """A provider's signed event: 200 when applied, already seen or not ours to act on;
    400 when the signature does not verify or is older than the tolerance."""
    payload = await request.body()
    result = await run_in_threadpool(
        partial(
            webhooks.handle_webhook,
            sessionmaker=factory,
            settings=settings,
            provider=provider,
            payload=payload,
            signature_header=request.headers.get(SIGNATURE_HEADER),
        )
    )
    return WebhookAnswer(
        status=result.status, event_id=result.event_id, event_type=result.event_type
    )


# --- VIP ------------------------------------------------------------------------------------


@router.get("/api/vip", response_model=VipRead)
def vip(db: DbSession, viewer: CurrentViewer) -> VipRead:
    """Whether the viewer is VIP, on which plan, until when, and whether it renews."""
    return _vip_read(vip_passes.vip_status(db=db, account_id=viewer.id, now=utcnow()))


@router.post("/api/vip/auto-renew", response_model=VipRead)
def vip_auto_renew(body: AutoRenewUpdate, db: DbSession, viewer: CurrentViewer) -> VipRead:
    """Turn automatic renewal of the viewer's VIP on or off."""
    status = vip_passes.set_auto_renew(
        db=db, account_id=viewer.id, enabled=body.enabled, now=utcnow()
    )
    return _vip_read(status)


# --- the sandbox's checkout page ------------------------------------------------------------


def _checkout_page(
    request: Request,
    db: Session,
    purchase: Purchase,
    *,
    return_to: str,
    error: str = "",
    error_field: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "purchase": purchase,
        "is_coin_pack": purchase.kind == PurchaseKind.coin_pack,
        "is_order": purchase.kind == PurchaseKind.order,
        "plan": _vip_plan_of(db, purchase),
        "price": money(purchase.amount_cents, purchase.currency),
        "return_to": return_to,
        "done_url": with_query(return_to, purchase=purchase.id),
        "error": error or (purchase.failure_reason or ""),
        "error_field": error_field,
        "test_cards": TEST_CARDS,
    }
    response = templates.TemplateResponse(
        request, "sandbox_checkout.html", context, status_code=status_code
    )
    response.headers["Cache-Control"] = "no-store"
    # same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on the card
    # form's POST, which the CSRF middleware (rightly) refuses.
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _safe_return_to(return_to: str | None) -> str:
    try:
        return purchases.check_return_to(return_to)
    except DomainError:
        return "/"


@router.get("/sandbox/checkout/{session_id}", include_in_schema=False)
def sandbox_checkout(
    session_id: PathKey,
    request: Request,
    db: DbSession,
    settings: AppSettings,
    return_to: str = "/",
) -> HTMLResponse:
    """The sandbox's own card page for one checkout session."""
    if settings.payment_provider != SANDBOX:
        raise NotFound("The sandbox payment provider is not enabled.")
    purchase = purchases.get_sandbox_purchase(db=db, session_id=session_id)
    return _checkout_page(request, db, purchase, return_to=_safe_return_to(return_to))


@router.post("/sandbox/checkout/{session_id}", include_in_schema=False)
def sandbox_pay(
    session_id: PathKey,
    request: Request,
    db: DbSession,
    factory: SessionFactory,
    settings: AppSettings,
    card_number: FormText = "",
    expiry: FormText = "",
    cvc: FormText = "",
    return_to: FormText = "/",
) -> Response:
    """Pay with a test card: back to `return_to?purchase=<id>` when paid, the page with the
    reason when declined."""
    back = _safe_return_to(return_to)
    result = sandbox.pay_sandbox_checkout(
        sessionmaker=factory,
        settings=settings,
        session_id=session_id,
        card=Card(number=card_number, expiry=expiry, cvc=cvc),
    )
    if result.paid:
        return RedirectResponse(with_query(back, purchase=result.purchase.id), status_code=303)
    status_code = 422 if result.field else 402
    return _checkout_page(
        request,
        db,
        result.purchase,
        return_to=back,
        error=result.message,
        error_field=result.field,
        status_code=status_code,
    )
