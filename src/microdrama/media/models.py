"""Media: uploaded sources, their HLS renditions, and the jobs that transcode them."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from microdrama.db import Base, CreatedAt, IntPk
from microdrama.logs import current_request_id


class AssetStatus(enum.StrEnum):
    uploaded = "uploaded"
    processing = "processing"
    ready = "ready"
    failed = "failed"


class MediaAsset(Base):
    __tablename__ = "media_assets"

    id: Mapped[IntPk]
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    status: Mapped[AssetStatus] = mapped_column(default=AssetStatus.uploaded)
    error: Mapped[str | None] = mapped_column(Text)
    # Storage keys, never filesystem paths: storage may be a local folder or S3.
    source_key: Mapped[str] = mapped_column(String(300))
    source_filename: Mapped[str] = mapped_column(String(300), default="")
    source_size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    source_width: Mapped[int] = mapped_column(default=0)
    source_height: Mapped[int] = mapped_column(default=0)
    duration_ms: Mapped[int] = mapped_column(default=0)
    master_playlist_key: Mapped[str | None] = mapped_column(String(300))
    poster_key: Mapped[str | None] = mapped_column(String(300))
    # [{"width", "height", "bandwidth", "playlist_key"}], tallest first.
    renditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # [{"time_ms", "key"}]: a strip of thumbnails for scrubbing and the episode grid.
    thumbnails: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # HLS AES-128 key of this asset's segments (stored segments are never plain MPEG-TS);
    # handed out only through short-lived, viewer-bound key tokens.
    aes_key: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    created_at: Mapped[CreatedAt]

    jobs: Mapped[list[TranscodeJob]] = relationship(
        back_populates="asset", order_by="TranscodeJob.id"
    )


class JobState(enum.StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class TranscodeJob(Base):
    __tablename__ = "transcode_jobs"
    __table_args__ = (Index("ix_transcode_jobs_claimable", "state", "lease_expires_at"),)

    id: Mapped[IntPk]
    asset_id: Mapped[int] = mapped_column(
        ForeignKey("media_assets.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[JobState] = mapped_column(default=JobState.queued)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(default=0)
    worker_id: Mapped[str | None] = mapped_column(String(120))
    lease_expires_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    # The request that queued the job (its X-Request-ID): the worker logs under it.
    request_id: Mapped[str | None] = mapped_column(String(64), default=current_request_id)
    created_at: Mapped[CreatedAt]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    asset: Mapped[MediaAsset] = relationship(back_populates="jobs")
