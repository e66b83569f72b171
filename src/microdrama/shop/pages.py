"""The brand's and the creator's shop pages: dashboard, catalog, campaigns, orders, the
campaign inbox, earnings and the timeline placement editor (see docs/shop-ui.md).

Pages are thin: they check who is asking, inline what the first screen needs (names, the
campaign, its episodes and products) and leave the rest to ES modules talking to the JSON API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from microdrama.accounts import service as accounts
from microdrama.accounts.deps import ensure_device_token, page_account
from microdrama.accounts.models import Account, Role
from microdrama.catalog import service as catalog
from microdrama.db import DbSession
from microdrama.errors import NotFound
from microdrama.paywall.entitlement import entitlement
from microdrama.shop import service
from microdrama.shop.brand_view import MAX_ACCOUNT_ID, brand_for
from microdrama.shop.catalog import service as shop_catalog
from microdrama.shop.models import Campaign
from microdrama.templating import PAGE_CACHE, templates
from microdrama.types import PathId

router = APIRouter(include_in_schema=False)

# Series a brand can pick for a new campaign (published ones, newest first).
SERIES_CHOICES = 100


def _render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    response = templates.TemplateResponse(
        request, template, context, status_code=status_code, headers={"Cache-Control": PAGE_CACHE}
    )
    ensure_device_token(request, response)
    return response


def _who(request: Request, db: DbSession, role: Role) -> Account | Response:
    """The signed-in account with this role (admins pass); else the sign-in page or a 403."""
    refusal = "This page is for creators." if role == Role.creator else None
    return page_account(request, db, role, refusal=refusal)


def _context(account: Account, section: str, **data: Any) -> dict[str, Any]:
    return {
        "account": {"name": account.display_name, "role": account.role.value},
        "section": section,
        "data": data,
    }


def _campaign_json(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "title": campaign.title,
        "series_id": campaign.series_id,
        "status": campaign.status.value,
        "commission_percent": campaign.commission_percent,
        "budget_cents": campaign.budget_cents,
        "starts_at": campaign.starts_at.isoformat(),
        "ends_at": campaign.ends_at.isoformat(),
    }


def _series_titles(db: DbSession, campaigns: list[Campaign]) -> dict[int, str]:
    titles: dict[int, str] = {}
    for series_id in {c.series_id for c in campaigns}:
        series = catalog.get(db=db, series_id=series_id)
        titles[series_id] = series.title if series else f"Series {series_id}"
    return titles


def _brand_names(db: DbSession, campaigns: list[Campaign]) -> dict[int, str]:
    names: dict[int, str] = {}
    for brand_id in {c.brand_id for c in campaigns}:
        brand = accounts.get(db=db, account_id=brand_id)
        names[brand_id] = brand.display_name if brand else f"Brand {brand_id}"
    return names


# Brand -------------------------------------------------------------------------------------


# An operator's pick of the brand to look at (see shop/brand_view.py).
BrandPick = Annotated[int | None, Query(ge=1, le=MAX_ACCOUNT_ID)]


def _brand_page(
    request: Request, db: DbSession, pick: int | None
) -> tuple[Account, Account] | Response:
    """(who is asking, the brand they look at), or the answer to give instead."""
    account = _who(request, db, Role.brand)
    if isinstance(account, Response):
        return account
    try:
        return account, brand_for(db, account, pick)
    except NotFound as exc:
        return _render(request, "not_found.html", {"message": exc.message}, status_code=404)


def _brand_context(
    db: DbSession, account: Account, brand: Account, section: str, **data: Any
) -> dict[str, Any]:
    """The page's context; an operator's also lists the brands to pick from, and its script
    sends the pick along with every call (`brand_id`)."""
    if account.role != Role.admin:
        return _context(account, section, brand_id=None, **data)
    picked = brand.id if brand.role == Role.brand else None
    context = _context(account, section, brand_id=picked, **data)
    choices = [{"id": b.id, "name": b.display_name} for b in accounts.list_brands(db=db)]
    context["brand_view"] = {"id": picked, "name": brand.display_name, "choices": choices}
    return context


@router.get("/brand", response_class=HTMLResponse)
def brand_dashboard(request: Request, db: DbSession, brand: BrandPick = None) -> Response:
    """The funnel by placement, campaign or series; charts; CSV export."""
    viewing = _brand_page(request, db, brand)
    if isinstance(viewing, Response):
        return viewing
    context = _brand_context(db, *viewing, "dashboard")
    return _render(request, "shop/dashboard.html", context)


@router.get("/brand/products", response_class=HTMLResponse)
def brand_products(request: Request, db: DbSession, brand: BrandPick = None) -> Response:
    """The catalog: products, variants and stock."""
    viewing = _brand_page(request, db, brand)
    if isinstance(viewing, Response):
        return viewing
    return _render(request, "shop/products.html", _brand_context(db, *viewing, "products"))


@router.get("/brand/campaigns", response_class=HTMLResponse)
def brand_campaigns(request: Request, db: DbSession, brand: BrandPick = None) -> Response:
    """The brand's campaigns with their status, and a form to request a new one."""
    viewing = _brand_page(request, db, brand)
    if isinstance(viewing, Response):
        return viewing
    feed = catalog.list_feed(db=db, storage=request.app.state.storage, limit=SERIES_CHOICES)
    campaigns = service.list_brand_campaigns(db=db, brand=viewing[1])
    titles = {item.id: item.title for item in feed} | _series_titles(db, campaigns)
    choices = [{"id": item.id, "title": item.title} for item in feed]
    context = _brand_context(db, *viewing, "campaigns", series=choices, series_titles=titles)
    return _render(request, "shop/campaigns.html", context)


