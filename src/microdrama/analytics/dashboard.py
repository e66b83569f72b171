"""A series' analytics: SQL aggregates over the per-view rollup, revenue from the ledger.

Every figure is one grouped query over `episode_views` (one row per viewer, session and
episode, so about 1/20 of the events), never a Python loop over events; Python only turns
per-second histograms (one row per episode and second) into curves.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, literal, select
from sqlalchemy.orm import Session, aliased

from microdrama.analytics.models import EpisodeView
from microdrama.analytics.schemas import (
    BingeDepth,
    DropOff,
    EpisodeStats,
    PaywallFunnel,
    RevenueSource,
    SeriesDashboard,
)
from microdrama.analytics.service import fold_new_events
from microdrama.catalog.models import Episode, Series
from microdrama.payments.models import VipPass
from microdrama.paywall.models import Unlock, UnlockMethod
from microdrama.wallet import vip_share
from microdrama.wallet.models import (
    Currency,
    LedgerAccount,
    LedgerAccountKind,
    LedgerEntry,
    LedgerTransaction,
)

DROP_OFFS_SHOWN = 3
METHODS = ("coins", "vip", "ad")


@dataclass(frozen=True)
class DateRange:
    """Whole UTC days, both ends included; None means unbounded."""

    first_day: date | None = None
    last_day: date | None = None

    @property
    def start(self) -> datetime | None:
        return datetime.combine(self.first_day, time(), UTC) if self.first_day else None

    @property
    def end(self) -> datetime | None:
        if self.last_day is None:
            return None
        return datetime.combine(self.last_day + timedelta(days=1), time(), UTC)

    def clause(self, column: Any) -> ColumnElement[bool]:
        conditions: list[ColumnElement[bool]] = []
        if self.start is not None:
            conditions.append(column >= self.start)
        if self.end is not None:
            conditions.append(column < self.end)
        return and_(True, *conditions)


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _views(series_id: int, period: DateRange) -> ColumnElement[bool]:
    v = EpisodeView
    return and_(v.series_id == series_id, v.played.is_(True), period.clause(v.started_at))


def retention_curve(histogram: dict[int, int], views: int, duration_s: int) -> list[float]:
    """Share of views still watching at each second (furthest second reached >= s)."""
    if not views:
        return [0.0] * (duration_s + 1)
    curve: list[float] = []
    remaining = views
    for second in range(duration_s + 1):
        curve.append(round(remaining / views, 4))
        remaining -= histogram.get(second, 0)
    return curve


def biggest_drop_offs(curve: list[float], shown: int = DROP_OFFS_SHOWN) -> list[DropOff]:
    """The seconds that lost the most viewers (not counting the end of the episode)."""
    drops = [
        DropOff(second=second, drop=round(curve[second] - curve[second + 1], 4))
        for second in range(len(curve) - 2)
    ]
    drops.sort(key=lambda d: (-d.drop, d.second))
    return [d for d in drops[:shown] if d.drop > 0]


def _episode_figures(db: Session, series_id: int, period: DateRange) -> dict[int, Any]:
    v = EpisodeView
    rows = db.execute(
        select(
            v.episode_id,
            func.count().label("views"),
            func.count(func.distinct(v.account_id)).label("viewers"),
            func.sum(case((v.completed.is_(True), 1), else_=0)).label("completed"),
            func.sum(v.furthest_ms).label("watch_ms"),
        )
        .where(_views(series_id, period))
        .group_by(v.episode_id)
    )
    return {row.episode_id: row for row in rows}


def _histograms(db: Session, series_id: int, period: DateRange) -> dict[int, dict[int, int]]:
    v = EpisodeView
    second = (v.furthest_ms // 1000).label("second")
    rows = db.execute(
        select(v.episode_id, second, func.count())
        .where(_views(series_id, period))
        .group_by(v.episode_id, second)
    )
    histograms: dict[int, dict[int, int]] = defaultdict(dict)
    for episode_id, at, count in rows:
        histograms[episode_id][int(at)] = int(count)
    return histograms


def _continuation(db: Session, series_id: int, period: DateRange) -> dict[int, tuple[int, int]]:
    """Per episode: (completed views, of which the same session played the next episode).
    One pass: each session's played episodes in order, and the number of the one after."""
    v = EpisodeView
    number = Episode.number
    in_session = (
        select(
            v.episode_id,
            v.completed,
            number.label("number"),
            func.lead(number)
            .over(partition_by=(v.account_id, v.session_id), order_by=number)
            .label("next_number"),
        )
        .join(Episode, Episode.id == v.episode_id)
        .where(_views(series_id, period))
        .subquery()
    )
    went_on = case((in_session.c.next_number == in_session.c.number + 1, 1), else_=0)
    rows = db.execute(
        select(in_session.c.episode_id, func.count(), func.sum(went_on))
        .where(in_session.c.completed.is_(True))
        .group_by(in_session.c.episode_id)
    )
    return {episode_id: (int(done), int(on or 0)) for episode_id, done, on in rows}


