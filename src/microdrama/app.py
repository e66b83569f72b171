"""Application factory: settings, database, storage, routers, static files, embedded worker."""

from __future__ import annotations

import gc
import mimetypes
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from microdrama.accounts.routes import install_accounts
from microdrama.accounts.routes import router as accounts_router
from microdrama.admin.routes import router as admin_router
from microdrama.ai.caption_routes import router as caption_router
from microdrama.ai.cliffhanger_routes import router as cliffhanger_router
from microdrama.ai.job_routes import router as ai_jobs_router
from microdrama.ai.table_read_routes import router as table_read_router
from microdrama.ai.writers_room_pages import router as writers_room_pages
from microdrama.ai.writers_room_routes import router as writers_room_router
from microdrama.analytics.routes import events_router
from microdrama.analytics.routes import router as analytics_router
from microdrama.cache import TTLCache
from microdrama.catalog.routes import router as catalog_router
from microdrama.catalog.video_routes import router as episode_upload_router
from microdrama.config import Settings, get_settings
from microdrama.db import RequestAdmission, admission_limit, make_engine, make_sessionmaker
from microdrama.demo.about import router as demo_about_router
from microdrama.demo.status_routes import router as demo_status_router
from microdrama.discovery.discover_routes import router as discover_router
from microdrama.discovery.experiment_routes import router as experiments_router
from microdrama.discovery.feed_routes import router as feed_router
from microdrama.discovery.my_list_routes import router as my_list_router
from microdrama.discovery.ranking_routes import router as rankings_router
from microdrama.discovery.routes import router as search_router
from microdrama.errors import install_error_handlers
from microdrama.housekeeping import HousekeepingThread
from microdrama.media.jobs import EmbeddedWorker
from microdrama.media.routes import mount_media
from microdrama.media.routes import router as media_router
from microdrama.object_storage import open_storage
from microdrama.ops.heartbeat import Heartbeat
from microdrama.ops.routes import install_ops
from microdrama.payments.routes import router as payments_router
from microdrama.payouts.routes import router as payouts_router
from microdrama.paywall.playlist_fast_path import (
    MASTER_ROUTE_PATH,
    GateCaches,
    PlaylistFastPath,
    playlist_route,
)
from microdrama.paywall.routes import router as paywall_router
from microdrama.playback.routes import router as playback_router
from microdrama.routing import add_routes
from microdrama.shop.campaigns.routes import router as shop_campaign_router
from microdrama.shop.catalog.image_routes import router as product_image_router
from microdrama.shop.catalog.routes import router as shop_catalog_router
from microdrama.shop.checkout.routes import router as shop_checkout_router
from microdrama.shop.orders.routes import router as shop_order_router
from microdrama.shop.pages import router as backoffice_pages_router
from microdrama.shop.placements.routes import router as shop_placement_router
from microdrama.shop.reports.routes import router as shop_report_router
from microdrama.studio.pages import router as studio_pages
from microdrama.studio.routes import router as studio_router
from microdrama.studio.uploads import UPLOADS_URL
from microdrama.subtitles.routes import router as subtitles_router
from microdrama.wallet.routes import router as wallet_router
from microdrama.web.discover_pages import router as discover_pages_router
from microdrama.web.docs import install_docs
from microdrama.web.my_list_pages import router as my_list_pages_router
from microdrama.web.ranking_pages import router as ranking_pages_router
from microdrama.web.routes import install_page_errors, mount_static
from microdrama.web.routes import router as web_router
from microdrama.web.search_pages import router as search_pages_router
from microdrama.web.shop_pages import router as shop_pages_router

