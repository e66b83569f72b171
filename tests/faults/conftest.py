"""Fault tests: a PostgreSQL database for the tests that need one, and a brand's limited drop
with buyers signed in."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts import service as accounts
from microdrama.accounts.models import Role
from microdrama.config import Settings
from microdrama.db import session_scope, utcnow
from microdrama.shop.campaigns import service as campaigns
from microdrama.shop.campaigns.schemas import CampaignCreate
from microdrama.shop.catalog import service as shop_catalog
from microdrama.shop.catalog.schemas import ProductCreate, VariantCreate
from microdrama.shop.placements import service as placements
from microdrama.shop.placements.schemas import PlacementCreate
from tests.support.accounts import Headers, signed_in
from tests.support.factories import make_series


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, database_url: str) -> str:
    """The test's PostgreSQL schema (emptied); the SQLite run of the suite skips the test."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (pg_terminate_backend, many processes on one database)")
    request.getfixturevalue("engine")  # empties the tables
    return database_url


def with_application_name(url: str, name: str) -> str:
    """The URL with libpq's application_name, by which pg_stat_activity tells the app's
    connections from everyone else's on a shared server."""
    return (
        make_url(url)
        .update_query_dict({"application_name": name})
        .render_as_string(hide_password=False)
    )


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@dataclass(frozen=True)
class Drop:
    variant_id: int
    placement_id: int
    stock: int


def limited_drop(factory: sessionmaker[Session], *, stock: int) -> Drop:
    """A brand's product (one variant with `stock` units, $25.00) placed in a creator's
    episode through an accepted campaign (20 % commission): every order pays the brand, the
    creator and the platform."""
    with session_scope(factory) as db:
        brand = accounts.create_account(db=db, display_name="Fault Brand", role=Role.brand)
        creator = accounts.create_account(db=db, display_name="Fault Studio", role=Role.creator)
        series = make_series(db, owner=creator, episodes=1, duration_ms=30_000)
        product = shop_catalog.create_product(
            db=db,
            brand=brand,
            data=ProductCreate(
                title="Crash-proof jacket",
                price_cents=2_500,
                sku="JACKET",
                variants=[VariantCreate(name="One size", sku="JACKET-OS", stock=stock)],
            ),
        )
        campaign = campaigns.create_campaign(
            db=db,
            brand=brand,
            data=CampaignCreate(
                series_id=series.id,
                budget_cents=10_000_000,
                starts_at=utcnow() - timedelta(days=1),
                ends_at=utcnow() + timedelta(days=365),
                commission_percent=20,
            ),
        )
        campaigns.decide_campaign(db=db, creator=creator, campaign_id=campaign.id, accept=True)
        placement = placements.create_placement(
            db=db,
            author=brand,
            campaign=campaign,
            data=PlacementCreate(
                episode_id=series.episodes[0].id, product_id=product.id, start_ms=0, end_ms=5_000
            ),
        )
        db.flush()
        return Drop(variant_id=product.variants[0].id, placement_id=placement.id, stock=stock)


def buyers(factory: sessionmaker[Session], settings: Settings, count: int) -> list[Headers]:
    """Signed-in viewers (bearer headers), one per simulated browser."""
    return [
        signed_in(factory, settings, role=Role.viewer, name=f"Buyer {n}")[0] for n in range(count)
    ]