def _paywall(db: Session, series_id: int, period: DateRange) -> dict[int, dict[str, int]]:
    """Per locked episode: viewers who reached it locked, and how those who unlocked did it
    (the method comes from the paywall's unlock rows and VIP passes, not from events)."""
    v = EpisodeView
    reached_at = func.min(func.coalesce(v.paywall_shown_at, v.started_at))
    reached = (
        select(v.account_id, v.episode_id, reached_at.label("reached_at"))
        .where(
            v.series_id == series_id,
            (v.paywall_shown_at.is_not(None)) | v.unlocked.is_(True),
            period.clause(func.coalesce(v.paywall_shown_at, v.started_at)),
        )
        .group_by(v.account_id, v.episode_id)
        .subquery()
    )
    vip_after = exists().where(
        VipPass.account_id == reached.c.account_id,
        VipPass.revoked_at.is_(None),
        VipPass.ends_at > reached.c.reached_at,
    )
    how = case(
        (Unlock.method == UnlockMethod.ad, literal("ad")),
        (Unlock.method.is_not(None), literal("coins")),
        (vip_after, literal("vip")),
        else_=literal("none"),
    ).label("how")
    rows = db.execute(
        select(reached.c.episode_id, how, func.count())
        .select_from(reached)
        .outerjoin(
            Unlock,
            and_(
                Unlock.account_id == reached.c.account_id,
                Unlock.episode_id == reached.c.episode_id,
                Unlock.revoked_at.is_(None),
            ),
        )
        .group_by(reached.c.episode_id, how)
    )
    funnel: dict[int, dict[str, int]] = defaultdict(dict)
    for episode_id, method, count in rows:
        funnel[episode_id][method] = int(count)
    return funnel


def _binge(db: Session, series_id: int, period: DateRange) -> BingeDepth:
    v = EpisodeView
    per_session = (
        # One row per (viewer, session, episode): counting rows counts distinct episodes.
        select(func.count().label("depth"))
        .where(_views(series_id, period))
        .group_by(v.account_id, v.session_id)
        .subquery()
    )
    rows = db.execute(select(per_session.c.depth, func.count()).group_by(per_session.c.depth)).all()
    histogram = {int(depth): int(count) for depth, count in sorted(rows)}
    sessions = sum(histogram.values())
    total = sum(depth * count for depth, count in histogram.items())
    return BingeDepth(
        sessions=sessions,
        average_episodes=round(total / sessions, 2) if sessions else 0.0,
        histogram=histogram,
    )


def _creator_entries(series: Series, currency: Currency, period: DateRange) -> Any:
    return (
        select(func.coalesce(func.sum(LedgerEntry.amount), 0))
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.ledger_account_id)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(
            LedgerAccount.kind == LedgerAccountKind.creator_earnings,
            LedgerAccount.owner_id == series.owner_id,
            LedgerAccount.currency == currency,
            period.clause(LedgerTransaction.created_at),
        )
    )


