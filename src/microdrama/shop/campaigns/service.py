"""Campaigns: a brand's request, the creator's decision, the budget spent and when it shows."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement, ScalarSelect, and_, func, select
from sqlalchemy.orm import Session, aliased

from microdrama.accounts.models import Account, Role
from microdrama.catalog import service as catalog
from microdrama.db import utcnow
from microdrama.errors import Conflict, NotFound
from microdrama.shop.campaigns.schemas import CampaignCreate
from microdrama.shop.models import (
    EARNING_STATUSES,
    Campaign,
    CampaignStatus,
    Order,
    OrderLine,
    Placement,
)

# Who acts on a campaign: its brand, or the creator of its series (their studio). Each has
# the same API under its own prefix (/api/brand/..., /api/studio/...) and the same pages.
Party = Literal["brand", "studio"]
PARTIES: tuple[Party, ...] = ("brand", "studio")
PARTY_ROLES: dict[Party, Role] = {"brand": Role.brand, "studio": Role.creator}


class CampaignNotAccepted(Conflict, code="campaign_not_accepted"): ...


class CampaignAlreadyDecided(Conflict, code="campaign_already_decided"): ...


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


def _acts_for(db: Session, party: Party, account: Account, campaign: Campaign) -> bool:
    if party == "brand":
        return campaign.brand_id == account.id
    series = catalog.get(db=db, series_id=campaign.series_id)
    return series is not None and series.owner_id == account.id


def get_campaign(*, db: Session, party: Party, account: Account, campaign_id: int) -> Campaign:
    """A campaign the account acts on as `party`: the brand's own, or one on the creator's
    series (admins: any); 404 for anyone else's."""
    campaign = db.get(Campaign, campaign_id)
    if campaign is None or not (
        _acts_for(db, party, account, campaign) or account.role == Role.admin
    ):
        raise NotFound("No such campaign.", campaign_id=campaign_id)
    return campaign


def decide_campaign(*, db: Session, creator: Account, campaign_id: int, accept: bool) -> Campaign:
    """The series' creator accepts or declines a requested campaign (once)."""
    campaign = get_campaign(db=db, party="studio", account=creator, campaign_id=campaign_id)
    if campaign.status != CampaignStatus.requested:
        raise CampaignAlreadyDecided(
            f"This campaign was already {campaign.status.value}.", status=campaign.status.value
        )
    campaign.status = CampaignStatus.accepted if accept else CampaignStatus.declined
    campaign.decided_at = utcnow()
    db.flush()
    return campaign


def require_accepted(campaign: Campaign, message: str) -> None:
    """Placements are made and changed only in an accepted campaign."""
    if campaign.status != CampaignStatus.accepted:
        raise CampaignNotAccepted(message, status=campaign.status.value)


# The budget and when a campaign shows ----------------------------------------------------


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
