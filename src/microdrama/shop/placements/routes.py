"""Shop API: brands' campaigns and placements, the studio's side of them, and what the player
shows during an episode (see docs/shop.md)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import TypeAdapter
from starlette.concurrency import run_in_threadpool

from microdrama.accounts.deps import CurrentBrand, CurrentCreator, CurrentViewer, known_viewer
from microdrama.db import DbSession, session_scope
from microdrama.errors import NotFound
from microdrama.shop import service
from microdrama.shop.brand_view import BrandInView
from microdrama.shop.models import (
    Campaign,
    Placement,
    PlacementEventKind,
)
from microdrama.shop.schemas import (
    CampaignCreate,
    CampaignFunnel,
    CampaignRead,
    PlacementCreate,
    PlacementEventCreate,
    PlacementFunnel,
    PlacementRead,
    ShownPlacement,
)
from microdrama.types import PathId

router = APIRouter(tags=["shop"])


def _campaigns(db: DbSession, campaigns: list[Campaign]) -> list[CampaignRead]:
    spent = service.campaign_spending(db=db, campaign_ids=[c.id for c in campaigns])
    return [_campaign(c, spent.get(c.id, 0)) for c in campaigns]


def _campaign(campaign: Campaign, spent_cents: int) -> CampaignRead:
    return CampaignRead(
        id=campaign.id,
        brand_id=campaign.brand_id,
        series_id=campaign.series_id,
        title=campaign.title,
        budget_cents=campaign.budget_cents,
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        commission_percent=campaign.commission_percent,
        status=campaign.status.value,
        decided_at=campaign.decided_at,
        spent_cents=spent_cents,
        delivery=service.delivery(campaign, spent_cents),
    )


def _placement(placement: Placement) -> PlacementRead:
    return PlacementRead(
        id=placement.id,
        campaign_id=placement.campaign_id,
        episode_id=placement.episode_id,
        product_id=placement.product_id,
        start_ms=placement.start_ms,
        end_ms=placement.end_ms,
        x_permille=placement.x_permille,
        y_permille=placement.y_permille,
    )


# Brand -------------------------------------------------------------------------------------


@router.post("/api/brand/campaigns", status_code=201)
def create_campaign(data: CampaignCreate, db: DbSession, brand: BrandInView) -> CampaignRead:
    """Ask a series' creator to accept the brand's placements."""
    return _campaign(service.create_campaign(db=db, brand=brand, data=data), spent_cents=0)


@router.get("/api/brand/campaigns")
def list_brand_campaigns(db: DbSession, brand: BrandInView) -> list[CampaignRead]:
    """The brand's own campaigns and their status."""
    return _campaigns(db, service.list_brand_campaigns(db=db, brand=brand))


@router.get("/api/brand/campaigns/{campaign_id}/placements")
def list_brand_placements(
    campaign_id: PathId, db: DbSession, brand: CurrentBrand
) -> list[PlacementRead]:
    """The placements of one of the brand's campaigns."""
    campaign = service.get_campaign_for_brand(db=db, brand=brand, campaign_id=campaign_id)
    return [_placement(p) for p in service.list_placements(db=db, campaign=campaign)]


@router.post("/api/brand/campaigns/{campaign_id}/placements", status_code=201)
def create_brand_placement(
    campaign_id: PathId, data: PlacementCreate, db: DbSession, brand: CurrentBrand
) -> PlacementRead:
    """Place one of the brand's products in an episode of an accepted campaign's series."""
    campaign = service.get_campaign_for_brand(db=db, brand=brand, campaign_id=campaign_id)
    return _placement(service.create_placement(db=db, author=brand, campaign=campaign, data=data))


@router.get("/api/brand/placements/{placement_id}/funnel")
def placement_funnel(placement_id: PathId, db: DbSession, brand: CurrentBrand) -> PlacementFunnel:
    """Impressions, unique viewers, clicks and click-through of one of the brand's placements."""
    return service.placement_funnel(db=db, brand=brand, placement_id=placement_id)


