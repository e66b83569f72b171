"""Table read API: a creator asks for an episode's table read (an AI job; follow it at
/api/studio/ai-jobs/{job_id}, whose result names the draft episode and each line's time)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from microdrama.accounts.deps import CurrentCreator
from microdrama.ai import jobs, writers_room
from microdrama.ai.models import AIJobKind
from microdrama.ai.table_read import TableReadRequest, parse_request
from microdrama.config import AppSettings
from microdrama.db import DbSession
from microdrama.studio import service as studio

router = APIRouter(tags=["ai"])


class TableReadStarted(BaseModel):
    job_id: int
    follow_url: str


@router.post("/api/studio/table-reads", status_code=202)
def start_table_read(
    data: TableReadRequest, db: DbSession, creator: CurrentCreator, settings: AppSettings
) -> TableReadStarted:
    """Voice an episode's script and send its animatic to the series as a draft episode: send
    `project_id` and `episode` (the writers' room's script), or `series_id`, `episode` and
    `lines`."""
    request = parse_request(data.model_dump())
    if request.project_id is not None:  # someone else's project or series is a 404 now
        project = writers_room.get_own_project(
            db=db, project_id=request.project_id, account=creator
        )
        subject = f"project:{project.id}:episode:{request.episode}"
    else:
        assert request.series_id is not None
        series = studio.get_own_series(db=db, series_id=request.series_id, account=creator)
        subject = f"series:{series.id}:episode:{request.episode}"
    job = jobs.enqueue(
        db,
        settings=settings,
        kind=AIJobKind.table_read,
        owner_id=creator.id,
        payload=request.model_dump(),
        subject=subject,
    )
    return TableReadStarted(job_id=job.id, follow_url=f"/api/studio/ai-jobs/{job.id}")
