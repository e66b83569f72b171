"""The brand's and the creator's shop pages: dashboard, catalog, campaigns, orders, the
campaign inbox, earnings and the timeline placement editor (see docs/shop-ui.md).

Pages are thin: they check who is asking, inline what the first screen needs (names, the
campaign, its episodes and products) and leave the rest to ES modules talking to the JSON API.
The brand's campaigns and the creator's inbox are one page, and so is the placement editor:
what differs between the two parties is data (`CAMPAIGN_PAGES`, `_editor_page`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse

from microdrama.accounts import service as accounts
from microdrama.accounts.deps import ensure_device_token
from microdrama.accounts.models import Account, Role
from microdrama.accounts.page_guard import PageRoute, signed_in_page
from microdrama.catalog import service as catalog
from microdrama.db import DbSession
from microdrama.errors import NotFound
from microdrama.paywall.entitlement import entitlement
from microdrama.shop.brand_view import MAX_ACCOUNT_ID, brand_for
from microdrama.shop.campaigns import service as campaigns
from microdrama.shop.campaigns.service import PARTIES, PARTY_ROLES, Party
from microdrama.shop.catalog import service as shop_catalog
from microdrama.shop.models import Campaign
from microdrama.storage import AppStorage
from microdrama.templating import render_page
from microdrama.types import PathId

router = APIRouter(include_in_schema=False, route_class=PageRoute)

# Series a brand can pick for a new campaign (published ones, newest first).
SERIES_CHOICES = 100

# The campaigns page of each party: the brand requests campaigns and follows their delivery,
# the creator accepts or declines them (one template, shop/campaigns.html; one script).
CAMPAIGN_PAGES: dict[Party, dict[str, str]] = {
    "brand": {
        "title": "Campaigns",
        "testid": "brand-campaigns",
        "hint": "",
        "empty": "No campaigns yet: request one above; the series' creator accepts or declines it.",
    },
    "studio": {
        "title": "Brand campaigns",
        "testid": "studio-campaigns",
        "hint": "Brands ask to place products in your series. Accept to let them (and you) "
        "place products on the timeline; you earn the commission on every order.",
        "empty": "No brand has asked yet.",
    },
}
# Why the editor of a campaign is not found, for each party.
NOT_YOURS: dict[Party, str] = {
    "brand": "This campaign does not exist or is not yours.",
    "studio": "This campaign does not exist or is not on your series.",
}


def _render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    response = render_page(request, template, context, status_code=status_code)
    ensure_device_token(request, response)
    return response


def _not_found(request: Request, message: str) -> HTMLResponse:
    return _render(request, "not_found.html", {"message": message}, status_code=404)


# Who may open a party's pages: the signed-in account of its role (admins pass); guests go to
# sign in, other roles get a 403 page.
PARTY_ACCOUNT: dict[Party, Callable[..., Account]] = {
    party: signed_in_page(role, refusal="This page is for creators." if party == "studio" else None)
    for party, role in PARTY_ROLES.items()
}
BrandAccount = Annotated[Account, Depends(PARTY_ACCOUNT["brand"])]
CreatorAccount = Annotated[Account, Depends(PARTY_ACCOUNT["studio"])]


def _context(account: Account, **data: Any) -> dict[str, Any]:
    return {"account": {"name": account.display_name, "role": account.role.value}, "data": data}


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


def _series_titles(db: DbSession, listed: list[Campaign]) -> dict[int, str]:
    titles: dict[int, str] = {}
    for series_id in {c.series_id for c in listed}:
        series = catalog.get(db=db, series_id=series_id)
        titles[series_id] = series.title if series else f"Series {series_id}"
    return titles


def _brand_names(db: DbSession, listed: list[Campaign]) -> dict[int, str]:
    names: dict[int, str] = {}
    for brand_id in {c.brand_id for c in listed}:
        brand = accounts.get(db=db, account_id=brand_id)
        names[brand_id] = brand.display_name if brand else f"Brand {brand_id}"
    return names


def _campaigns_page(request: Request, party: Party, context: dict[str, Any]) -> Response:
    """The brand's campaigns or the creator's inbox: one template and one script, told the
    party (`data.party`) and its words (`page`)."""
    context["data"]["party"] = party
    return _render(request, "shop/campaigns.html", {**context, "page": CAMPAIGN_PAGES[party]})


# Brand -------------------------------------------------------------------------------------


# An operator's pick of the brand to look at (see shop/brand_view.py).
BrandPick = Annotated[int | None, Query(ge=1, le=MAX_ACCOUNT_ID)]


def _brand_page(
    request: Request, db: DbSession, account: Account, pick: int | None
) -> tuple[Account, Account] | Response:
    """(who is asking, the brand they look at), or the 404 page when there is no such brand."""
    try:
        return account, brand_for(db, account, pick)
    except NotFound as exc:
        return _not_found(request, exc.message)


def _brand_context(db: DbSession, account: Account, brand: Account, **data: Any) -> dict[str, Any]:
    """The page's context; an operator's also lists the brands to pick from, and its script
    sends the pick along with every call (`brand_id`)."""
    if account.role != Role.admin:
        return _context(account, brand_id=None, **data)
    picked = brand.id if brand.role == Role.brand else None
    context = _context(account, brand_id=picked, **data)
    choices = [{"id": b.id, "name": b.display_name} for b in accounts.list_brands(db=db)]
    context["brand_view"] = {"id": picked, "name": brand.display_name, "choices": choices}
    return context


def _brand_section(template: str) -> Callable[..., Response]:
    """A brand page whose script loads all it shows."""

    def page(
        request: Request, db: DbSession, account: BrandAccount, brand: BrandPick = None
    ) -> Response:
        viewing = _brand_page(request, db, account, brand)
        if isinstance(viewing, Response):
            return viewing
        return _render(request, template, _brand_context(db, *viewing))

    return page


# The funnel by placement, campaign or series (charts, CSV export); the catalog (products,
# variants, stock); orders of the brand's products (ship, deliver, refund).
for _path, _template in (
    ("/brand", "shop/dashboard.html"),
    ("/brand/products", "shop/products.html"),
    ("/brand/orders", "shop/orders.html"),
):
    router.get(_path, response_class=HTMLResponse)(_brand_section(_template))


@router.get("/brand/campaigns", response_class=HTMLResponse)
def brand_campaigns(
    request: Request,
    db: DbSession,
    storage: AppStorage,
    account: BrandAccount,
    brand: BrandPick = None,
) -> Response:
    """The brand's campaigns with their status, and a form to request a new one."""
    viewing = _brand_page(request, db, account, brand)
    if isinstance(viewing, Response):
        return viewing
    feed = catalog.list_feed(db=db, storage=storage, limit=SERIES_CHOICES)
    listed = campaigns.list_brand_campaigns(db=db, brand=viewing[1])
    titles = {item.id: item.title for item in feed} | _series_titles(db, listed)
    choices = [{"id": item.id, "title": item.title} for item in feed]
    context = _brand_context(db, *viewing, series=choices, series_titles=titles)
    return _campaigns_page(request, "brand", context)


