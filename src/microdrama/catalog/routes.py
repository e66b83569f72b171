"""Catalog API: series pages and episodes (creators work in studio/routes.py; the feed, in
the viewer's For You order, is discovery/feed_routes.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from microdrama.accounts.deps import CurrentViewer, known_viewer
from microdrama.cache import public_cache
from microdrama.catalog import service
from microdrama.catalog.schemas import EpisodeRead, SeriesRead
from microdrama.db import DbSession, session_factory, session_scope
from microdrama.errors import NotFound
from microdrama.storage import AppStorage, app_storage
from microdrama.types import PathId

router = APIRouter(prefix="/api", tags=["catalog"])

PUBLIC_CACHE = "public, max-age=5"


@router.get("/series/{series_id}", response_model=SeriesRead)
async def get_series(series_id: PathId, request: Request) -> Response:
    """The series page: poster, synopsis and the episode grid."""
    factory, storage = session_factory(request), app_storage(request)  # no thread hops

    def build(public: bool) -> bytes:
        with session_scope(factory) as db:
            viewer = None if public else known_viewer(request, db)
            series = service.get_visible(db=db, series_id=series_id, viewer=viewer)
            return service.series_read(storage=storage, series=series).model_dump_json().encode()

    try:
        body = await public_cache(request).get_or_build(
            ("series", series_id), lambda: build(public=True)
        )
    except NotFound:
        # Not published: perhaps the caller's own draft. Never cached, never shared.
        body = await run_in_threadpool(build, public=False)
        return Response(
            body, media_type="application/json", headers={"Cache-Control": "private, no-store"}
        )
    return Response(body, media_type="application/json", headers={"Cache-Control": PUBLIC_CACHE})


@router.get("/episodes/{episode_id}", response_model=EpisodeRead)
def get_episode(
    episode_id: PathId, db: DbSession, viewer: CurrentViewer, storage: AppStorage
) -> EpisodeRead:
    """One episode with its playlist and its neighbours."""
    return service.episode_read(db=db, storage=storage, episode_id=episode_id, viewer=viewer)
