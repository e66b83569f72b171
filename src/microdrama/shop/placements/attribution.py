"""Attribution: the player's impressions and clicks of a placement, counted once each, and
the brand's funnels (impressions, unique viewers, clicks, orders, revenue)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, case, distinct, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from microdrama.accounts.models import Account
from microdrama.catalog import service as catalog
from microdrama.errors import NotFound
from microdrama.shop.campaigns import service as campaigns
from microdrama.shop.models import (
    EARNING_STATUSES,
    Order,
    OrderLine,
    Placement,
    PlacementEvent,
    PlacementEventKind,
)
from microdrama.shop.placements import service as placements
from microdrama.shop.placements.schemas import CampaignFunnel, PlacementFunnel


def record_event(
    *, db: Session, viewer: Account, placement_id: int, kind: PlacementEventKind, event_id: str
) -> bool:
    """Count one impression or click of a placement the viewer can see. A resent event (same
    placement, viewer and event id) is not counted again; returns whether it was new."""
    placement = db.get(Placement, placement_id)
    if placement is None:
        raise NotFound("No such placement.", placement_id=placement_id)
    episode = catalog.get_episode(db=db, episode_id=placement.episode_id)
    if episode is None:
        raise NotFound("No such placement.", placement_id=placement_id)
    try:
        catalog.get_visible(db=db, series_id=episode.series_id, viewer=viewer)
    except NotFound as exc:
        raise NotFound("No such placement.", placement_id=placement_id) from exc
    viewer_key = f"a:{viewer.id}"
    seen = db.scalar(
        select(PlacementEvent.id).where(
            PlacementEvent.placement_id == placement_id,
            PlacementEvent.viewer_key == viewer_key,
            PlacementEvent.event_id == event_id,
        )
    )
    if seen is not None:
        return False
    try:
        with db.begin_nested():
            db.add(
                PlacementEvent(
                    placement_id=placement_id,
                    kind=kind,
                    account_id=viewer.id,
                    viewer_key=viewer_key,
                    event_id=event_id,
                )
            )
            db.flush()
    except IntegrityError:  # the same event, committed a moment ago by a concurrent request
        return False
    return True


def _permille(part: int, whole: int) -> int:
    return part * 1000 // whole if whole else 0


def _event_counts(db: Session, placement_ids: Any) -> Row[Any]:
    is_impression = PlacementEvent.kind == PlacementEventKind.impression
    is_click = PlacementEvent.kind == PlacementEventKind.click
    is_order = PlacementEvent.kind == PlacementEventKind.order
    query = select(
        func.coalesce(func.sum(case((is_impression, 1), else_=0)), 0),
        func.count(distinct(PlacementEvent.viewer_key)),
        func.coalesce(func.sum(case((is_click, 1), else_=0)), 0),
        func.coalesce(func.sum(case((is_order, 1), else_=0)), 0),
    ).where(PlacementEvent.placement_id.in_(placement_ids))
    return db.execute(query).one()


def _revenue_cents(db: Session, placement_ids: Any) -> int:
    """Paid, unrefunded order lines attributed to these placements."""
    query = (
        select(func.coalesce(func.sum(OrderLine.quantity * OrderLine.unit_price_cents), 0))
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            OrderLine.placement_id.in_(placement_ids),
            Order.status.in_(EARNING_STATUSES),
        )
    )
    return int(db.scalar(query) or 0)


def _funnel_numbers(counts: Row[Any], revenue_cents: int) -> dict[str, int]:
    impressions, viewers, clicks, orders = (int(v) for v in counts)
    return {
        "impressions": impressions,
        "unique_viewers": viewers,
        "clicks": clicks,
        "click_through_permille": _permille(clicks, impressions),
        "orders": orders,
        "revenue_cents": revenue_cents,
    }


def _placement_funnel(db: Session, placement: Placement) -> PlacementFunnel:
    ids = [placement.id]
    return PlacementFunnel(
        placement_id=placement.id,
        episode_id=placement.episode_id,
        product_id=placement.product_id,
        **_funnel_numbers(_event_counts(db, ids), _revenue_cents(db, ids)),
    )


def placement_funnel(*, db: Session, brand: Account, placement_id: int) -> PlacementFunnel:
    """The funnel of one of the brand's placements, deleted ones too (admins: any); 404 for
    anyone else's."""
    placement = placements.get_placement(
        db=db, party="brand", account=brand, placement_id=placement_id, removed_too=True
    )
    return _placement_funnel(db, placement)


def campaign_funnel(*, db: Session, brand: Account, campaign_id: int) -> CampaignFunnel:
    """The funnel of one of the brand's campaigns, in total (a viewer of several placements
    counts once) and per placement; 404 for anyone else's campaign."""
    campaign = campaigns.get_campaign(db=db, party="brand", account=brand, campaign_id=campaign_id)
    listed = placements.list_placements(db=db, campaign=campaign)
    placement_ids = select(Placement.id).where(Placement.campaign_id == campaign.id)
    return CampaignFunnel(
        campaign_id=campaign.id,
        placements=[_placement_funnel(db, p) for p in listed],
        **_funnel_numbers(_event_counts(db, placement_ids), _revenue_cents(db, placement_ids)),
    )
