"""Paywall API: what an episode costs, and unlocking it (see docs/paywall.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from microdrama import idempotency
from microdrama.accounts.deps import CurrentViewer, CurrentViewerId, current_viewer_id
from microdrama.config import AppSettings
from microdrama.db import DbSession
from microdrama.idempotency import Money, MoneyAlone
from microdrama.paywall import service
from microdrama.paywall.ads_routes import ads_router
from microdrama.paywall.hls_routes import hls_router
from microdrama.paywall.schemas import AccessRead, RestUnlockRead, UnlockRead, UnlockRequest
from microdrama.routing import add_routes
from microdrama.types import INT_MAX, PathId

router = APIRouter(tags=["paywall"])
add_routes(router, hls_router)
add_routes(router, ads_router)


@router.get("/api/episodes/{episode_id}/access")
def access(
    episode_id: PathId, settings: AppSettings, db: DbSession, viewer: CurrentViewer
) -> AccessRead:
    """Can the viewer play it, and if not: the price in coins and money, the balance, the rest
    of the series at the cap price."""
    return AccessRead.model_validate(
        service.access(db=db, settings=settings, viewer=viewer, episode_id=episode_id)
    )


@router.post("/api/episodes/{episode_id}/unlock", **idempotency.answers(UnlockRead))
async def unlock_episode(
    episode_id: PathId,
    data: UnlockRequest,
    request: Request,
    response: Response,
    settings: AppSettings,
    money: MoneyAlone,
) -> dict[str, Any]:
    """Unlock one episode with coins (needs an Idempotency-Key)."""

    def who(money_db: Session) -> int:
        return current_viewer_id(request, response, money_db)

    def effect(money_db: Session, viewer_id: int) -> idempotency.Outcome:
        return 200, service.unlock_with_coins(
            db=money_db, settings=settings, viewer_id=viewer_id, episode_id=episode_id
        )

    # The paywall's hot path, in one trip to the thread pool and one transaction: who is
    # asking is read in the money transaction (the request's own session would be a second
    # connection, BEGIN and COMMIT), and since unlocks write only here and lock the viewer's
    # wallet before deciding anything, the key goes in with the answer (docs/performance.md).
    return await run_in_threadpool(money.run_as, who, effect, claim_first=False)


@router.post("/api/series/{series_id}/unlock-rest", **idempotency.answers(RestUnlockRead))
def unlock_rest(
    series_id: PathId,
    settings: AppSettings,
    viewer_id: CurrentViewerId,
    money: Money,
    from_number: Annotated[int, Query(ge=1, le=INT_MAX)] = 1,
) -> dict[str, Any]:
    """Unlock every remaining locked episode at the series cap price (needs an Idempotency-Key)."""

    def effect(money_db: Session) -> idempotency.Outcome:
        return 200, service.unlock_rest_of_series(
            db=money_db,
            settings=settings,
            viewer_id=viewer_id,
            series_id=series_id,
            from_number=from_number,
        )

    return money.run(viewer_id, effect, claim_first=False)
