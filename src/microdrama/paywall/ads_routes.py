"""Rewarded-ad API: start the built-in ad, complete it, and the ad network's SSV callback."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from microdrama.accounts.deps import CurrentViewer
from microdrama.accounts.models import Account
from microdrama.db import DbSession
from microdrama.paywall import ads
from microdrama.types import Id, PathKey
from microdrama.wallet.service import run_money_transaction

# Included by paywall.routes.router (which has no prefix of its own).
ads_router = APIRouter(prefix="/api/ads", tags=["ads"])


class AdSessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    episode_id: Id


def _grant_json(grant: ads.AdGrant) -> dict[str, Any]:
    return {
        "granted": grant.granted,
        "reason": grant.reason,
        "episode_id": grant.episode_id,
        "ads_left_today": grant.ads_left_today,
    }


@ads_router.post("/sessions", status_code=201)
def start_ad_session(
    data: AdSessionCreate, request: Request, db: DbSession, viewer: CurrentViewer
) -> dict[str, Any]:
    """Start the built-in rewarded ad for a locked episode: `{ad_session, ad_url, duration_ms}`."""
    session = ads.start_ad_session(
        db=db,
        storage=request.app.state.storage,
        settings=request.app.state.settings,
        viewer=viewer,
        episode_id=data.episode_id,
    )
    return asdict(session)


@ads_router.post("/sessions/{ad_session}/complete")
def complete_ad_session(
    ad_session: PathKey, request: Request, db: DbSession, viewer: CurrentViewer
) -> dict[str, Any]:
    """The ad played to the end: the sandbox ad network verifies it and the episode unlocks."""
    db.commit()  # the viewer row must be visible to the transaction below
    settings = request.app.state.settings

    def grant_once(money_db: Session) -> ads.AdGrant:
        account = money_db.get(Account, viewer.id)
        assert account is not None
        return ads.complete_ad_session(
            db=money_db, settings=settings, viewer=account, ad_session=ad_session
        )

    # One serialised transaction (BEGIN IMMEDIATE on SQLite, retried on conflicts): two
    # callbacks at once never both grant, and neither ends in "database is locked".
    return _grant_json(run_money_transaction(request.app.state.sessionmaker, grant_once))


@ads_router.get("/ssv")
def server_side_verification(request: Request) -> dict[str, Any]:
    """The ad network's signed server-side verification callback (AdMob-style SSV)."""
    settings = request.app.state.settings
    # The signature covers the query exactly as sent, so it is verified on the raw string.
    grant = run_money_transaction(
        request.app.state.sessionmaker,
        lambda db: ads.verify_callback(db=db, settings=settings, query=request.url.query),
    )
    return _grant_json(grant)
