"""Rewarded-ad API: start the built-in ad, complete it, and the ad network's SSV callback."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from microdrama.accounts.deps import CurrentViewer
from microdrama.accounts.models import Account
from microdrama.config import AppSettings
from microdrama.db import DbSession, MoneyTransaction
from microdrama.paywall import ads
from microdrama.paywall.schemas import AdGrantRead, AdSessionCreate, AdSessionRead
from microdrama.storage import AppStorage
from microdrama.types import PathKey

# Included by paywall.routes.router (which has no prefix of its own).
ads_router = APIRouter(prefix="/api/ads", tags=["ads"])


@ads_router.post("/sessions", status_code=201)
def start_ad_session(
    data: AdSessionCreate,
    db: DbSession,
    storage: AppStorage,
    settings: AppSettings,
    viewer: CurrentViewer,
) -> AdSessionRead:
    """Start the built-in rewarded ad for a locked episode: `{ad_session, ad_url, duration_ms}`."""
    session = ads.start_ad_session(
        db=db,
        storage=storage,
        settings=settings,
        viewer=viewer,
        episode_id=data.episode_id,
    )
    return AdSessionRead.model_validate(asdict(session))


@ads_router.post("/sessions/{ad_session}/complete")
def complete_ad_session(
    ad_session: PathKey,
    settings: AppSettings,
    viewer: CurrentViewer,
    apart: MoneyTransaction,
) -> AdGrantRead:
    """The ad played to the end: the sandbox ad network verifies it and the episode unlocks."""

    def grant_once(money_db: Session) -> ads.AdGrant:
        account = money_db.get(Account, viewer.id)
        assert account is not None
        return ads.complete_ad_session(
            db=money_db, settings=settings, viewer=account, ad_session=ad_session
        )

    # One serialised transaction (BEGIN IMMEDIATE on SQLite, retried on conflicts): two
    # callbacks at once never both grant, and neither ends in "database is locked".
    return AdGrantRead.model_validate(apart.run(grant_once))


@ads_router.get("/ssv")
def server_side_verification(
    request: Request, settings: AppSettings, apart: MoneyTransaction
) -> AdGrantRead:
    """The ad network's signed server-side verification callback (AdMob-style SSV)."""
    # The signature covers the query exactly as sent, so it is verified on the raw string.
    grant = apart.run(
        lambda db: ads.verify_callback(db=db, settings=settings, query=request.url.query)
    )
    return AdGrantRead.model_validate(grant)
