"""Discovery's tables: what each viewer follows (My list), the ranking charts, the
recommender's precomputed candidates, and the feed-order experiments.

Rankings and recommendations are derived data: jobs rebuild them from the playback events,
unlocks and follows already stored (`microdrama rankings refresh`, `microdrama recs train`, and
housekeeping), so a request only reads a few indexed rows and never scans the events.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from microdrama.db import Base, CreatedAt, IntPk, UTCDateTime, utcnow


class SeriesFollow(Base):
    """A viewer's My list entry. `seen_episodes` is how many episodes the series had out when
    the viewer last opened it (or followed it): more out now means a "new episode" badge."""

    __tablename__ = "series_follows"
    __table_args__ = (Index("ix_series_follows_series", "series_id"),)

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    series_id: Mapped[int] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), primary_key=True
    )
    followed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    seen_episodes: Mapped[int] = mapped_column(default=0)


class Chart(enum.StrEnum):
    trending = "trending"  # recent starts and completions, decayed by age
    binged = "binged"  # binge depth: episodes per viewer who started
    unlocked = "unlocked"  # episodes unlocked
    rising = "rising"  # growth against the window before


class ChartPeriod(enum.StrEnum):
    daily = "daily"
    weekly = "weekly"


class RankingEntry(Base):
    """One series' place on one chart, computed for one day (`genre` "" is the overall chart).
    `previous_rank` is its place on the same chart computed for the day before (None: new)."""

    __tablename__ = "ranking_entries"
    __table_args__ = (Index("ix_ranking_entries_chart", "day", "chart", "period", "genre", "rank"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    chart: Mapped[str] = mapped_column(String(16), primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    genre: Mapped[str] = mapped_column(String(60), primary_key=True)
    series_id: Mapped[int] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), primary_key=True
    )
    rank: Mapped[int]
    score: Mapped[float] = mapped_column(Float)
    previous_rank: Mapped[int | None] = mapped_column()
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Recommendation(Base):
    """A series the recommender proposes to a viewer, best first (`rank` 1), before the cheap
    per-request re-rank (finished and skipped series dropped, genres varied, exploration)."""

    __tablename__ = "recommendations"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    series_id: Mapped[int] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), primary_key=True
    )
    rank: Mapped[int]
    score: Mapped[float] = mapped_column(Float)


class SimilarSeries(Base):
    """Series watched by the same people ("Because you watched …"), best first."""

    __tablename__ = "similar_series"

    series_id: Mapped[int] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), primary_key=True
    )
    other_series_id: Mapped[int] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), primary_key=True
    )
    rank: Mapped[int]
    score: Mapped[float] = mapped_column(Float)


class RecsRun(Base):
    """One training of the recommender: what it learnt from and how long it took."""

    __tablename__ = "recs_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    algorithm: Mapped[str] = mapped_column(String(40))
    viewers: Mapped[int]
    series: Mapped[int]
    interactions: Mapped[int]
    seconds: Mapped[float] = mapped_column(Float)


class FeedOrder(enum.StrEnum):
    """An order the swipe feed can be served in."""

    for_you = "for_you"  # the personal order (discovery/for_you.py): the experiments' control
    popularity = "popularity"  # the Trending order, the same for everyone, then the newest
    newest = "newest"  # newest first, as the feed was before For You


class FeedExperiment(Base):
    """A share of viewers served another feed order than For You, from `started_at` until
    `stopped_at`; a viewer's arm follows from a hash of (`salt`, account id). At most one runs
    at a time, also when two operators start one at once: `running` is true until it stops,
    then NULL, and its unique index admits one true (NULLs never clash)."""

    __tablename__ = "feed_experiments"

    id: Mapped[IntPk]
    name: Mapped[str] = mapped_column(String(120))
    treatment_order: Mapped[FeedOrder]
    share_percent: Mapped[int]  # of viewers in the treatment arm, 1-50
    salt: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[CreatedAt]
    stopped_at: Mapped[datetime | None]
    running: Mapped[bool | None] = mapped_column(default=True, unique=True)
    started_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )


class FeedExposure(Base):
    """A viewer who was served the feed during an experiment, in which arm, and when first
    (results count what the viewer did from then on)."""

    __tablename__ = "feed_exposures"

    experiment_id: Mapped[int] = mapped_column(
        ForeignKey("feed_experiments.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    arm: Mapped[FeedOrder]
    first_served_at: Mapped[CreatedAt]