# Debian's mime.types maps .ts to a Qt file type; HLS needs MPEG-TS.
mimetypes.add_type("video/mp2t", ".ts")
mimetypes.add_type("application/vnd.apple.mpegurl", ".m3u8")
mimetypes.add_type("text/vtt", ".vtt")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = chores = heartbeat = None
        if settings.embedded_worker:
            worker = EmbeddedWorker(
                settings=settings, sessionmaker=app.state.sessionmaker, storage=app.state.storage
            )
            worker.start()
            heartbeat = Heartbeat(
                sessions=app.state.sessionmaker, worker_id=worker.worker_id, queue="transcode"
            )
            heartbeat.start()
            chores = HousekeepingThread(factory=app.state.sessionmaker, settings=settings)
            chores.start()
        # What the process has made by now (modules, routes, mappers, schemas: ~230,000
        # objects) lives as long as it does: kept out of the garbage collector's full passes,
        # which walked them all every few seconds under load and held every request meanwhile
        # (≈ 140 ms; docs/performance.md). Given back at shutdown (an app in a test process).
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            if chores is not None:
                chores.stop()
            if worker is not None:
                worker.stop()
            if heartbeat is not None:
                heartbeat.stop()
            app.state.engine.dispose()

    app = FastAPI(
        title="microdrama",
        version="0.1.0",
        description="Vertical micro-drama series: feed, binge player, HLS media pipeline.",
        lifespan=lifespan,
        # /docs is served by web.docs from local assets (FastAPI's default loads a CDN).
        docs_url=None,
        redoc_url=None,
        # FastAPI's OpenTelemetry hooks are off: no OpenTelemetry SDK is installed (/metrics and
        # the JSON logs are the app's own, ops/), and on each request they asked three global
        # providers, reading the environment, whether one had been configured since.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app.state.settings = settings
    app.state.engine = make_engine(settings.effective_database_url)
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    app.state.storage = open_storage(settings)
    app.state.gate_caches = GateCaches.new()
    # What answers are built from: a feed page's cards (for the time below), a viewer's
    # candidates (discovery/for_you.py).
    app.state.part_cache = TTLCache[Any](ttl_seconds=5.0, max_stale_seconds=0, max_entries=65_536)
    # A studio change clears the feed's and series pages' answers, the parts they are built
    # from and the playlists' facts.
    app.state.public_cache = TTLCache[bytes](
        ttl_seconds=2.0, clears_with=[app.state.gate_caches.facts, app.state.part_cache]
    )

    install_error_handlers(app)

    add_routes(app.router, events_router)  # the players' event batches: the busiest route, first
    # Then the player's gated playlists and keys and the unlock: routes are tried in the order
    # they are added, each candidate costing microseconds (routing.py, docs/performance.md).
    add_routes(app.router, paywall_router)
    add_routes(app.router, feed_router)
    # Search as you type: a request a keystroke; matched before the ~200 routes below.
    add_routes(app.router, search_router)
    add_routes(app.router, catalog_router)
    add_routes(app.router, playback_router)
    add_routes(app.router, demo_status_router)

    add_routes(app.router, media_router)
    add_routes(app.router, episode_upload_router)
    add_routes(app.router, accounts_router)
    install_accounts(app, settings)
    add_routes(app.router, wallet_router)
    add_routes(app.router, payments_router)
    add_routes(app.router, shop_catalog_router)
    add_routes(app.router, shop_campaign_router)
    add_routes(app.router, shop_placement_router)
    add_routes(app.router, admin_router)
    add_routes(app.router, experiments_router)
    add_routes(app.router, payouts_router)
    add_routes(app.router, subtitles_router)
    add_routes(app.router, product_image_router)
    add_routes(app.router, backoffice_pages_router)
    add_routes(app.router, shop_report_router)
    add_routes(app.router, shop_checkout_router)
    add_routes(app.router, shop_order_router)
    add_routes(app.router, studio_router)
    add_routes(app.router, studio_pages)
    add_routes(app.router, writers_room_router)
    add_routes(app.router, writers_room_pages)
    add_routes(app.router, ai_jobs_router)
    add_routes(app.router, caption_router)
    add_routes(app.router, analytics_router)
    add_routes(app.router, cliffhanger_router)
    add_routes(app.router, table_read_router)
    add_routes(app.router, web_router)
    add_routes(app.router, shop_pages_router)
    add_routes(app.router, my_list_router)
    add_routes(app.router, my_list_pages_router)
    add_routes(app.router, search_pages_router)
    add_routes(app.router, rankings_router)
    add_routes(app.router, ranking_pages_router)
    add_routes(app.router, discover_router)
    add_routes(app.router, discover_pages_router)
    add_routes(app.router, demo_about_router)
    install_docs(app)
    mount_media(app, settings)
    mount_static(app)
    install_page_errors(app)
    # Outside everything that may take a connection (db.RequestAdmission says why).
    app.add_middleware(
        RequestAdmission,
        limit=admission_limit(app.state.engine),
        exempt=re.compile(
            rf"/static/|{re.escape(settings.media_url_prefix.rstrip('/'))}/"
            rf"|{re.escape(UPLOADS_URL)}|/api/studio/ai-jobs/\d+/events$"
        ),
    )
    # Outside admission: its answers from cache take no connection.
    app.add_middleware(
        PlaylistFastPath, route=playlist_route(), master_route=playlist_route(MASTER_ROUTE_PATH)
    )
    install_ops(app, settings)  # last: its middleware times everything above
    return app
