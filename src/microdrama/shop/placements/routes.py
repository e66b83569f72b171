"""Placements API: a campaign's placements for its brand and for its series' creator (the
timeline editor's list and saves), the brand's funnels, and what the player shows and reports
during an episode (see docs/shop.md).

The brand and the creator have the same placement routes under their own prefixes
(/api/brand/..., /api/studio/...): `_party_router` builds them once per party.
"""

# No `from __future__ import annotations`: `_party_router` declares its routes' account
# parameter per party, and FastAPI reads the routes' annotations as objects.

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import TypeAdapter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from microdrama.accounts.deps import CurrentBrand, CurrentViewer, known_viewer, require_role
from microdrama.accounts.models import Account
from microdrama.cache import PublicCache
from microdrama.db import DbSession, SessionFactory, after_commit, session_scope
from microdrama.errors import NotFound
from microdrama.routing import add_routes
from microdrama.shop.campaigns import service as campaigns
from microdrama.shop.campaigns.service import PARTIES, PARTY_ROLES, Party
from microdrama.shop.models import Campaign, Placement, PlacementEventKind
from microdrama.shop.placements import attribution
from microdrama.shop.placements import service as placements
from microdrama.shop.placements.schemas import (
    CampaignFunnel,
    PlacementCreate,
    PlacementEventCreate,
    PlacementFunnel,
    PlacementRead,
    PlacementUpdate,
    ShownPlacement,
)
from microdrama.types import PathId

router = APIRouter(tags=["shop"])


def _party_router(party: Party) -> APIRouter:
    """The placement routes of one party: the placements of the campaigns it acts on (the
    brand's own; those on the creator's series), listed, added, changed and deleted."""
    parties = APIRouter(tags=["shop"])
    Acting = Annotated[Account, Depends(require_role(PARTY_ROLES[party]))]

    def campaign_of(campaign_id: PathId, db: DbSession, account: Acting) -> Campaign:
        return campaigns.get_campaign(db=db, party=party, account=account, campaign_id=campaign_id)

    def placement_of(placement_id: PathId, db: DbSession, account: Acting) -> Placement:
        return placements.get_placement(
            db=db, party=party, account=account, placement_id=placement_id
        )

    ItsCampaign = Annotated[Campaign, Depends(campaign_of)]
    ItsPlacement = Annotated[Placement, Depends(placement_of)]

    @parties.get(f"/api/{party}/campaigns/{{campaign_id}}/placements")
    def list_placements(campaign: ItsCampaign, db: DbSession) -> list[PlacementRead]:
        """The placements of a campaign."""
        listed = placements.list_placements(db=db, campaign=campaign)
        return [PlacementRead.model_validate(p) for p in listed]

    @parties.post(f"/api/{party}/campaigns/{{campaign_id}}/placements", status_code=201)
    def create_placement(
        campaign: ItsCampaign, data: PlacementCreate, db: DbSession, account: Acting
    ) -> PlacementRead:
        """Place the campaign brand's product in an episode of an accepted campaign's series."""
        placement = placements.create_placement(db=db, author=account, campaign=campaign, data=data)
        return PlacementRead.model_validate(placement)

    # The player's placements are cached per process (2 s fresh, then served stale while
    # rebuilt): a change clears this process's cache once committed (a rebuild racing with it
    # cannot cache the old placement again), before the answer; others follow within 2 s.

    @parties.patch(f"/api/{party}/placements/{{placement_id}}")
    def update_placement(
        placement: ItsPlacement, data: PlacementUpdate, db: DbSession, cache: PublicCache
    ) -> PlacementRead:
        """Change the time, position, episode or product of a placement."""
        placement = placements.update_placement(db=db, placement=placement, data=data)
        after_commit(db, cache.clear)
        return PlacementRead.model_validate(placement)

    @parties.delete(f"/api/{party}/placements/{{placement_id}}", status_code=204)
    def delete_placement(placement: ItsPlacement, db: DbSession, cache: PublicCache) -> Response:
        """Stop showing a placement (its numbers stay in the brand's funnel)."""
        placements.delete_placement(db=db, placement=placement)
        after_commit(db, cache.clear)
        return Response(status_code=204)

    return parties


for _party in PARTIES:
    add_routes(router, _party_router(_party))


@router.get("/api/brand/placements/{placement_id}/funnel")
def placement_funnel(placement_id: PathId, db: DbSession, brand: CurrentBrand) -> PlacementFunnel:
    """Impressions, unique viewers, clicks and click-through of one of the brand's placements."""
    return attribution.placement_funnel(db=db, brand=brand, placement_id=placement_id)


@router.get("/api/brand/campaigns/{campaign_id}/funnel")
def campaign_funnel(campaign_id: PathId, db: DbSession, brand: CurrentBrand) -> CampaignFunnel:
    """The funnel of one of the brand's campaigns, in total and per placement."""
    return attribution.campaign_funnel(db=db, brand=brand, campaign_id=campaign_id)


# The player ------------------------------------------------------------------------------


PUBLIC_CACHE = "public, max-age=5"
_SHOWN = TypeAdapter(list[ShownPlacement])


@router.get("/api/episodes/{episode_id}/placements", response_model=list[ShownPlacement])
async def episode_placements(
    episode_id: PathId, request: Request, factory: SessionFactory, cache: PublicCache
) -> Response:
    """The product cards to show during an episode, for anyone who can see its series.

    Episodes of published series are the same for everyone: answered from the per-process
    2-second cache of encoded bytes, like the feed (stock flags may lag by that much; checkout
    is what counts). Others (a creator's draft) are built per request and never shared."""

    def build(viewer_aware: bool) -> bytes:
        with session_scope(factory) as db:
            viewer = known_viewer(request, db) if viewer_aware else None
            shown = placements.episode_placements(db=db, episode_id=episode_id, viewer=viewer)
            return _SHOWN.dump_json(shown)

    try:
        body = await cache.get_or_build(("placements", episode_id), lambda: build(False))
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
    attribution.record_event(
        db=db,
        viewer=viewer,
        placement_id=placement_id,
        kind=PlacementEventKind(data.kind),
        event_id=data.event_id,
    )
    return Response(status_code=204)
