"""Shop logic: campaigns the series' creator decides on, placements and their attribution."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, ScalarSelect, and_, case, distinct, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, selectinload

from microdrama.accounts.models import Account, Role
from microdrama.catalog import service as catalog
from microdrama.db import utcnow
from microdrama.errors import Conflict, DomainError, NotFound
from microdrama.shop.models import (
    EARNING_STATUSES,
    Campaign,
    CampaignStatus,
    Order,
    OrderLine,
    Placement,
    PlacementEvent,
    PlacementEventKind,
    Product,
)
from microdrama.shop.schemas import (
    CampaignCreate,
    CampaignFunnel,
    PlacementCreate,
    PlacementFunnel,
    ShownPlacement,
    ShownProduct,
    ShownVariant,
)


class CampaignNotAccepted(Conflict, code="campaign_not_accepted"): ...


class CampaignAlreadyDecided(Conflict, code="campaign_already_decided"): ...


class InvalidPlacement(DomainError, code="invalid_placement", status_code=422): ...


def _is_admin(account: Account) -> bool:
    return account.role == Role.admin


# Campaigns ---------------------------------------------------------------------------------


def create_campaign(*, db: Session, brand: Account, data: CampaignCreate) -> Campaign:
    """A brand's request to place products in a series it can see; the creator decides."""
    series = catalog.get_visible(db=db, series_id=data.series_id, viewer=brand)
    campaign = Campaign(brand_id=brand.id, **data.model_dump())
    campaign.series_id = series.id
    db.add(campaign)
    db.flush()
    return campaign


def list_brand_campaigns(*, db: Session, brand: Account) -> list[Campaign]:
    """The brand's own campaigns, newest first."""
    query = select(Campaign).where(Campaign.brand_id == brand.id).order_by(Campaign.id.desc())
    return list(db.scalars(query))


def list_incoming_campaigns(*, db: Session, creator: Account) -> list[Campaign]:
    """Campaigns requesting the creator's series, newest first."""
    series_ids = catalog.owned_series_ids(db=db, owner=creator)
    query = select(Campaign).where(Campaign.series_id.in_(series_ids)).order_by(Campaign.id.desc())
    return list(db.scalars(query))


def _get_campaign(*, db: Session, campaign_id: int) -> Campaign:
    campaign = db.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("No such campaign.", campaign_id=campaign_id)
    return campaign


def _is_series_creator(*, db: Session, account: Account, campaign: Campaign) -> bool:
    series = catalog.get(db=db, series_id=campaign.series_id)
    return series is not None and series.owner_id == account.id


def get_campaign_for_brand(*, db: Session, brand: Account, campaign_id: int) -> Campaign:
    """One of the brand's campaigns (admins: any); 404 for anyone else's."""
    campaign = _get_campaign(db=db, campaign_id=campaign_id)
    if campaign.brand_id != brand.id and not _is_admin(brand):
        raise NotFound("No such campaign.", campaign_id=campaign_id)
    return campaign


def get_campaign_for_creator(*, db: Session, creator: Account, campaign_id: int) -> Campaign:
    """A campaign on one of the creator's series (admins: any); 404 for other series'."""
    campaign = _get_campaign(db=db, campaign_id=campaign_id)
    if not _is_series_creator(db=db, account=creator, campaign=campaign) and not _is_admin(creator):
        raise NotFound("No such campaign.", campaign_id=campaign_id)
    return campaign


def decide_campaign(*, db: Session, creator: Account, campaign_id: int, accept: bool) -> Campaign:
    """The series' creator accepts or declines a requested campaign (once)."""
    campaign = get_campaign_for_creator(db=db, creator=creator, campaign_id=campaign_id)
    if campaign.status != CampaignStatus.requested:
        raise CampaignAlreadyDecided(
            f"This campaign was already {campaign.status.value}.", status=campaign.status.value
        )
    campaign.status = CampaignStatus.accepted if accept else CampaignStatus.declined
    campaign.decided_at = utcnow()
    db.flush()
    return campaign


# Placements --------------------------------------------------------------------------------


