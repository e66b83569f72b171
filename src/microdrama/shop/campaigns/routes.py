"""Campaigns API: a brand requests and lists its campaigns; a creator lists, accepts or
declines the campaigns on their series."""

from __future__ import annotations

from fastapi import APIRouter

from microdrama.accounts.deps import CurrentCreator
from microdrama.db import DbSession
from microdrama.shop.brand_view import BrandInView
from microdrama.shop.campaigns import service
from microdrama.shop.campaigns.schemas import CampaignCreate, CampaignRead
from microdrama.shop.models import Campaign
from microdrama.types import PathId, read_row

router = APIRouter(tags=["shop"])


def _campaigns(db: DbSession, campaigns: list[Campaign]) -> list[CampaignRead]:
    spent = service.campaign_spending(db=db, campaign_ids=[c.id for c in campaigns])
    return [_campaign(c, spent.get(c.id, 0)) for c in campaigns]


def _campaign(campaign: Campaign, spent_cents: int) -> CampaignRead:
    return read_row(
        CampaignRead,
        campaign,
        spent_cents=spent_cents,
        delivery=service.delivery(campaign, spent_cents),
    )


@router.post("/api/brand/campaigns", status_code=201)
def create_campaign(data: CampaignCreate, db: DbSession, brand: BrandInView) -> CampaignRead:
    """Ask a series' creator to accept the brand's placements."""
    return _campaign(service.create_campaign(db=db, brand=brand, data=data), spent_cents=0)


@router.get("/api/brand/campaigns")
def list_brand_campaigns(db: DbSession, brand: BrandInView) -> list[CampaignRead]:
    """The brand's own campaigns and their status."""
    return _campaigns(db, service.list_brand_campaigns(db=db, brand=brand))


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
