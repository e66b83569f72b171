"""Analytics API: the player's event batches in; a series' dashboard (JSON, CSV, page) out."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import Annotated
from weakref import WeakKeyDictionary

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from microdrama.accounts.deps import CurrentCreator, current_viewer_id
from microdrama.analytics import dashboard, service
from microdrama.analytics.schemas import IngestResult, SeriesDashboard
from microdrama.catalog import service as catalog
from microdrama.db import DbSession, session_factory, session_scope
from microdrama.errors import DomainError
from microdrama.templating import templates
from microdrama.types import PathId

router = APIRouter(tags=["analytics"])
# The hottest route, in a router of its own that the app includes first: FastAPI tries routes
# in order, and matching past a hundred others cost more than validating a batch.
events_router = APIRouter(tags=["analytics"])


class InvalidDateRange(DomainError, code="invalid_date_range", status_code=422): ...


@dataclass(frozen=True)
class _Ingest:
    episodes: service.EpisodeFactsCache
    folder: service.RollupFolder


# Per app, by its session factory: made on the app's first batch, gone with the app.
_INGESTS: WeakKeyDictionary[sessionmaker[Session], _Ingest] = WeakKeyDictionary()


def _ingest_for(factory: sessionmaker[Session]) -> _Ingest:
    """The app's episode facts and rollup folder (on the event loop: never two at once)."""
    ingest = _INGESTS.get(factory)
    if ingest is None:
        with factory() as db:
            engine = db.get_bind()
        assert isinstance(engine, Engine)
        ingest = _Ingest(service.EpisodeFactsCache(), service.RollupFolder(engine))
        _INGESTS[factory] = ingest
    return ingest


@events_router.post("/api/events", response_model=IngestResult)
async def ingest_events(request: Request, response: Response) -> IngestResult:
    """Store a batch of playback events `{"events": [...]}` (at most 500: the player's queue,
    or its beacon on page hide) from the viewer (bearer, session cookie or device guest, as
    `CurrentViewer`). Each event is checked alone: bad ones come back by index, duplicates are
    ignored. The body is parsed and validated in one pass (pydantic-core).

    The hottest route: everything after reading the body runs in one worker thread with its
    own session (who is asking, parsing, the writes, the commit), so the request makes one
    trip to the thread pool instead of four, and the write locks are held only for the
    writes. On SQLite the new events are folded into the rollup a moment later."""
    body = await request.body()
    # The provider is called, not declared as a dependency, to spare a thread hop.
    factory = session_factory(request)
    ingest = _ingest_for(factory)

    def store() -> IngestResult:
        with session_scope(factory) as db:
            viewer_id = current_viewer_id(request, response, db)
            batch = service.prepare(
                db=db, account_id=viewer_id, raw_events=service.parse_body(body),
                episodes=ingest.episodes,
            )  # fmt: skip
            with service.batch_writer(db):  # only the writes wait for their turn
                result = service.store(db=db, batch=batch)
                db.commit()  # before the answer: a 2xx means stored
        if result.accepted:
            ingest.folder.nudge()
        return result

    return await run_in_threadpool(store)


DateFrom = Annotated[date | None, Query(alias="from", description="first day (UTC), inclusive")]
DateTo = Annotated[date | None, Query(alias="to", description="last day (UTC), inclusive")]


def _period(first_day: date | None, last_day: date | None) -> dashboard.DateRange:
    if first_day and last_day and first_day > last_day:
        raise InvalidDateRange("The first day comes after the last day.")
    return dashboard.DateRange(first_day, last_day)


def series_report(
    series_id: PathId,
    db: DbSession,
    creator: CurrentCreator,
    first_day: DateFrom = None,
    last_day: DateTo = None,
) -> SeriesDashboard:
    """The series' dashboard for the days asked; only its creator (or an admin) may read it."""
    series = catalog.require_owner(db=db, series_id=series_id, account=creator)
    return dashboard.series_dashboard(db=db, series=series, period=_period(first_day, last_day))


SeriesReport = Annotated[SeriesDashboard, Depends(series_report)]


@router.get("/api/studio/series/{series_id}/analytics", response_model=SeriesDashboard)
def series_analytics(report: SeriesReport) -> SeriesDashboard:
    """The series' dashboard; only its creator (or an admin) may read it."""
    return report


CSV_COLUMNS = [
    "episode", "title", "views", "unique_viewers", "completion_rate", "average_watch_s",
    "continuation_rate", "paywall_reached", "unlocked", "biggest_drop_off_s",
]  # fmt: skip


@router.get("/api/studio/series/{series_id}/analytics.csv")
def series_analytics_csv(series_id: PathId, report: SeriesReport) -> Response:
    """The per-episode table as CSV (one row per episode)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for e in report.episodes:
        writer.writerow(
            [
                e.number,
                e.title,
                e.views,
                e.unique_viewers,
                e.completion_rate,
                round(e.average_watch_ms / 1000, 1),
                "" if e.continuation_rate is None else e.continuation_rate,
                e.paywall_reached,
                e.unlocked,
                e.drop_offs[0].second if e.drop_offs else "",
            ]
        )
    filename = f"series-{series_id}-analytics.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/studio/series/{series_id}/analytics", response_class=HTMLResponse,
            include_in_schema=False)  # fmt: skip
def series_analytics_page(
    series_id: PathId, request: Request, db: DbSession, creator: CurrentCreator
) -> Response:
    """The studio's analytics page: charts and the per-episode table, filled by analytics.js."""
    series = catalog.require_owner(db=db, series_id=series_id, account=creator)
    return templates.TemplateResponse(
        request,
        "studio_analytics.html",
        {"series": series, "account": creator},
        headers={"Cache-Control": "private, no-cache"},
    )
