"""Catalog: series and their episodes."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from microdrama.db import Base, CreatedAt, IntPk
from microdrama.media.models import MediaAsset


class SeriesStatus(enum.StrEnum):
    draft = "draft"
    in_review = "in_review"
    published = "published"


class Series(Base):
    __tablename__ = "series"

    id: Mapped[IntPk]
    title: Mapped[str] = mapped_column(String(200))
    synopsis: Mapped[str] = mapped_column(Text, default="")
    genre: Mapped[str] = mapped_column(String(60), default="drama")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    language: Mapped[str] = mapped_column(String(16), default="en")
    content_warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    status: Mapped[SeriesStatus] = mapped_column(default=SeriesStatus.draft, index=True)
    free_episodes: Mapped[int] = mapped_column(default=5)
    episode_price_coins: Mapped[int] = mapped_column(default=60)
    # "Buy the rest of the series": never more than the sum of the remaining episodes.
    # None means the platform's default discount on that sum.
    series_cap_price_coins: Mapped[int | None] = mapped_column()
    # CSS colour used behind the poster while it loads, and as the card's accent.
    accent_color: Mapped[str] = mapped_column(String(16), default="#222222")
    created_at: Mapped[CreatedAt]
    # A published series whose published_at lies ahead is "scheduled": viewers see it then.
    published_at: Mapped[datetime | None]
    # The creator's poster (9:16) and its thumbnail; without one, the first episode's frame.
    poster_key: Mapped[str | None] = mapped_column(String(300))
    poster_thumb_key: Mapped[str | None] = mapped_column(String(300))
    submitted_at: Mapped[datetime | None]
    # Why the last review rejected the series (shown to the creator until the next submission).
    review_note: Mapped[str | None] = mapped_column(Text)

    episodes: Mapped[list[Episode]] = relationship(
        back_populates="series", order_by="Episode.number", cascade="all, delete-orphan"
    )


class EpisodeState(enum.StrEnum):
    processing = "processing"
    ready = "ready"
    failed = "failed"
    # A published series' new episode, transcoded, until an operator approves it: viewers see
    # only `ready` episodes, so it stays out of the feed, the series and the player meanwhile.
    in_review = "in_review"
    # Its video was refused (`review_note` says why): replace the video or delete the episode.
    rejected = "rejected"


class Episode(Base):
    """An episode of a series, and when it came out.

    `published_at` is set once, at the moment viewers can first play the episode, by
    `catalog.service.make_ready` and `catalog.service.release_with_series`:
    - an episode ready when its series is published comes out with the series, at the
      series' publication time (which lies ahead when the publication is scheduled);
    - an episode that becomes ready in a published series (an operator approving it) comes
      out then, or with the series if that is still scheduled.
    It stays None while the episode never was playable (a draft's episodes, one in review or
    rejected), and a replacement video keeps it. Whether an episode is out is still read
    from its state and its series (`ready` and the series in the feed: `catalog.service.
    in_feed`); an out episode's time is then past, since it is never before its series'.
    """

    __tablename__ = "episodes"
    __table_args__ = (UniqueConstraint("series_id", "number"),)

    id: Mapped[IntPk]
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(200), default="")
    duration_ms: Mapped[int] = mapped_column(default=0)
    media_asset_id: Mapped[int | None] = mapped_column(ForeignKey("media_assets.id"), index=True)
    # A new video being transcoded to replace the current one, which plays until it is ready.
    replacement_asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("media_assets.id"), index=True
    )
    state: Mapped[EpisodeState] = mapped_column(default=EpisodeState.processing)
    # Why an operator refused the episode's new video (a new episode or a replacement).
    review_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[CreatedAt]
    # When viewers could first play it (see the class docstring); None until then.
    published_at: Mapped[datetime | None]

    series: Mapped[Series] = relationship(back_populates="episodes")
    media_asset: Mapped[MediaAsset | None] = relationship(foreign_keys=[media_asset_id])
    replacement_asset: Mapped[MediaAsset | None] = relationship(foreign_keys=[replacement_asset_id])
