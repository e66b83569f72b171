"""AI jobs API: a creator follows their job (JSON or a Server-Sent Events stream) and cancels it.

The routes that start jobs live with what they make (writers' room, table read, captions,
translation); they answer the new job, and the page follows it here (static/js/ai_jobs.js).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from microdrama.accounts.deps import CurrentAccount
from microdrama.ai import jobs
from microdrama.ai.models import AIJob, AIJobKind, AIJobState
from microdrama.db import DbSession, SessionFactory, session_scope
from microdrama.types import Line, PathId

router = APIRouter(tags=["ai"])

# The stream looks at the job this often and ends after STREAM_SECONDS (the browser's
# EventSource then connects again by itself), so no request lives for ever.
POLL_SECONDS = 0.25
STREAM_SECONDS = 60.0
KEEPALIVE_SECONDS = 15.0
RECONNECT_MS = 1000


class AIJobRead(BaseModel):
    """An AI job as its creator follows it."""

    id: int
    kind: AIJobKind
    subject: str = Field(description='What it works on: "episode:12", "project:3".')
    state: AIJobState = Field(description="queued, running, done, failed or cancelled.")
    progress: float = Field(ge=0, le=1, description="How far it is, 0 to 1.")
    message: str = Field(description='What it is doing now, for people ("Writing episode 4").')
    result: dict[str, Any] | None = Field(description="What it made (done only).")
    error: str | None = Field(description="Why it failed, for people (failed only).")
    cancel_requested: bool
    final: bool = Field(description="True once the state will not change any more.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def job_read(job: AIJob) -> AIJobRead:
    return AIJobRead(
        id=job.id,
        kind=job.kind,
        subject=job.subject,
        state=job.state,
        progress=job.progress,
        message=job.message,
        result=job.result if job.state == AIJobState.done else None,
        error=job.error if job.state == AIJobState.failed else None,
        cancel_requested=job.cancel_requested,
        final=job.state.final,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


@router.get("/api/studio/ai-jobs", response_model=list[AIJobRead])
def list_jobs(
    db: DbSession,
    account: CurrentAccount,
    subject: Annotated[Line, Query(min_length=1, max_length=80, description='"episode:12"')],
) -> list[AIJobRead]:
    """Your newest AI jobs on a subject, newest first (a page finds the job it started)."""
    return [job_read(j) for j in jobs.latest_for(db, owner_id=account.id, subject=subject)]


@router.get("/api/studio/ai-jobs/{job_id}", response_model=AIJobRead)
def get_job(job_id: PathId, db: DbSession, account: CurrentAccount) -> AIJobRead:
    """One of your AI jobs: its state, progress and message, and its result once done."""
    return job_read(jobs.get_owned(db, job_id=job_id, owner_id=account.id))


@router.post("/api/studio/ai-jobs/{job_id}/cancel", response_model=AIJobRead)
def cancel_job(job_id: PathId, db: DbSession, account: CurrentAccount) -> AIJobRead:
    """Cancel one of your AI jobs: a queued one at once; a running one stops within seconds
    (its process is killed, nothing it was making is kept). A finished job is a 409."""
    return job_read(jobs.cancel(db, job_id=job_id, owner_id=account.id))


def _read(sessions: sessionmaker[Session], job_id: int) -> AIJobRead | None:
    with session_scope(sessions) as db:
        job = db.get(AIJob, job_id)
        return None if job is None else job_read(job)


def _event(job: AIJobRead) -> bytes:
    return f"event: job\ndata: {job.model_dump_json()}\n\n".encode()


@router.get(
    "/api/studio/ai-jobs/{job_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def job_events(
    job_id: PathId,
    request: Request,
    db: DbSession,
    account: CurrentAccount,
    sessions: SessionFactory,
) -> StreamingResponse:
    """Server-Sent Events: a `job` event (the job as GET answers it) now and at every change,
    until the job ends or a minute has passed (EventSource then reconnects by itself)."""
    first = job_read(jobs.get_owned(db, job_id=job_id, owner_id=account.id))

    async def stream() -> AsyncIterator[bytes]:
        yield f"retry: {RECONNECT_MS}\n\n".encode()
        job: AIJobRead | None = first
        sent = ""
        started = last_sent = time.monotonic()
        while job is not None:
            current = job.model_dump_json()
            if current != sent:
                sent, last_sent = current, time.monotonic()
                yield _event(job)
            elif time.monotonic() - last_sent > KEEPALIVE_SECONDS:
                last_sent = time.monotonic()
                yield b": keep-alive\n\n"
            if job.final or time.monotonic() - started > STREAM_SECONDS:
                return
            await asyncio.sleep(POLL_SECONDS)
            if await request.is_disconnected():
                return
            job = await run_in_threadpool(_read, sessions, job_id)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        # No proxy buffering (nginx) and no caching: each event must reach the page at once.
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
