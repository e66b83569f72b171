"""Placements: made, changed and deleted by a campaign's brand or its series' creator (the
timeline editor's saves), and the ones the player shows during an episode.

A deleted placement is marked removed, not erased: the player stops showing it, the editor
stops listing it, and its impressions, clicks and orders stay in the brand's funnel.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from microdrama.accounts.models import Account
from microdrama.catalog import service as catalog
from microdrama.db import utcnow
from microdrama.errors import Conflict, DomainError, NotFound
from microdrama.shop.campaigns import service as campaigns
from microdrama.shop.campaigns.service import Party
from microdrama.shop.models import Campaign, Placement, PlacementEvent, Product
from microdrama.shop.placements.schemas import (
    PlacementCreate,
    PlacementUpdate,
    ShownPlacement,
    ShownProduct,
    ShownVariant,
)


class InvalidPlacement(DomainError, code="invalid_placement", status_code=422): ...


class PlacementHasActivity(Conflict, code="placement_has_activity"): ...


def _check(
    db: Session, campaign: Campaign, *, episode_id: int, product_id: int, start_ms: int, end_ms: int
) -> None:
    """The same checks for a new placement and a changed one: the episode is in the campaign's
    series, the product in its brand's catalog, the times inside the episode."""
    episode = catalog.get_episode(db=db, episode_id=episode_id)
    if episode is None or episode.series_id != campaign.series_id:
        raise InvalidPlacement(
            "This episode is not part of the campaign's series.",
            field="episode_id",
            episode_id=episode_id,
        )
    product = db.get(Product, product_id)
    if product is None or product.owner_id != campaign.brand_id:
        raise InvalidPlacement(
            "This product is not in the campaign brand's catalog.",
            field="product_id",
            product_id=product_id,
        )
    if end_ms <= start_ms:
        raise InvalidPlacement(
            "The placement must end after it starts.",
            field="end_ms",
            start_ms=start_ms,
            end_ms=end_ms,
        )
    if end_ms > episode.duration_ms:
        raise InvalidPlacement(
            f"The placement ends after the episode does ({episode.duration_ms} ms).",
            field="end_ms",
            duration_ms=episode.duration_ms,
        )


def create_placement(
    *, db: Session, author: Account, campaign: Campaign, data: PlacementCreate
) -> Placement:
    """Show one of the campaign brand's products in one of the series' episodes
    (the caller has already checked the author may act for this campaign)."""
    campaigns.require_accepted(
        campaign, "Products can be placed only once the series' creator has accepted the campaign."
    )
    _check(
        db,
        campaign,
        episode_id=data.episode_id,
        product_id=data.product_id,
        start_ms=data.start_ms,
        end_ms=data.end_ms,
    )
    placement = Placement(campaign_id=campaign.id, created_by_id=author.id, **data.model_dump())
    db.add(placement)
    db.flush()
    return placement


def list_placements(*, db: Session, campaign: Campaign) -> list[Placement]:
    """The campaign's placements, by episode and start time."""
    query = (
        select(Placement)
        .where(Placement.campaign_id == campaign.id, Placement.removed_at.is_(None))
        .order_by(Placement.episode_id, Placement.start_ms, Placement.id)
    )
    return list(db.scalars(query))


def get_placement(
    *, db: Session, party: Party, account: Account, placement_id: int, removed_too: bool = False
) -> Placement:
    """A live placement (or a deleted one too) of a campaign the account acts on as `party`
    (admins: any); 404 otherwise."""
    placement = db.get(Placement, placement_id)
    if placement is None or (placement.removed_at is not None and not removed_too):
        raise NotFound("No such placement.", placement_id=placement_id)
    try:
        campaigns.get_campaign(
            db=db, party=party, account=account, campaign_id=placement.campaign_id
        )
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
    campaigns.require_accepted(campaign, "Placements can be changed only in an accepted campaign.")
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
    merged = {
        field: changes.get(field, getattr(placement, field))
        for field in ("episode_id", "product_id", "start_ms", "end_ms")
    }
    _check(db, campaign, **merged)
    for field, value in changes.items():
        setattr(placement, field, value)
    db.flush()
    return placement


def delete_placement(*, db: Session, placement: Placement) -> None:
    """Stop showing a placement; its attribution history stays in the funnels."""
    placement.removed_at = utcnow()
    db.flush()


# What the player shows -----------------------------------------------------------------------


def episode_placements(
    *, db: Session, episode_id: int, viewer: Account | None, now: datetime | None = None
) -> list[ShownPlacement]:
    """What the player shows during an episode of a series the viewer can see: placements of
    live campaigns (accepted, running, budget left) with active products, each with its
    variants' stock flags."""
    episode = catalog.get_episode(db=db, episode_id=episode_id)
    if episode is None:
        raise NotFound("No such episode.", episode_id=episode_id)
    catalog.get_visible(db=db, series_id=episode.series_id, viewer=viewer)
    query = (
        select(Placement)
        .join(Campaign, Campaign.id == Placement.campaign_id)
        .join(Product, Product.id == Placement.product_id)
        .where(
            Placement.episode_id == episode_id,
            Placement.removed_at.is_(None),
            campaigns.campaign_is_live(now or utcnow()),
            Product.active.is_(True),
        )
        .options(selectinload(Placement.product).selectinload(Product.variants))
        .order_by(Placement.start_ms, Placement.id)
    )
    return [_shown(p) for p in db.scalars(query)]


def _shown(placement: Placement) -> ShownPlacement:
    product = placement.product
    return ShownPlacement(
        id=placement.id,
        start_ms=placement.start_ms,
        end_ms=placement.end_ms,
        x_permille=placement.x_permille,
        y_permille=placement.y_permille,
        product=ShownProduct(
            id=product.id,
            title=product.title,
            price_cents=product.price_cents,
            currency=product.currency,
            image_url=product.image_urls[0] if product.image_urls else None,
            variants=[
                ShownVariant(
                    id=v.id,
                    name=v.name,
                    price_cents=v.price_cents if v.price_cents is not None else product.price_cents,
                    in_stock=v.stock > 0,
                )
                for v in product.variants
            ],
        ),
    )
