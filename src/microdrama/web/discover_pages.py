"""The Discover tab: every row of posters rendered in one response (no script needed; the
posters load lazily as a row scrolls into view)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from microdrama.config import AppSettings
from microdrama.db import session_factory, session_scope
from microdrama.demo.status import read_progress as read_demo_progress
from microdrama.discovery import discover, for_you
from microdrama.discovery.discover_routes import known_or_none, shared_pools, shared_rows
from microdrama.discovery.discover_schemas import DiscoverPage
from microdrama.discovery.feed_routes import _may_be_known
from microdrama.storage import app_storage
from microdrama.web.routes import _render, _viewer_summary

router = APIRouter(include_in_schema=False)


@router.get("/discover", response_class=HTMLResponse)
async def discover_page(request: Request, settings: AppSettings) -> Response:
    """Continue watching, My list, For You, Because you watched …, Trending now, New
    releases, Most binged, Free to watch and a row per genre."""
    # The shared rows and pools come from the public cache without a thread hop, rebuilt by
    # one request at a time and served stale meanwhile; the viewer's part runs in a thread.
    factory, storage = session_factory(request), app_storage(request)
    shared = DiscoverPage.model_validate_json(await shared_rows(request)).rows
    known = _may_be_known(request)
    pools = await shared_pools(request) if known else for_you.SharedPools()

    def render() -> Response:
        with session_scope(factory) as db:
            viewer = known_or_none(request, db) if known else None
            page = discover.for_viewer(
                db=db, storage=storage, viewer=viewer, shared=shared, pools=pools
            )
            context = {
                "page": page,
                "viewer": _viewer_summary(db, viewer),
                "about_link": settings.shows_demo_logins,
                # Nothing published yet on a first run: say the demo is coming, not "run
                # seed-demo" (the feed's first-run line, js/demo_progress.js).
                "demo": read_demo_progress(settings.data_dir) if not page.rows else None,
            }
            return _render(request, "discover.html", context)

    return await run_in_threadpool(render)
