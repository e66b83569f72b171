"""The monthly VIP pool: VIP income shared with creators by the VIP watch time of their series.

For a calendar month (UTC) that has ended:

- **pool** = the month's net VIP income in the ledger (VIP payments minus VIP refunds posted in
  the month, USD cents) x the creators' revenue share (the operator's setting, read when the
  month is settled), rounded down to the cent; no pool when the net income is not positive;
- **VIP watch time** of a series = the sum of `furthest_ms` of the views that started in the
  month, on its paid episodes (number > `free_episodes`, the ones VIP unlocks), by viewers who
  held a live, non-revoked VIP pass when the view started (not the series' own creator);
- each series gets pool x its watch / all series' watch, in whole cents by the largest-remainder
  method (`split_pool`), so the shares add up to the pool exactly;
- one ledger transaction per (month, series) moves it from platform revenue to the creator's USD
  earnings (`wallet.vip_share`), all of the month in one database transaction; a month already
  settled is never settled again (its postings are read back instead).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from microdrama.admin import service as platform
from microdrama.analytics.models import EpisodeView
from microdrama.analytics.service import MAX_AGE as EVENTS_MAX_AGE
from microdrama.analytics.service import fold_new_events
from microdrama.catalog.models import Episode, Series
from microdrama.config import Settings
from microdrama.db import run_money_transaction
from microdrama.errors import Conflict
from microdrama.payments import vip
from microdrama.payouts.service import Month
from microdrama.wallet import vip_share as ledger
from microdrama.wallet.models import LedgerTransaction

# Players may send a view's events up to this long after they happened (analytics refuses older
# ones): housekeeping waits this long after a month ends, so its watch time is final.
LATE_EVENTS = EVENTS_MAX_AGE


class MonthNotOver(Conflict, code="month_not_over"): ...


@dataclass(frozen=True)
class SeriesWatch:
    """A series' VIP watch time in a month (see the module's rule)."""

    series_id: int
    title: str
    creator_id: int
    watch_ms: int


@dataclass(frozen=True)
class SeriesShare(SeriesWatch):
    """A series' watch time and its part of the month's pool."""

    amount_cents: int
    transaction_id: int | None  # None when the share rounded to nothing (nothing posted)


@dataclass(frozen=True)
class Settlement:
    month: Month
    vip_income_cents: int
    share_percent: int
    pool_cents: int
    total_watch_ms: int
    shares: list[SeriesShare]
    settled_before: bool = False  # an earlier run settled the month: nothing posted now
    preview: bool = False  # computed, not posted (the month so far, if it has not ended)

    @property
    def posted(self) -> int:
        """Ledger transactions this run posted."""
        if self.settled_before or self.preview:
            return 0
        return sum(1 for share in self.shares if share.transaction_id is not None)

    @property
    def nothing_to_share(self) -> str:
        """Why the month posts nothing ("" when it posts something)."""
        if self.pool_cents <= 0:
            income = dollars(self.vip_income_cents)
            return f"no pool: net VIP income {income} at a {self.share_percent} % share"
        if self.total_watch_ms <= 0:
            return f"no VIP watch time on paid episodes in {self.month}"
        return ""


def dollars(cents: int) -> str:
    """Cents as dollars for people: -$1,234.50."""
    return f"{'-' if cents < 0 else ''}${abs(cents) / 100:,.2f}"


# --- the rule -------------------------------------------------------------------------------


def split_pool(*, pool_cents: int, weights: Mapping[int, int]) -> dict[int, int]:
    """Split pool_cents in proportion to weights (series id -> watch ms), in whole cents that
    add up to the pool: each gets the floor of its exact part, and the cents left over go one
    each to the largest remainders; equal remainders go to the smaller id first (so the answer
    never depends on the order of the mapping). Each part is within one cent of its exact one."""
    if any(weight < 0 for weight in weights.values()):
        raise ValueError("weights cannot be negative")
    total = sum(weights.values())
    if pool_cents <= 0 or total <= 0:
        return dict.fromkeys(weights, 0)
    parts: dict[int, int] = {}
    remainders: dict[int, int] = {}
    for key, weight in weights.items():
        parts[key], remainders[key] = divmod(pool_cents * weight, total)
    left_over = pool_cents - sum(parts.values())
    # left_over < the number of non-zero remainders, so only parts with one get a cent.
    for key in sorted(weights, key=lambda k: (-remainders[k], k))[:left_over]:
        parts[key] += 1
    return parts


def pool_cents(*, vip_income_cents: int, share_percent: int) -> int:
    """The creators' pool of a month: their share of the net VIP income, rounded down."""
    return max(0, vip_income_cents) * share_percent // 100


def vip_watch(*, db: Session, month: Month) -> list[SeriesWatch]:
    """Per series, the VIP watch time of the month (see the module's rule), by series id."""
    v = EpisodeView
    watch_ms = func.sum(v.furthest_ms)
    rows = db.execute(
        select(Series.id, Series.title, Series.owner_id, watch_ms)
        .select_from(v)
        .join(Episode, Episode.id == v.episode_id)
        .join(Series, Series.id == v.series_id)
        .where(
            v.played.is_(True),
            v.started_at >= month.starts_at,
            v.started_at < month.ends_at,
            Episode.number > Series.free_episodes,
            v.account_id != Series.owner_id,
            vip.has_active_vip_clause(
                account_id=v.account_id.expression, now=v.started_at.expression
            ),
        )
        .group_by(Series.id, Series.title, Series.owner_id)
        .having(watch_ms > 0)
        .order_by(Series.id)
    )
    return [SeriesWatch(int(i), title, int(owner), int(ms)) for i, title, owner, ms in rows]