# Studio ------------------------------------------------------------------------------------


@router.get("/studio/campaigns", response_class=HTMLResponse)
def studio_campaigns(request: Request, db: DbSession, creator: CreatorAccount) -> Response:
    """The creator's inbox of brands' campaigns: accept or decline."""
    listed = campaigns.list_incoming_campaigns(db=db, creator=creator)
    titles, names = _series_titles(db, listed), _brand_names(db, listed)
    context = _context(creator, series_titles=titles, brand_names=names)
    return _campaigns_page(request, "studio", context)


@router.get("/studio/earnings", response_class=HTMLResponse)
def studio_earnings(request: Request, creator: CreatorAccount) -> Response:
    """Commission earned per placement, and in total."""
    return _render(request, "shop/earnings.html", _context(creator))


# The placement editor, for both parties ----------------------------------------------------


def _editor(db: DbSession, storage: AppStorage, account: Account, campaign: Campaign) -> Any:
    series = catalog.get_visible(db=db, series_id=campaign.series_id, viewer=account)
    read = catalog.series_read(storage=storage, series=series)
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
    return {
        "campaign": _campaign_json(campaign),
        "series": {"id": series.id, "title": series.title},
        "brand_name": brand.display_name if brand else "",
        "episodes": episodes,
        "products": products,
    }


def _editor_page(party: Party) -> Callable[..., Response]:
    # The party's account as a default, not an Annotated alias: annotations are read from
    # this module's globals, where `party` is not.
    party_account = Depends(PARTY_ACCOUNT[party])

    def editor(
        campaign_id: PathId,
        request: Request,
        db: DbSession,
        storage: AppStorage,
        account: Account = party_account,
    ) -> Response:
        try:
            campaign = campaigns.get_campaign(
                db=db, party=party, account=account, campaign_id=campaign_id
            )
            data = _editor(db, storage, account, campaign)
        except NotFound:
            return _not_found(request, NOT_YOURS[party])
        return _render(request, "shop/editor.html", _context(account, party=party, **data))

    editor.__doc__ = f"The timeline placement editor of a campaign, for its {party}."
    return editor


for _party in PARTIES:
    router.get(f"/{_party}/campaigns/{{campaign_id}}/editor", response_class=HTMLResponse)(
        _editor_page(_party)
    )