def create_placement(
    *, db: Session, author: Account, campaign: Campaign, data: PlacementCreate
) -> Placement:
    """Show one of the campaign brand's products in one of the series' episodes
    (the caller has already checked the author may act for this campaign)."""
    if campaign.status != CampaignStatus.accepted:
        raise CampaignNotAccepted(
            "Products can be placed only once the series' creator has accepted the campaign.",
            status=campaign.status.value,
        )
    episode = catalog.get_episode(db=db, episode_id=data.episode_id)
    if episode is None or episode.series_id != campaign.series_id:
        raise InvalidPlacement(
            "This episode is not part of the campaign's series.",
            field="episode_id",
            episode_id=data.episode_id,
        )
    product = db.get(Product, data.product_id)
    if product is None or product.owner_id != campaign.brand_id:
        raise InvalidPlacement(
            "This product is not in the campaign brand's catalog.",
            field="product_id",
            product_id=data.product_id,
        )
    if data.end_ms > episode.duration_ms:
        raise InvalidPlacement(
            f"The placement ends after the episode does ({episode.duration_ms} ms).",
            field="end_ms",
            duration_ms=episode.duration_ms,
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


def campaign_spent_cents() -> ScalarSelect[int]:
    """The commissions a campaign's orders have earned (paid, not refunded), correlated to
    `Campaign`: what its budget is spent on."""
    placement = aliased(Placement)
    return (
        select(func.coalesce(func.sum(OrderLine.commission_cents), 0))
        .join(Order, Order.id == OrderLine.order_id)
        .join(placement, placement.id == OrderLine.placement_id)
        .where(placement.campaign_id == Campaign.id, Order.status.in_(EARNING_STATUSES))
        .correlate(Campaign)
        .scalar_subquery()
    )


def campaign_spending(*, db: Session, campaign_ids: list[int]) -> dict[int, int]:
    """Each campaign's spent budget (campaign_spent_cents for each of them)."""
    if not campaign_ids:
        return {}
    query = select(Campaign.id, campaign_spent_cents()).where(Campaign.id.in_(campaign_ids))
    return {campaign_id: int(cents) for campaign_id, cents in db.execute(query)}


def delivery(campaign: Campaign, spent_cents: int, now: datetime | None = None) -> str:
    """Where a campaign stands for the brand: requested / declined, or scheduled, live, ended,
    budget_spent (the same rules as campaign_is_live)."""
    if campaign.status != CampaignStatus.accepted:
        return campaign.status.value
    now = now or utcnow()
    if now < campaign.starts_at:
        return "scheduled"
    if now >= campaign.ends_at:
        return "ended"
    return "budget_spent" if spent_cents >= campaign.budget_cents else "live"


def campaign_is_live(now: datetime) -> ColumnElement[bool]:
    """An accepted campaign between its start and its end whose orders' commissions are still
    below its budget: its placements show. (An order paid after the budget ran out still pays
    its commission: a card open at that moment is honoured, as ad networks overdeliver.)"""
    return and_(
        Campaign.status == CampaignStatus.accepted,
        Campaign.starts_at <= now,
        Campaign.ends_at > now,
        campaign_spent_cents() < Campaign.budget_cents,
    )


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
            campaign_is_live(now or utcnow()),
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


# Attribution -------------------------------------------------------------------------------


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
    """The funnel of one of the brand's placements (admins: any); 404 for anyone else's."""
    placement = db.get(Placement, placement_id)
    if placement is None:
        raise NotFound("No such placement.", placement_id=placement_id)
    try:
        get_campaign_for_brand(db=db, brand=brand, campaign_id=placement.campaign_id)
    except NotFound as exc:
        raise NotFound("No such placement.", placement_id=placement_id) from exc
    return _placement_funnel(db, placement)


def campaign_funnel(*, db: Session, brand: Account, campaign_id: int) -> CampaignFunnel:
    """The funnel of one of the brand's campaigns, in total (a viewer of several placements
    counts once) and per placement; 404 for anyone else's campaign."""
    campaign = get_campaign_for_brand(db=db, brand=brand, campaign_id=campaign_id)
    placements = list_placements(db=db, campaign=campaign)
    placement_ids = select(Placement.id).where(Placement.campaign_id == campaign.id)
    return CampaignFunnel(
        campaign_id=campaign.id,
        placements=[_placement_funnel(db, p) for p in placements],
        **_funnel_numbers(_event_counts(db, placement_ids), _revenue_cents(db, placement_ids)),
    )
