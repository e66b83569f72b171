"""The Discover API: every row of the Discover tab in one answer (discovery/discover.py).

A visitor without a cookie gets the shared rows, the same bytes for everyone, from the public
cache; a request that may name a viewer gets those rows from the cache plus the viewer's own,
with their progress on every poster, as a private answer (as the feed does)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from microdrama.accounts.deps import known_viewer
from microdrama.accounts.errors import SignInRequired
from microdrama.accounts.models import Account
from microdrama.cache import public_cache
from microdrama.db import session_factory, session_scope
from microdrama.discovery import discover, for_you
from microdrama.discovery.discover_schemas import DiscoverPage
from microdrama.discovery.feed_routes import PRIVATE_CACHE, PUBLIC_CACHE, _answer, _may_be_known
from microdrama.storage import app_storage

router = APIRouter(prefix="/api", tags=["discovery"])


@router.get("/discover", response_model=DiscoverPage)
async def get_discover(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=50, description="Posters per row, at most.")] = 20,
) -> Response:
    """Rows of posters: Continue watching, For You and Because you watched … for a known
    viewer, then Trending now, New releases, Most binged, Free to watch and one per genre.
    Empty rows are left out; each poster says whether it is free or locked and, for a known
    viewer, how many episodes they watched."""
    factory, storage = session_factory(request), app_storage(request)  # no thread hops
    shared = await shared_rows(request, limit)
    if not _may_be_known(request):
        return _answer(shared, PUBLIC_CACHE)
    pools = await shared_pools(request)
    rows = DiscoverPage.model_validate_json(shared).rows

    def build() -> bytes:
        with session_scope(factory) as db:
            page = discover.for_viewer(
                db=db,
                storage=storage,
                viewer=known_or_none(request, db),
                shared=rows,
                pools=pools,
                limit=limit,
            )
            return page.model_dump_json().encode()

    return _answer(await run_in_threadpool(build), PRIVATE_CACHE)


async def shared_rows(request: Request, limit: int = discover.ROW_SIZE) -> bytes:
    """The shared rows (a `DiscoverPage`'s JSON) from the public cache: built by one request
    at a time, and served stale while they are rebuilt (the API and the page share them)."""
    factory, storage = session_factory(request), app_storage(request)

    def build() -> bytes:
        with session_scope(factory) as db:
            return discover.shared_json(db=db, storage=storage, limit=limit)

    return await public_cache(request).get_or_build(discover.shared_key(limit), build)


async def shared_pools(request: Request) -> for_you.SharedPools:
    """For You's shared pools (Trending, new series) from the public cache, as the feed's."""
    factory = session_factory(request)

    def build() -> bytes:
        with session_scope(factory) as db:
            return for_you.shared_pools(db=db).to_json()

    body = await public_cache(request).get_or_build(for_you.POOLS_CACHE_KEY, build)
    return for_you.SharedPools.from_json(body)


def known_or_none(request: Request, db: Session) -> Account | None:
    """The known viewer; a stale token gets the visitors' rows, not an error (the page is
    public)."""
    try:
        return known_viewer(request, db)
    except SignInRequired:
        return None