def revenue(*, db: Session, series: Series, period: DateRange) -> list[RevenueSource]:
    """What the creator earned, read from the ledger (their earnings account), never events."""
    unlock_txs = select(Unlock.ledger_transaction_id).where(
        Unlock.series_id == series.id, Unlock.ledger_transaction_id.is_not(None)
    )
    refunded = aliased(LedgerTransaction)
    refund_txs = (
        select(LedgerTransaction.id)
        .join(refunded, LedgerTransaction.reference == literal("refund:") + refunded.reference)
        .where(LedgerTransaction.kind == "unlock_refund", refunded.id.in_(unlock_txs))
    )
    unlocks = db.scalar(
        _creator_entries(series, Currency.coin, period).where(
            LedgerTransaction.id.in_(unlock_txs) | LedgerTransaction.id.in_(refund_txs)
        )
    )
    vip = db.scalar(
        _creator_entries(series, Currency.usd, period).where(vip_share.is_series_share(series.id))
    )
    commission = db.scalar(
        _creator_entries(series, Currency.usd, period).where(
            LedgerTransaction.kind.in_(["order_payment", "order_refund"])
        )
    )
    return [
        RevenueSource(
            source="unlocks",
            currency=Currency.coin.value,
            amount=int(unlocks or 0),
            note="your share of paid coins spent on this series' episodes, net of refunds",
        ),
        RevenueSource(
            source="vip_share",
            currency=Currency.usd.value,
            amount=int(vip or 0),
            note="this series' part of each month's VIP pool, by its VIP watch time on paid "
            "episodes; credited when the month is settled (early in the next month)",
        ),
        RevenueSource(
            source="commerce_commission",
            currency=Currency.usd.value,
            amount=int(commission or 0),
            note="affiliate commission on shop orders, credited per creator (all your series)",
        ),
    ]


def series_dashboard(
    *, db: Session, series: Series, period: DateRange | None = None
) -> SeriesDashboard:
    """Everything the studio's analytics page shows for one series (the rollup first brought
    up to date with every stored event)."""
    fold_new_events(db.get_bind())  # type: ignore[arg-type]
    period = period or DateRange()
    episodes = db.scalars(
        select(Episode).where(Episode.series_id == series.id).order_by(Episode.number)
    ).all()
    figures = _episode_figures(db, series.id, period)
    histograms = _histograms(db, series.id, period)
    continuation = _continuation(db, series.id, period)
    paywall = _paywall(db, series.id, period)
    stats: list[EpisodeStats] = []
    for episode in episodes:
        row = figures.get(episode.id)
        views = int(row.views) if row else 0
        duration_s = max(episode.duration_ms // 1000, max(histograms[episode.id], default=0))
        curve = retention_curve(histograms[episode.id], views, duration_s)
        done, went_on = continuation.get(episode.id, (0, 0))
        funnel = paywall.get(episode.id, {})
        is_last = episode is episodes[-1]
        stats.append(
            EpisodeStats(
                episode_id=episode.id,
                number=episode.number,
                title=episode.title,
                duration_ms=episode.duration_ms,
                locked=episode.number > series.free_episodes,
                views=views,
                unique_viewers=int(row.viewers) if row else 0,
                completion_rate=_rate(int(row.completed), views) if row else 0.0,
                average_watch_ms=int(row.watch_ms) // views if row else 0,
                continuation_rate=None if is_last else _rate(went_on, done),
                paywall_reached=sum(funnel.values()),
                unlocked=sum(n for how, n in funnel.items() if how != "none"),
                retention=curve,
                drop_offs=biggest_drop_offs(curve),
            )
        )
    totals = db.execute(
        select(
            func.count(),
            func.count(func.distinct(EpisodeView.account_id)),
            func.sum(case((EpisodeView.completed.is_(True), 1), else_=0)),
            func.coalesce(func.sum(EpisodeView.furthest_ms), 0),
        ).where(_views(series.id, period))
    ).one()
    views, viewers, completed, watch_ms = (int(x or 0) for x in totals)
    by_method = {how: sum(f.get(how, 0) for f in paywall.values()) for how in METHODS}
    reached = sum(sum(f.values()) for f in paywall.values())
    unlocked = sum(by_method.values())
    return SeriesDashboard(
        series_id=series.id,
        title=series.title,
        date_from=period.start,
        date_to=period.end,
        views=views,
        unique_viewers=viewers,
        completion_rate=_rate(completed, views),
        average_watch_ms=watch_ms // views if views else 0,
        paywall=PaywallFunnel(
            reached=reached,
            unlocked=unlocked,
            by_method=by_method,
            conversion_rate=_rate(unlocked, reached),
        ),
        binge=_binge(db, series.id, period),
        revenue=revenue(db=db, series=series, period=period),
        episodes=stats,
    )
