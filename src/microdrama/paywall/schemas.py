"""Paywall schemas: what an episode costs, unlocking it, and the rewarded ad's answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from microdrama.paywall.entitlement import Reason
from microdrama.types import Id


class UnlockRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: Literal["coins"] = "coins"  # the only way this route unlocks (ads: /api/ads)


class RestOfSeriesRead(BaseModel):
    """The still-locked episodes from this one on, and what they cost together."""

    model_config = ConfigDict(extra="forbid")

    episodes: int
    sum_coins: int
    cap_price_coins: int
    cap_price_cents: int


class VipPlanOffer(BaseModel):
    """A VIP plan as the paywall sheet offers it (the catalog's own fields stay in payments)."""

    model_config = ConfigDict(extra="forbid")

    code: str
    name: str
    period_days: int
    price_cents: int
    currency: str


class AccessRead(BaseModel):
    """Can the viewer play the episode, and if not, every way to get it."""

    # The service builds this answer as a dict: a key it adds without a field here must fail
    # the tests, not vanish from the answer.
    model_config = ConfigDict(extra="forbid")

    episode_id: int
    series_id: int
    episode_number: int
    allowed: bool
    reason: Reason
    price_coins: int
    price_cents: int
    balance_coins: int
    paid_coins: int
    bonus_coins: int
    rest_of_series: RestOfSeriesRead
    auto_unlock: bool
    weekly_spend_limit_coins: int | None
    ads_left_today: int
    vip_plans: list[VipPlanOffer]


class UnlockRead(BaseModel):
    """One episode unlocked with coins (or found playable already: nothing charged)."""

    episode_id: int
    allowed: bool
    reason: Reason
    charged_coins: int
    balance_coins: int


class RestUnlockRead(BaseModel):
    """The rest of a series unlocked at its cap price, in one payment."""

    series_id: int
    unlocked_episodes: int
    charged_coins: int
    balance_coins: int


class AdSessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    episode_id: Id


class AdSessionRead(BaseModel):
    """The built-in rewarded ad to play before the episode unlocks."""

    model_config = ConfigDict(extra="forbid")

    ad_session: str
    ad_url: str
    duration_ms: int
    ads_left_today: int


class AdGrantRead(BaseModel):
    """What a finished ad earned: the episode unlocked, or the entitlement it already had."""

    model_config = ConfigDict(from_attributes=True)

    granted: bool
    reason: Reason
    episode_id: int
    ads_left_today: int