@router.get("/brand/orders", response_class=HTMLResponse)
def brand_orders(request: Request, db: DbSession, brand: BrandPick = None) -> Response:
    """Orders of the brand's products: ship, deliver, refund."""
    viewing = _brand_page(request, db, brand)
    if isinstance(viewing, Response):
        return viewing
    return _render(request, "shop/orders.html", _brand_context(db, *viewing, "orders"))


def _editor(
    request: Request, db: DbSession, account: Account, campaign: Campaign, scope: str
) -> Response:
    series = catalog.get_visible(db=db, series_id=campaign.series_id, viewer=account)
    read = catalog.series_read(storage=request.app.state.storage, series=series)
    by_id = {e.id: e for e in series.episodes}
    episodes = [
        {
            "id": e.id,
            "number": e.number,
            "title": e.title,
            "duration_ms": e.duration_ms,
            "playlist_url": e.playlist_url,
            "poster_url": e.poster_url,
            # A brand may not have unlocked paid episodes: the editor then shows the poster.
            "playable": entitlement(db=db, viewer=account, episode=by_id[e.id]).allowed,
        }
        for e in read.episodes
    ]
    brand = accounts.get(db=db, account_id=campaign.brand_id)
    products = [
        {
            "id": p.id,
            "title": p.title,
            "price_cents": p.price_cents,
            "currency": p.currency,
            "image_url": p.image_urls[0] if p.image_urls else None,
            "active": p.active,
        }
        for p in (shop_catalog.list_products(db=db, brand=brand) if brand else [])
    ]
    context = _context(
        account,
        "campaigns",
        scope=scope,
        campaign=_campaign_json(campaign),
        series={"id": series.id, "title": series.title},
        brand_name=brand.display_name if brand else "",
        episodes=episodes,
        products=products,
    )
    return _render(request, "shop/editor.html", context)


@router.get("/brand/campaigns/{campaign_id}/editor", response_class=HTMLResponse)
def brand_editor(campaign_id: PathId, request: Request, db: DbSession) -> Response:
    """The timeline placement editor for one of the brand's campaigns."""
    brand = _who(request, db, Role.brand)
    if isinstance(brand, Response):
        return brand
    try:
        campaign = service.get_campaign_for_brand(db=db, brand=brand, campaign_id=campaign_id)
        return _editor(request, db, brand, campaign, "brand")
    except NotFound:
        message = "This campaign does not exist or is not yours."
        return _render(request, "not_found.html", {"message": message}, status_code=404)


# Studio ------------------------------------------------------------------------------------


@router.get("/studio/campaigns", response_class=HTMLResponse)
def studio_campaigns(request: Request, db: DbSession) -> Response:
    """The creator's inbox of brands' campaigns: accept or decline."""
    creator = _who(request, db, Role.creator)
    if isinstance(creator, Response):
        return creator
    campaigns = service.list_incoming_campaigns(db=db, creator=creator)
    context = _context(
        creator,
        "inbox",
        series_titles=_series_titles(db, campaigns),
        brand_names=_brand_names(db, campaigns),
    )
    return _render(request, "shop/inbox.html", context)


@router.get("/studio/campaigns/{campaign_id}/editor", response_class=HTMLResponse)
def studio_editor(campaign_id: PathId, request: Request, db: DbSession) -> Response:
    """The timeline placement editor for a campaign on one of the creator's series."""
    creator = _who(request, db, Role.creator)
    if isinstance(creator, Response):
        return creator
    try:
        campaign = service.get_campaign_for_creator(db=db, creator=creator, campaign_id=campaign_id)
        return _editor(request, db, creator, campaign, "studio")
    except NotFound:
        message = "This campaign does not exist or is not on your series."
        return _render(request, "not_found.html", {"message": message}, status_code=404)


@router.get("/studio/earnings", response_class=HTMLResponse)
def studio_earnings(request: Request, db: DbSession) -> Response:
    """Commission earned per placement, and in total."""
    creator = _who(request, db, Role.creator)
    if isinstance(creator, Response):
        return creator
    return _render(request, "shop/earnings.html", _context(creator, "earnings"))
