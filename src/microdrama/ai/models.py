"""AI jobs: work that runs a model (writing, speech, captions, translation), queued for the AI
worker, which runs each one in a child process of its own."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from microdrama.db import Base, CreatedAt, IntPk
from microdrama.logs import current_request_id


class AIJobKind(enum.StrEnum):
    writers_room = "writers_room"
    table_read = "table_read"
    captions = "captions"
    translation = "translation"


class AIJobState(enum.StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def final(self) -> bool:
        return self in (AIJobState.done, AIJobState.failed, AIJobState.cancelled)


ACTIVE_STATES = (AIJobState.queued, AIJobState.running)


class AIJob(Base):
    __tablename__ = "ai_jobs"
    __table_args__ = (
        Index("ix_ai_jobs_claimable", "state", "lease_expires_at"),
        # A creator's recent jobs: the rate limit, and a page finding the job of its subject.
        Index("ix_ai_jobs_owner_created", "owner_id", "created_at"),
    )

    id: Mapped[IntPk]
    kind: Mapped[AIJobKind]
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    # What the job works on, for pages to find it again: "episode:12", "project:3".
    subject: Mapped[str] = mapped_column(String(80), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[AIJobState] = mapped_column(default=AIJobState.queued)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    # What the job is doing now, for people ("Writing episode 4 of 30").
    message: Mapped[str] = mapped_column(Text, default="")
    # What the handler returned (done), for the page that follows the job.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Why it failed, in words a creator can read (internal details stay in the worker's log).
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    worker_id: Mapped[str | None] = mapped_column(String(120))
    lease_expires_at: Mapped[datetime | None]
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    # The request that queued the job (its X-Request-ID): the job's log lines carry it.
    request_id: Mapped[str | None] = mapped_column(String(64), default=current_request_id)
    created_at: Mapped[CreatedAt]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
