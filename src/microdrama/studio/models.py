"""Studio: resumable (tus) uploads of episode videos, with their offsets in the database."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from microdrama.db import Base, CreatedAt, utcnow


class UploadState(enum.StrEnum):
    receiving = "receiving"
    done = "done"
    failed = "failed"


class Upload(Base):
    """One tus upload: its bytes live in data_dir/uploads/{id}; its offset lives here, so any
    process (or a restarted one) continues where the last PATCH stopped."""

    __tablename__ = "uploads"

    # Random and unguessable: it is the upload URL.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    # Set when the upload replaces this episode's video instead of adding an episode.
    replaces_episode_id: Mapped[int | None] = mapped_column(
        ForeignKey("episodes.id", ondelete="CASCADE")
    )
    filename: Mapped[str] = mapped_column(String(300), default="")
    title: Mapped[str] = mapped_column(String(200), default="")
    length_bytes: Mapped[int] = mapped_column(BigInteger)
    offset_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    # Every byte accepted by a PATCH, resent ones included: equals length when nothing was
    # sent twice (how the tests tell a resumed upload from a restarted one).
    received_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[UploadState] = mapped_column(default=UploadState.receiving)
    error: Mapped[str | None] = mapped_column(Text)
    episode_id: Mapped[int | None] = mapped_column(ForeignKey("episodes.id", ondelete="SET NULL"))
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
