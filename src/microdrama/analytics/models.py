"""Analytics tables: every playback event as sent (deduplicated), and one row per view.

`playback_events` keeps the raw events, unique by (viewer, client event id), so a batch sent
twice (a retried beacon) stores nothing twice. `episode_views` is the rollup the dashboards
read: one row per (viewer, playback session, episode), maintained with order-independent
upserts (max, min, or) from the events that were new, so it never depends on the order or the
number of times events arrive, and can be rebuilt from the events at any time. PostgreSQL
folds a batch's new events in the statement that stores them; SQLite folds them a moment later
(`RollupMark` remembers how far; see analytics.service).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from microdrama.db import Base, utcnow


class EventKind(enum.StrEnum):
    start = "start"
    progress = "progress"
    pause = "pause"
    seek = "seek"
    complete = "complete"
    swipe_away = "swipe_away"
    paywall_shown = "paywall_shown"
    unlock = "unlock"


# Kinds that mean the episode was actually playing (a view), as opposed to a paywall over it.
PLAYING_KINDS = frozenset(
    {
        EventKind.start,
        EventKind.progress,
        EventKind.pause,
        EventKind.seek,
        EventKind.complete,
        EventKind.swipe_away,
    }
)


class PlaybackEvent(Base):
    # PostgreSQL: partitioned by day of `occurred_at` (migration e1e0da7a0001), so its key is
    # (id, occurred_at) and its duplicate check (account_id, event_id, occurred_at) there;
    # housekeeping makes and drops the partitions (analytics/partitions.py).
    __tablename__ = "playback_events"
    __table_args__ = (
        UniqueConstraint("account_id", "event_id", name="uq_playback_events_viewer_event"),
        Index("ix_playback_events_series_time", "series_id", "occurred_at"),
        # Ids never reused (SQLite would reuse the largest after a delete): the rollup's mark.
        {"sqlite_autoincrement": True},
    )

    # BIGINT on PostgreSQL; SQLite's rowid alias must be declared INTEGER.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # The viewer: a signed-in account or a device's guest account (so a device is a viewer).
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"))
    session_id: Mapped[str] = mapped_column(String(64))
    position_ms: Mapped[int] = mapped_column(default=0)
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class EpisodeView(Base):
    """One viewer's time with one episode in one playback session (the dashboards' unit)."""

    __tablename__ = "episode_views"
    __table_args__ = (
        Index("ix_episode_views_series_started", "series_id", "started_at"),
        Index("ix_episode_views_episode_started", "episode_id", "started_at"),
        # For You's skipped series (discovery/for_you.py seen_off) from the index alone,
        # instead of every view the viewer ever had read from the table.
        Index(
            "ix_episode_views_account_series",
            "account_id",
            "series_id",
            "swiped_away",
            "completed",
            "furthest_ms",
        ),
    )

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    episode_id: Mapped[int] = mapped_column(
        ForeignKey("episodes.id", ondelete="CASCADE"), primary_key=True
    )
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    started_at: Mapped[datetime]  # earliest event
    last_at: Mapped[datetime]  # latest event
    played: Mapped[bool] = mapped_column(default=False)  # any playing event (a view)
    furthest_ms: Mapped[int] = mapped_column(default=0)  # furthest position reached
    completed: Mapped[bool] = mapped_column(default=False)
    swiped_away: Mapped[bool] = mapped_column(default=False)
    paywall_shown_at: Mapped[datetime | None]
    unlocked: Mapped[bool] = mapped_column(default=False)  # the player said "unlocked here"


class RollupMark(Base):
    """How far a rollup has folded `playback_events` (SQLite: every id up to `last_event_id`).

    SQLite has one writer at a time and AUTOINCREMENT ids, so events commit in id order and a
    mark is exact. (PostgreSQL hands out ids before commit, out of commit order: it folds in
    the ingesting statement instead and keeps no mark.)"""

    __tablename__ = "analytics_rollup_marks"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
