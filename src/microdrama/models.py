"""Imports every domain's tables so that Base.metadata is complete (Alembic, tests)."""

from microdrama.accounts.models import Account
from microdrama.catalog.models import Episode, Series
from microdrama.media.models import MediaAsset, TranscodeJob
from microdrama.playback.models import WatchProgress

__all__ = ["Account", "Episode", "MediaAsset", "Series", "TranscodeJob", "WatchProgress"]
