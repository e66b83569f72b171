"""Subtitle tracks: one WebVTT file per episode and language, kept in media storage."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from microdrama.db import Base, CreatedAt, IntPk, utcnow


class SubtitleTrack(Base):
    __tablename__ = "subtitle_tracks"
    __table_args__ = (UniqueConstraint("episode_id", "language"),)

    id: Mapped[IntPk]
    episode_id: Mapped[int] = mapped_column(
        ForeignKey("episodes.id", ondelete="CASCADE"), index=True
    )
    language: Mapped[str] = mapped_column(String(16))  # BCP 47: "en", "pt-BR"
    label: Mapped[str] = mapped_column(String(80))  # what the player's menu says
    # A new, unguessable key on every save: no cache shows an old version, and the URL is
    # only handed to viewers who may play the episode.
    storage_key: Mapped[str] = mapped_column(String(300))
    # The save before (kept while players may still read it; deleted at the next save).
    previous_storage_key: Mapped[str | None] = mapped_column(String(300))
    # A draft (captions made from the audio, a machine translation) is the creator's to
    # review: players are not offered it until the creator publishes it.
    draft: Mapped[bool] = mapped_column(default=False, server_default=false())
    revision: Mapped[int] = mapped_column(default=1)
    cue_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