@router.get("/api/brand/campaigns/{campaign_id}/funnel")
def campaign_funnel(campaign_id: PathId, db: DbSession, brand: CurrentBrand) -> CampaignFunnel:
    """The funnel of one of the brand's campaigns, in total and per placement."""
    return service.campaign_funnel(db=db, brand=brand, campaign_id=campaign_id)


# Studio ------------------------------------------------------------------------------------


@router.get("/api/studio/campaigns")
def list_incoming_campaigns(db: DbSession, creator: CurrentCreator) -> list[CampaignRead]:
    """Campaigns requesting the creator's series."""
    return _campaigns(db, service.list_incoming_campaigns(db=db, creator=creator))


@router.post("/api/studio/campaigns/{campaign_id}/accept")
def accept_campaign(campaign_id: PathId, db: DbSession, creator: CurrentCreator) -> CampaignRead:
    """Accept a brand's campaign on one of the creator's series."""
    campaign = service.decide_campaign(db=db, creator=creator, campaign_id=campaign_id, accept=True)
    return _campaigns(db, [campaign])[0]


@router.post("/api/studio/campaigns/{campaign_id}/decline")
def decline_campaign(campaign_id: PathId, db: DbSession, creator: CurrentCreator) -> CampaignRead:
    """Decline a brand's campaign on one of the creator's series."""
    campaign = service.decide_campaign(
        db=db, creator=creator, campaign_id=campaign_id, accept=False
    )
    return _campaigns(db, [campaign])[0]


@router.get("/api/studio/campaigns/{campaign_id}/placements")
def list_studio_placements(
    campaign_id: PathId, db: DbSession, creator: CurrentCreator
) -> list[PlacementRead]:
    """The placements of a campaign on one of the creator's series."""
    campaign = service.get_campaign_for_creator(db=db, creator=creator, campaign_id=campaign_id)
    return [_placement(p) for p in service.list_placements(db=db, campaign=campaign)]


@router.post("/api/studio/campaigns/{campaign_id}/placements", status_code=201)
def create_studio_placement(
    campaign_id: PathId, data: PlacementCreate, db: DbSession, creator: CurrentCreator
) -> PlacementRead:
    """The creator places the campaign brand's product in one of the series' episodes."""
    campaign = service.get_campaign_for_creator(db=db, creator=creator, campaign_id=campaign_id)
    placement = service.create_placement(db=db, author=creator, campaign=campaign, data=data)
    return _placement(placement)


# Player ------------------------------------------------------------------------------------


PUBLIC_CACHE = "public, max-age=5"
_SHOWN = TypeAdapter(list[ShownPlacement])


@router.get("/api/episodes/{episode_id}/placements", response_model=list[ShownPlacement])
async def episode_placements(episode_id: PathId, request: Request) -> Response:
    """The product cards to show during an episode, for anyone who can see its series.

    Episodes of published series are the same for everyone: answered from the per-process
    2-second cache of encoded bytes, like the feed (stock flags may lag by that much; checkout
    is what counts). Others (a creator's draft) are built per request and never shared."""
    state = request.app.state

    def build(viewer_aware: bool) -> bytes:
        with session_scope(state.sessionmaker) as db:
            viewer = known_viewer(request, db) if viewer_aware else None
            shown = service.episode_placements(db=db, episode_id=episode_id, viewer=viewer)
            return _SHOWN.dump_json(shown)

    try:
        body = await state.public_cache.get_or_build(
            ("placements", episode_id), lambda: build(False)
        )
    except NotFound:
        body = await run_in_threadpool(build, True)
        return Response(
            body, media_type="application/json", headers={"Cache-Control": "private, no-store"}
        )
    return Response(body, media_type="application/json", headers={"Cache-Control": PUBLIC_CACHE})


@router.post("/api/placements/{placement_id}/events", status_code=204)
def record_placement_event(
    placement_id: PathId, data: PlacementEventCreate, db: DbSession, viewer: CurrentViewer
) -> Response:
    """The player reports that a product card was shown or opened; a resent event counts once."""
    service.record_event(
        db=db,
        viewer=viewer,
        placement_id=placement_id,
        kind=PlacementEventKind(data.kind),
        event_id=data.event_id,
    )
    return Response(status_code=204)
