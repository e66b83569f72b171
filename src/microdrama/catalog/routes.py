"""Catalog API: the feed, series pages and episodes (creators work in studio/routes.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from microdrama.accounts.deps import CurrentViewer, known_viewer
from microdrama.catalog import service
from microdrama.catalog.schemas import EpisodeRead, Feed, SeriesRead
from microdrama.db import DbSession, session_scope
from microdrama.errors import NotFound
from microdrama.types import PathId

router = APIRouter(prefix="/api", tags=["catalog"])

PUBLIC_CACHE = "public, max-age=5"


@router.get("/feed", response_model=Feed)
async def feed(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> Response:
    """The vertical feed: one published series per screen."""
    state = request.app.state

    def build() -> bytes:
        with session_scope(state.sessionmaker) as db:
            items = service.list_feed(db=db, storage=state.storage, limit=limit, offset=offset)
            return Feed(items=items).model_dump_json().encode()

    # The feed is the same for everyone: the hot path is an async dict lookup of pre-encoded
    # bytes, not a thread hop and an ORM query.
    body = await state.public_cache.get_or_build(("feed", limit, offset), build)
    return Response(body, media_type="application/json", headers={"Cache-Control": PUBLIC_CACHE})


@router.get("/series/{series_id}", response_model=SeriesRead)
async def get_series(series_id: PathId, request: Request) -> Response:
    """The series page: poster, synopsis and the episode grid."""
    state = request.app.state

    def build_public() -> bytes:
        with session_scope(state.sessionmaker) as db:
            series = service.get_visible(db=db, series_id=series_id, viewer=None)
            return (
                service.series_read(storage=state.storage, series=series).model_dump_json().encode()
            )

    def build_for_viewer() -> bytes:
        with session_scope(state.sessionmaker) as db:
            viewer = known_viewer(request, db)
            series = service.get_visible(db=db, series_id=series_id, viewer=viewer)
            return (
                service.series_read(storage=state.storage, series=series).model_dump_json().encode()
            )

    try:
        body = await state.public_cache.get_or_build(("series", series_id), build_public)
    except NotFound:
        # Not published: perhaps the caller's own draft. Never cached, never shared.
        body = await run_in_threadpool(build_for_viewer)
        return Response(
            body, media_type="application/json", headers={"Cache-Control": "private, no-store"}
        )
    return Response(body, media_type="application/json", headers={"Cache-Control": PUBLIC_CACHE})


@router.get("/episodes/{episode_id}", response_model=EpisodeRead)
def get_episode(
    episode_id: PathId, request: Request, db: DbSession, viewer: CurrentViewer
) -> EpisodeRead:
    """One episode with its playlist and its neighbours."""
    return service.episode_read(
        db=db, storage=request.app.state.storage, episode_id=episode_id, viewer=viewer
    )
