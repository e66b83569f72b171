"""Imports every domain's tables so that Base.metadata is complete (Alembic, tests)."""

from typing import Any

from microdrama.accounts.models import Account, AuthSession, LoginAttempt, TrustedDevice
from microdrama.admin.models import PlatformSetting, SettingChange
from microdrama.ai.models import AIJob
from microdrama.ai.writers_room_models import PlanVersion, WritersRoomProject
from microdrama.analytics import partitions as event_partitions
from microdrama.analytics.models import EpisodeView, PlaybackEvent, RollupMark
from microdrama.catalog.models import Episode, Series
from microdrama.discovery import search_index
from microdrama.discovery.models import (
    FeedExperiment,
    FeedExposure,
    RankingEntry,
    Recommendation,
    RecsRun,
    SeriesFollow,
    SimilarSeries,
)
from microdrama.idempotency import IdempotencyRecord
from microdrama.media.models import MediaAsset, TranscodeJob
from microdrama.ops.models import WorkerHeartbeat
from microdrama.payments.models import CoinPack, PaymentEvent, Purchase, VipPass, VipPlan
from microdrama.payouts.models import PayoutRequest
from microdrama.paywall.models import AdReward, Unlock
from microdrama.playback.models import WatchProgress
from microdrama.rate_limits import RateLimitHit
from microdrama.shop.models import (
    Campaign,
    CartItem,
    Order,
    OrderLine,
    Placement,
    PlacementEvent,
    Product,
    ProductVariant,
)
from microdrama.studio.models import Upload
from microdrama.subtitles.models import SubtitleTrack
from microdrama.wallet.models import (
    BonusLot,
    DailyCheckin,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
)

__all__ = [
    "AIJob",
    "Account",
    "AdReward",
    "AuthSession",
    "BonusLot",
    "Campaign",
    "CartItem",
    "CoinPack",
    "DailyCheckin",
    "Episode",
    "EpisodeView",
    "FeedExperiment",
    "FeedExposure",
    "IdempotencyRecord",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerTransaction",
    "LoginAttempt",
    "MediaAsset",
    "Order",
    "OrderLine",
    "PaymentEvent",
    "PayoutRequest",
    "Placement",
    "PlacementEvent",
    "PlanVersion",
    "PlatformSetting",
    "PlaybackEvent",
    "Product",
    "ProductVariant",
    "Purchase",
    "RankingEntry",
    "RateLimitHit",
    "Recommendation",
    "RecsRun",
    "RollupMark",
    "Series",
    "SeriesFollow",
    "SettingChange",
    "SimilarSeries",
    "SubtitleTrack",
    "TranscodeJob",
    "TrustedDevice",
    "Unlock",
    "Upload",
    "VipPass",
    "VipPlan",
    "WatchProgress",
    "WorkerHeartbeat",
    "WritersRoomProject",
]


def outside_the_models(
    object_: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic's include_object: False for what the migrations make beside the models (the
    search index's tables; PostgreSQL's day partitions of the playback events)."""
    return all(
        include(object_, name, type_, reflected, compare_to)
        for include in (search_index.outside_the_models, event_partitions.outside_the_models)
    )
