"""Placement edit/delete API for brands and creators (the timeline editor's saves)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from microdrama.accounts.deps import CurrentBrand, CurrentCreator
from microdrama.db import DbSession
from microdrama.shop import placement_edit
from microdrama.shop.models import Placement
from microdrama.shop.placement_edit import PlacementUpdate
from microdrama.shop.schemas import PlacementRead
from microdrama.types import PathId

router = APIRouter(tags=["shop"])


def _read(placement: Placement) -> PlacementRead:
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


def _forget_shown(request: Request, db: DbSession) -> None:
    """The player's placements are cached per process (2 s fresh, then served stale while
    rebuilt): this process answers with the change at once, others within their 2 s. Committed
    first, so a rebuild racing with this request cannot cache the old placement again."""
    db.commit()
    request.app.state.public_cache.clear()


@router.patch("/api/brand/placements/{placement_id}")
def update_brand_placement(
    placement_id: PathId,
    data: PlacementUpdate,
    request: Request,
    db: DbSession,
    brand: CurrentBrand,
) -> PlacementRead:
    """Change the time, position, episode or product of one of the brand's placements."""
    placement = placement_edit.get_placement_for_brand(
        db=db, brand=brand, placement_id=placement_id
    )
    placement = placement_edit.update_placement(db=db, placement=placement, data=data)
    _forget_shown(request, db)
    return _read(placement)


@router.delete("/api/brand/placements/{placement_id}", status_code=204)
def delete_brand_placement(
    placement_id: PathId, request: Request, db: DbSession, brand: CurrentBrand
) -> Response:
    """Stop showing one of the brand's placements (its numbers stay in the funnel)."""
    placement = placement_edit.get_placement_for_brand(
        db=db, brand=brand, placement_id=placement_id
    )
    placement_edit.delete_placement(db=db, placement=placement)
    _forget_shown(request, db)
    return Response(status_code=204)


@router.patch("/api/studio/placements/{placement_id}")
def update_studio_placement(
    placement_id: PathId,
    data: PlacementUpdate,
    request: Request,
    db: DbSession,
    creator: CurrentCreator,
) -> PlacementRead:
    """Change a placement in one of the creator's series."""
    placement = placement_edit.get_placement_for_creator(
        db=db, creator=creator, placement_id=placement_id
    )
    placement = placement_edit.update_placement(db=db, placement=placement, data=data)
    _forget_shown(request, db)
    return _read(placement)


@router.delete("/api/studio/placements/{placement_id}", status_code=204)
def delete_studio_placement(
    placement_id: PathId, request: Request, db: DbSession, creator: CurrentCreator
) -> Response:
    """Stop showing a placement in one of the creator's series."""
    placement = placement_edit.get_placement_for_creator(
        db=db, creator=creator, placement_id=placement_id
    )
    placement_edit.delete_placement(db=db, placement=placement)
    _forget_shown(request, db)
    return Response(status_code=204)