# --- settling -------------------------------------------------------------------------------


def _plan(db: Session, settings: Settings, month: Month) -> Settlement:
    """The month's pool and split from the ledger and the views as they are now (no posting)."""
    income = ledger.net_vip_income_cents(db=db, since=month.starts_at, until=month.ends_at)
    percent = platform.creator_revenue_share_percent(db, settings=settings)
    pool = pool_cents(vip_income_cents=income, share_percent=percent)
    watch = vip_watch(db=db, month=month) if pool > 0 else []
    amounts = split_pool(pool_cents=pool, weights={w.series_id: w.watch_ms for w in watch})
    shares = [
        SeriesShare(w.series_id, w.title, w.creator_id, w.watch_ms, amounts[w.series_id], None)
        for w in watch
    ]
    total_ms = sum(w.watch_ms for w in watch)
    return Settlement(month, income, percent, pool, total_ms, shares, preview=True)


def preview_month(*, db: Session, settings: Settings, month: Month) -> Settlement:
    """A month's settlement as posted, or else what settling it would post now (for a month
    not over yet: its figures so far). Posts nothing."""
    earlier = ledger.month_shares(db=db, month=str(month))
    if earlier:
        return _read_back(db, month, earlier)
    engine = db.get_bind()
    assert isinstance(engine, Engine)
    fold_new_events(engine)  # SQLite: the rollup brought up to date with every stored event
    return _plan(db, settings, month)


def _require_over(month: Month, now: datetime) -> None:
    if now < month.ends_at:
        raise MonthNotOver(
            f"{month} has not ended yet: its VIP pool can be shared from "
            f"{month.ends_at:%Y-%m-%d} 00:00 UTC.",
            month=str(month),
        )


def settle_month(*, db: Session, settings: Settings, month: Month, now: datetime) -> Settlement:
    """Share the month's VIP pool with the creators in the ledger (the caller commits), or read
    back the settlement an earlier run made. `MonthNotOver` until the month has ended. The
    caller brings the views' rollup up to date first (`settle` does)."""
    _require_over(month, now)
    earlier = ledger.month_shares(db=db, month=str(month))
    if earlier:
        return _read_back(db, month, earlier)
    plan = _plan(db, settings, month)
    shares = []
    for share in plan.shares:
        posted = None
        if share.amount_cents > 0:
            posted = ledger.credit_vip_share(
                db=db,
                month=str(month),
                series_id=share.series_id,
                creator_id=share.creator_id,
                amount_cents=share.amount_cents,
                memo=f"VIP share, {month.title}: {share.title}",
                details={
                    "amount_cents": share.amount_cents,
                    "watch_ms": share.watch_ms,
                    "total_watch_ms": plan.total_watch_ms,
                    "pool": plan.pool_cents,
                    "share_percent": plan.share_percent,
                    "vip_income_cents": plan.vip_income_cents,
                },
            ).id
        shares.append(replace(share, transaction_id=posted))
    return replace(plan, shares=shares, preview=False)


def _read_back(db: Session, month: Month, postings: list[LedgerTransaction]) -> Settlement:
    titles = dict(
        db.execute(
            select(Series.id, Series.title).where(
                Series.id.in_([int(p.details["series_id"]) for p in postings])
            )
        ).all()
    )
    first = postings[0].details
    shares = [
        SeriesShare(
            series_id=int(p.details["series_id"]),
            title=titles.get(int(p.details["series_id"]), "(deleted series)"),
            creator_id=int(p.actor_id or 0),
            watch_ms=int(p.details["watch_ms"]),
            amount_cents=int(p.details["amount_cents"]),
            transaction_id=p.id,
        )
        for p in postings
    ]
    return Settlement(
        month=month,
        vip_income_cents=int(first.get("vip_income_cents", 0)),
        share_percent=int(first["share_percent"]),
        pool_cents=int(first["pool"]),
        total_watch_ms=int(first["total_watch_ms"]),
        shares=shares,
        settled_before=True,
    )


def settle(
    *, factory: sessionmaker[Session], settings: Settings, month: Month, now: datetime
) -> Settlement:
    """`settle_month` in a money transaction of its own. Two runs at once (two housekeeping
    processes): the second one's postings collide on their unique references and roll back,
    and its retry reads back what the first one settled."""
    _require_over(month, now)
    # SQLite: views still waiting to be folded into the rollup count too (folded before the
    # money transaction takes the write lock).
    fold_new_events(factory.kw["bind"])
    try:
        return run_money_transaction(
            factory, lambda db: settle_month(db=db, settings=settings, month=month, now=now)
        )
    except IntegrityError:
        return run_money_transaction(
            factory, lambda db: settle_month(db=db, settings=settings, month=month, now=now)
        )


def previous_month(now: datetime) -> Month:
    """The calendar month (UTC) before the one `now` is in."""
    return Month.of(Month.of(now).starts_at - timedelta(days=1))


# Months this process has seen settled (or with nothing to share once final), per database:
# their result can no longer change, so housekeeping does not query them again.
_final: set[tuple[str, str]] = set()


def forget_final_months() -> None:
    """Drop this process's memory of settled months (tests that empty the database use it)."""
    _final.clear()


def settle_due_month(
    *, factory: sessionmaker[Session], settings: Settings, now: datetime
) -> Settlement | None:
    """Housekeeping's chore: settle the last month whose views can no longer change (it ended
    LATE_EVENTS ago); None when this process already saw it settled."""
    month = previous_month(now - LATE_EVENTS)
    key = (settings.effective_database_url, str(month))
    if key in _final:
        return None
    settlement = settle(factory=factory, settings=settings, month=month, now=now)
    _final.add(key)
    return settlement
