"""Platform settings: typed values stored in the database, defaults from the configuration,
every change audited (who, when, old -> new)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from microdrama.admin.models import PlatformSetting, SettingChange
from microdrama.cache import TTLCache
from microdrama.config import Settings, get_settings
from microdrama.db import utcnow

CREATOR_REVENUE_SHARE = "creator_revenue_share_percent"
PAYOUT_MINIMUM = "payout_minimum_cents"


@dataclass(frozen=True)
class SettingSpec:
    key: str
    description: str
    minimum: int
    maximum: int

    def default(self, settings: Settings) -> int:
        return int(getattr(settings, self.key))


# What the operator may change at run time; the configuration gives the starting values.
SPECS = {
    spec.key: spec
    for spec in (
        SettingSpec(
            CREATOR_REVENUE_SHARE,
            "Creators' share of the paid coins of every unlock and of the monthly VIP pool, "
            "in percent",
            0,
            100,
        ),
        SettingSpec(
            PAYOUT_MINIMUM,
            "The smallest payout a creator or brand may request, in cents",
            0,
            10_000_000,
        ),
    )
}


def _stored(db: Session, key: str) -> PlatformSetting | None:
    return db.get(PlatformSetting, key)


def value(db: Session, key: str, *, settings: Settings | None = None) -> int:
    """A setting's current value: the stored one, else the configured default."""
    row = _stored(db, key)
    if row is not None:
        return int(row.value)
    return SPECS[key].default(settings or get_settings())


def creator_revenue_share_percent(db: Session, *, settings: Settings | None = None) -> int:
    """Creators' share of an unlock's paid coins, as the operator set it (one primary-key read)."""
    return value(db, CREATOR_REVENUE_SHARE, settings=settings)


# The unlock path reads the share on every unlock: a per-process copy, at most this old. A change
# applies at once in the process that made it and within these seconds in every other one.
SHARE_MAX_AGE_SECONDS = 5.0
_share_cache: TTLCache[int] = TTLCache(
    SHARE_MAX_AGE_SECONDS, max_stale_seconds=SHARE_MAX_AGE_SECONDS
)


def cached_creator_revenue_share_percent(db: Session, *, settings: Settings) -> int:
    """`creator_revenue_share_percent`, read from the database at most every few seconds."""
    key = db.get_bind().engine.url.render_as_string()
    share = _share_cache.get(key)
    if share is None:
        share = _share_cache.put(key, creator_revenue_share_percent(db, settings=settings))
    return share


def forget_cached_settings() -> None:
    """Drop this process's copies (tests that empty the database use it)."""
    _share_cache.clear()


def payout_minimum_cents(db: Session, *, settings: Settings | None = None) -> int:
    """The smallest payout that may be requested, in cents."""
    return value(db, PAYOUT_MINIMUM, settings=settings)


def current(*, db: Session, settings: Settings) -> dict[str, int]:
    """Every setting with its current value."""
    return {key: value(db, key, settings=settings) for key in SPECS}


def update(
    *, db: Session, settings: Settings, admin_id: int, changes: dict[str, Any]
) -> list[SettingChange]:
    """Apply the changed values (validated by the schema) and audit each one that differs."""
    audited: list[SettingChange] = []
    for key, new in sorted(changes.items()):
        spec = SPECS[key]
        new = int(new)
        if not spec.minimum <= new <= spec.maximum:
            raise ValueError(f"{key} out of range")  # the schema refuses this first
        row = db.scalar(select(PlatformSetting).where(PlatformSetting.key == key).with_for_update())
        old = int(row.value) if row is not None else spec.default(settings)
        if row is None:
            try:
                with db.begin_nested():
                    row = PlatformSetting(key=key, value=new, updated_by_id=admin_id)
                    db.add(row)
            except IntegrityError:  # another admin created it first: lock theirs
                row = db.scalar(
                    select(PlatformSetting).where(PlatformSetting.key == key).with_for_update()
                )
                assert row is not None
                old = int(row.value)
        if old == new:
            continue
        row.value, row.updated_by_id, row.updated_at = new, admin_id, utcnow()
        change = SettingChange(key=key, old_value=old, new_value=new, changed_by_id=admin_id)
        db.add(change)
        audited.append(change)
    db.flush()
    if audited:
        _share_cache.clear()
    return audited


def history(*, db: Session, limit: int = 50) -> list[SettingChange]:
    """The latest setting changes, newest first."""
    return list(
        db.scalars(
            select(SettingChange)
            .order_by(SettingChange.changed_at.desc(), SettingChange.id.desc())
            .limit(limit)
        )
    )
