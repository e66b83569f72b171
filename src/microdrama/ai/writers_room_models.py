"""Writers'-room tables: a creator's projects, and every version of every part of a plan."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from microdrama.db import Base, CreatedAt, IntPk, utcnow


class WritersRoomProject(Base):
    """What the creator asked for (premise, trope, tone, season shape) and the seed that makes
    the beat engine's skeleton; the plan itself lives in versions."""

    __tablename__ = "writers_room_projects"

    id: Mapped[IntPk]
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    premise: Mapped[str] = mapped_column(Text)
    trope: Mapped[str] = mapped_column(String(40))
    tone: Mapped[str] = mapped_column(String(80))
    episode_count: Mapped[int]
    free_episodes: Mapped[int]
    episode_seconds: Mapped[int]
    seed: Mapped[int]
    # The bible's current title, kept here for the list of projects.
    title: Mapped[str] = mapped_column(String(120))
    # The draft series "Create the series" made from the cards.
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("series.id", ondelete="SET NULL"), unique=True
    )
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PlanVersion(Base):
    """One version of one part of a plan: "bible", "arc", "card:12" or "script:12". A part's
    current version is its highest number; an edit, a regeneration or a restore adds one, so the
    history is never rewritten."""

    __tablename__ = "writers_room_versions"
    __table_args__ = (UniqueConstraint("project_id", "part", "number"),)

    id: Mapped[IntPk]
    project_id: Mapped[int] = mapped_column(
        ForeignKey("writers_room_projects.id", ondelete="CASCADE")
    )
    part: Mapped[str] = mapped_column(String(24))
    number: Mapped[int]
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    # engine (the template's wording), model, edit, restore
    source: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[CreatedAt]
