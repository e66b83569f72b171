"""The demo brand: its products and their placements in the first two demo series (the
records are in brand.toml beside this module), and seeding them through the shop's services.

Each piece is looked up before it is made, so a rerun adds only what is missing; the seed runs
this after each series is published, so the first series shows its products while the others
are still transcoding."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from microdrama.accounts import service as accounts_service
from microdrama.accounts.models import Account, Role
from microdrama.catalog import service as catalog_service
from microdrama.catalog.models import EpisodeState
from microdrama.db import utcnow
from microdrama.demo.product_images import give_demo_images
from microdrama.shop.campaigns import service as shop_campaigns
from microdrama.shop.campaigns.schemas import CampaignCreate
from microdrama.shop.catalog import service as shop_catalog
from microdrama.shop.catalog.schemas import ProductCreate
from microdrama.shop.models import Campaign, CampaignStatus, Placement, Product
from microdrama.shop.placements import service as shop_placements
from microdrama.shop.placements.schemas import PlacementCreate
from microdrama.storage import Storage

DEMO_BRAND_NAME = "Luma Beauty"
BRAND_FILE = Path(__file__).with_name("brand.toml")


class DemoPlacement(NamedTuple):
    """A product card in a demo episode: indexes into DEMO_PRODUCTS and DEMO_SERIES."""

    product: int
    series: int
    episode: int
    x_permille: int
    y_permille: int


_RECORDS = tomllib.loads(BRAND_FILE.read_text(encoding="utf-8"))
DEMO_PRODUCTS: tuple[ProductCreate, ...] = tuple(
    ProductCreate.model_validate(record) for record in _RECORDS["products"]
)
DEMO_PLACEMENTS: tuple[DemoPlacement, ...] = tuple(
    DemoPlacement(**record) for record in _RECORDS["placements"]
)
# A card shows from 0:05 to 0:12 (or the middle half of a shorter episode).
DEMO_PLACEMENT_START_MS = 5_000
DEMO_PLACEMENT_END_MS = 12_000


def seed_brand(
    *, db: Session, storage: Storage, creator_id: int, published: Mapping[int, int]
) -> int:
    """The demo brand, its products, accepted campaigns and placements on the published demo
    series (`published`: demo series index → series id), whatever is missing; returns how many
    demo placements exist."""
    creator = accounts_service.get(db=db, account_id=creator_id)
    assert creator is not None
    brand = accounts_service.get_named(
        db=db, display_name=DEMO_BRAND_NAME
    ) or accounts_service.create_account(db=db, display_name=DEMO_BRAND_NAME, role=Role.brand)
    products: list[Product] = []
    for data in DEMO_PRODUCTS:
        product = db.scalar(
            select(Product).where(Product.owner_id == brand.id, Product.sku == data.sku)
        )
        products.append(product or shop_catalog.create_product(db=db, brand=brand, data=data))
    give_demo_images(db=db, storage=storage, products=products)
    count = 0
    for series_index, series_id in published.items():
        wanted = [p for p in DEMO_PLACEMENTS if p.series == series_index]
        if not wanted:
            continue
        campaign = _demo_campaign(db, brand=brand, creator=creator, series_id=series_id)
        if campaign is None:
            continue
        series = catalog_service.get(db=db, series_id=series_id)
        assert series is not None
        ready = {e.number: e for e in series.episodes if e.state == EpisodeState.ready}
        placed = {
            (p.episode_id, p.product_id)
            for p in db.scalars(select(Placement).where(Placement.campaign_id == campaign.id))
        }
        for wish in wanted:
            episode = ready.get(wish.episode)
            if episode is None or episode.duration_ms <= 0:
                continue
            product = products[wish.product]
            if (episode.id, product.id) in placed:
                count += 1
                continue
            start_ms, end_ms = DEMO_PLACEMENT_START_MS, DEMO_PLACEMENT_END_MS
            if episode.duration_ms < end_ms:  # a short episode: its middle half
                start_ms, end_ms = episode.duration_ms // 4, episode.duration_ms * 3 // 4
            placement = PlacementCreate(
                episode_id=episode.id,
                product_id=product.id,
                start_ms=start_ms,
                end_ms=end_ms,
                x_permille=wish.x_permille,
                y_permille=wish.y_permille,
            )
            shop_placements.create_placement(db=db, author=brand, campaign=campaign, data=placement)
            count += 1
    return count


def _demo_campaign(
    db: Session, *, brand: Account, creator: Account, series_id: int
) -> Campaign | None:
    """The brand's campaign on the series, requested and accepted if there is none yet; None
    if it was declined."""
    campaign = db.scalar(
        select(Campaign)
        .where(Campaign.brand_id == brand.id, Campaign.series_id == series_id)
        .order_by(Campaign.id)
        .limit(1)
    )
    if campaign is None:
        now = utcnow()
        data = CampaignCreate(
            series_id=series_id,
            title=f"{DEMO_BRAND_NAME} launch",
            budget_cents=1_000_000,
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=365),
            commission_percent=15,
        )
        campaign = shop_campaigns.create_campaign(db=db, brand=brand, data=data)
    if campaign.status == CampaignStatus.requested:
        shop_campaigns.decide_campaign(db=db, creator=creator, campaign_id=campaign.id, accept=True)
    return campaign if campaign.status == CampaignStatus.accepted else None
