"""Changing and deleting placements (the timeline editor's saves), for brands and creators.

A deleted placement is marked removed, not erased: the player stops showing it, the editor
stops listing it, and its impressions, clicks and orders stay in the brand's funnel.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from microdrama.accounts.models import Account
from microdrama.catalog import service as catalog
from microdrama.db import utcnow
from microdrama.errors import Conflict, NotFound
from microdrama.shop import service
from microdrama.shop.models import Campaign, CampaignStatus, Placement, PlacementEvent, Product
from microdrama.shop.schemas import MAX_PLACEMENT_MS
from microdrama.types import Id


class PlacementUpdate(BaseModel):
    """The placement body with every field optional: only the given ones change."""

    model_config = ConfigDict(extra="forbid")

    episode_id: Id | None = None
    product_id: Id | None = None
    start_ms: int | None = Field(default=None, ge=0, le=MAX_PLACEMENT_MS)
    end_ms: int | None = Field(default=None, ge=1, le=MAX_PLACEMENT_MS)
    x_permille: int | None = Field(default=None, ge=0, le=1000)
    y_permille: int | None = Field(default=None, ge=0, le=1000)

    @field_validator("end_ms")
    @classmethod
    def _ends_after_start(cls, end_ms: int | None, info: ValidationInfo) -> int | None:
        start_ms = info.data.get("start_ms")
        if start_ms is not None and end_ms is not None and end_ms <= start_ms:
            raise ValueError("must be after the start")
        return end_ms


class PlacementHasActivity(Conflict, code="placement_has_activity"): ...


def _placement(db: Session, placement_id: int) -> Placement:
    placement = db.get(Placement, placement_id)
    if placement is None or placement.removed_at is not None:
        raise NotFound("No such placement.", placement_id=placement_id)
    return placement


def get_placement_for_brand(*, db: Session, brand: Account, placement_id: int) -> Placement:
    """A live placement of one of the brand's campaigns (admins: any); 404 otherwise."""
    placement = _placement(db, placement_id)
    try:
        service.get_campaign_for_brand(db=db, brand=brand, campaign_id=placement.campaign_id)
    except NotFound as exc:
        raise NotFound("No such placement.", placement_id=placement_id) from exc
    return placement


def get_placement_for_creator(*, db: Session, creator: Account, placement_id: int) -> Placement:
    """A live placement in one of the creator's series (admins: any); 404 otherwise."""
    placement = _placement(db, placement_id)
    try:
        service.get_campaign_for_creator(db=db, creator=creator, campaign_id=placement.campaign_id)
    except NotFound as exc:
        raise NotFound("No such placement.", placement_id=placement_id) from exc
    return placement


def _has_activity(db: Session, placement: Placement) -> bool:
    query = select(PlacementEvent.id).where(PlacementEvent.placement_id == placement.id).limit(1)
    return db.scalar(query) is not None


def update_placement(*, db: Session, placement: Placement, data: PlacementUpdate) -> Placement:
    """Move, retime or re-point a placement, with the same checks as creating one. Once viewers
    have seen it, its episode and product stay (its numbers would be about something else)."""
    campaign = db.get(Campaign, placement.campaign_id)
    assert campaign is not None  # a foreign key
    if campaign.status != CampaignStatus.accepted:
        raise service.CampaignNotAccepted(
            "Placements can be changed only in an accepted campaign.",
            status=campaign.status.value,
        )
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    moves = {
        field
        for field in ("episode_id", "product_id")
        if field in changes and changes[field] != getattr(placement, field)
    }
    if moves and _has_activity(db, placement):
        raise PlacementHasActivity(
            "Viewers have already seen this placement, so its episode and product stay; "
            "delete it and place the product anew instead.",
            field=sorted(moves)[0],
        )
    episode_id = changes.get("episode_id", placement.episode_id)
    product_id = changes.get("product_id", placement.product_id)
    start_ms = changes.get("start_ms", placement.start_ms)
    end_ms = changes.get("end_ms", placement.end_ms)
    episode = catalog.get_episode(db=db, episode_id=episode_id)
    if episode is None or episode.series_id != campaign.series_id:
        raise service.InvalidPlacement(
            "This episode is not part of the campaign's series.",
            field="episode_id",
            episode_id=episode_id,
        )
    product = db.get(Product, product_id)
    if product is None or product.owner_id != campaign.brand_id:
        raise service.InvalidPlacement(
            "This product is not in the campaign brand's catalog.",
            field="product_id",
            product_id=product_id,
        )
    if end_ms <= start_ms:
        raise service.InvalidPlacement(
            "The placement must end after it starts.",
            field="end_ms",
            start_ms=start_ms,
            end_ms=end_ms,
        )
    if end_ms > episode.duration_ms:
        raise service.InvalidPlacement(
            f"The placement ends after the episode does ({episode.duration_ms} ms).",
            field="end_ms",
            duration_ms=episode.duration_ms,
        )
    for field, value in changes.items():
        setattr(placement, field, value)
    db.flush()
    return placement


def delete_placement(*, db: Session, placement: Placement) -> None:
    """Stop showing a placement; its attribution history stays in the funnels."""
    placement.removed_at = utcnow()
    db.flush()
