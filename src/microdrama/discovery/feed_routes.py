"""The feed API: the vertical feed in the viewer's For You order (discovery/for_you.py)."""

from __future__ import annotations

import random
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from microdrama.accounts.deps import DEVICE_COOKIE, SESSION_COOKIE, known_viewer_id
from microdrama.accounts.errors import SignInRequired
from microdrama.cache import part_cache, public_cache
from microdrama.catalog.schemas import Feed
from microdrama.db import session_factory, session_scope
from microdrama.discovery import experiments, for_you
from microdrama.storage import app_storage

router = APIRouter(prefix="/api", tags=["catalog"])

PUBLIC_CACHE = "public, max-age=5"
PRIVATE_CACHE = "private, max-age=5"
# A known viewer's page is kept as long as the browser may keep it (max-age above), under
# the credentials that asked for it; a little less for some pages than for others, so that
# pages built together (a burst of viewers) are not all rebuilt in the same instant. Then,
# for PRIVATE_STALE_SECONDS more, the next request gets it once more while one rebuild runs
# in the background (re-ranking the candidates takes a millisecond or two): no viewer waits
# for their page while they keep swiping, and none sees one older than 10 s. A viewer back
# after longer waits for one rebuild.
PRIVATE_SECONDS = 5.0
PRIVATE_JITTER = 0.2
PRIVATE_STALE_SECONDS = 5.0
# The answer depends on who asks: a shared cache must keep one per cookie and token.
VARY = "Cookie, Authorization"


@router.get("/feed", response_model=Feed)
async def feed(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> Response:
    """The vertical feed: one published series per screen, in the viewer's For You order."""
    # The providers are called, not declared as dependencies: each sync dependency would be a
    # thread hop, and a visitor's hot path is an async dict lookup of pre-encoded bytes.
    factory, storage, cache = session_factory(request), app_storage(request), public_cache(request)
    visitor = not _may_be_known(request)
    key = ("feed", limit, offset)
    if visitor and (body := cache.get(key)) is not None:
        return _answer(body, PUBLIC_CACHE)

    def build_pools() -> bytes:
        with session_scope(factory) as db:
            return for_you.shared_pools(db=db).to_json()

    pools = for_you.SharedPools.from_json(
        await cache.get_or_build(for_you.POOLS_CACHE_KEY, build_pools)
    )

    if visitor:
        # No cookie nor token: Trending and the newest, the same for every visitor (and the
        # control of any experiment: a visitor has no account to assign).
        def build_shared() -> bytes:
            with session_scope(factory) as db:
                items = for_you.feed_page(
                    db=db, storage=storage, account_id=None, pools=pools, limit=limit, offset=offset
                )
                return Feed(items=items).model_dump_json().encode()

        return _answer(await cache.get_or_build(key, build_shared), PUBLIC_CACHE)

    parts = part_cache(request)

    def build(experiment: experiments.RunningExperiment | None) -> bytes:
        with session_scope(factory) as db:
            viewer = _viewer_id(request, db)
            return for_you.feed_page_json(
                db=db,
                storage=storage,
                account_id=viewer,
                pools=pools,
                limit=limit,
                offset=offset,
                order=experiments.serve_order(db, experiment, viewer),
                cache=parts,
            )

    def build_running() -> bytes:
        with session_scope(factory) as db:
            return experiments.running_json(db=db)

    running = await cache.get_or_build(experiments.CACHE_KEY, build_running)
    experiment = experiments.RunningExperiment.from_json(running)
    body = await cache.get_or_build(
        # A start or stop of an experiment reaches the viewer's next page at once.
        ("feed", _credentials(request), running, limit, offset),
        lambda: build(experiment),
        ttl_seconds=PRIVATE_SECONDS * (1 - PRIVATE_JITTER * random.random()),
        stale_seconds=PRIVATE_SECONDS + PRIVATE_STALE_SECONDS,
    )
    return _answer(body, PRIVATE_CACHE)


def _answer(body: bytes, cache_control: str) -> Response:
    headers = {"Cache-Control": cache_control, "Vary": VARY}
    return Response(body, media_type="application/json", headers=headers)


def _viewer_id(request: Request, db: Session) -> int | None:
    """The viewer's account id; a stale token gets the visitors' feed, not an error (the
    feed is public)."""
    try:
        return known_viewer_id(request, db)
    except SignInRequired:
        return None


def _credentials(request: Request) -> tuple[str, str, str]:
    """What names the viewer, as sent: the key of their own answers in the cache."""
    return (
        request.cookies.get(DEVICE_COOKIE, ""),
        request.cookies.get(SESSION_COOKIE, ""),
        request.headers.get("authorization", ""),
    )


def _may_be_known(request: Request) -> bool:
    """Whether the request carries something that may name a viewer (no database read)."""
    cookies = request.cookies
    return bool(
        cookies.get(DEVICE_COOKIE)
        or cookies.get(SESSION_COOKIE)
        or request.headers.get("authorization")
    )
