"""Shop reports: a brand's funnels (per placement, campaign or series, per day, as CSV) and a
creator's affiliate commissions. Counts come from placement events, money from paid orders
(refunded ones drop out) and the creator's total from the ledger."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, distinct, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from microdrama.accounts import service as accounts
from microdrama.accounts.models import Account, Role
from microdrama.catalog import service as catalog
from microdrama.errors import DomainError
from microdrama.shop.models import (
    EARNING_STATUSES,
    Campaign,
    Order,
    OrderLine,
    Placement,
    PlacementEvent,
    PlacementEventKind,
)
from microdrama.shop.reports.schemas import GroupBy
from microdrama.wallet import ledger
from microdrama.wallet.models import LedgerAccountKind

DEFAULT_DAYS = 30
MAX_DAYS = 366
# Orders whose money the brand keeps: paid and still not refunded.
COUNTED_KINDS = {
    PlacementEventKind.impression: "impressions",
    PlacementEventKind.click: "clicks",
    PlacementEventKind.add_to_cart: "add_to_carts",
    PlacementEventKind.order: "orders",
}
CSV_COLUMNS = (
    "key",
    "label",
    "series_id",
    "series_title",
    "campaign_id",
    "placement_id",
    "episode_number",
    "product_title",
    "impressions",
    "unique_viewers",
    "clicks",
    "add_to_carts",
    "orders",
    "revenue_cents",
    "commission_cents",
    "click_through_permille",
    "add_to_cart_permille",
    "order_permille",
    "roas_permille",
)


class InvalidRange(DomainError, code="invalid_range", status_code=422): ...


@dataclass(frozen=True)
class DateRange:
    since: date
    until: date  # inclusive

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time(), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first moment after the range."""
        return datetime.combine(self.until + timedelta(days=1), time(), tzinfo=UTC)

    def days(self) -> list[date]:
        return [self.since + timedelta(days=n) for n in range((self.until - self.since).days + 1)]

    def covers(self, moment: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
        """The column's moment falls within the range."""
        return and_(moment >= self.start, moment < self.end)


def _earning_in(period: DateRange) -> ColumnElement[bool]:
    """Orders that count as sales (paid, not refunded) and were paid within the period."""
    return and_(Order.status.in_(EARNING_STATUSES), period.covers(Order.paid_at))


def date_range(*, since: date | None, until: date | None, today: date) -> DateRange:
    """The report's days (UTC, inclusive): the last 30 days unless given; at most a year."""
    until = until or today
    since = since or until - timedelta(days=DEFAULT_DAYS - 1)
    if since > until:
        raise InvalidRange("since must not be after until.", since=str(since), until=str(until))
    if (until - since).days + 1 > MAX_DAYS:
        raise InvalidRange(f"A report covers at most {MAX_DAYS} days.", field="since")
    return DateRange(since=since, until=until)


def _permille(part: int, whole: int) -> int:
    return part * 1000 // whole if whole else 0


def _clock(ms: int) -> str:
    seconds = ms // 1000
    return f"{seconds // 60}:{seconds % 60:02d}"


@dataclass
class _Group:
    key: str
    label: str
    series_id: int | None
    series_title: str | None
    campaign_id: int | None = None
    placement_id: int | None = None
    episode_number: int | None = None
    product_title: str | None = None


def _row(group: _Group, numbers: dict[str, int]) -> dict[str, Any]:
    impressions, clicks = numbers.get("impressions", 0), numbers.get("clicks", 0)
    add_to_carts, orders = numbers.get("add_to_carts", 0), numbers.get("orders", 0)
    revenue, commission = numbers.get("revenue_cents", 0), numbers.get("commission_cents", 0)
    return {
        **group.__dict__,
        "impressions": impressions,
        "unique_viewers": numbers.get("unique_viewers", 0),
        "clicks": clicks,
        "add_to_carts": add_to_carts,
        "orders": orders,
        "revenue_cents": revenue,
        "commission_cents": commission,
        "click_through_permille": _permille(clicks, impressions),
        "add_to_cart_permille": _permille(add_to_carts, clicks),
        "order_permille": _permille(orders, clicks),
        "roas_permille": revenue * 1000 // commission if commission else None,
    }


def _brand_placements(db: Session, brand: Account) -> tuple[list[Campaign], list[Placement]]:
    campaigns = select(Campaign).order_by(Campaign.id)
    if brand.role != Role.admin:
        campaigns = campaigns.where(Campaign.brand_id == brand.id)
    found = list(db.scalars(campaigns))
    placements = list(
        db.scalars(
            select(Placement)
            .where(Placement.campaign_id.in_([c.id for c in found]))
            .options(selectinload(Placement.product))
            .order_by(Placement.campaign_id, Placement.episode_id, Placement.start_ms, Placement.id)
        )
    )
    return found, placements


def _key_column(group_by: GroupBy) -> Any:
    if group_by == "placement":
        return Placement.id
    if group_by == "campaign":
        return Placement.campaign_id
    return Campaign.series_id


def _groups(
    db: Session, group_by: GroupBy, campaigns: list[Campaign], placements: list[Placement]
) -> dict[int, _Group]:
    series_titles: dict[int, str] = {}
    for campaign in campaigns:
        series = catalog.get(db=db, series_id=campaign.series_id)
        series_titles[campaign.series_id] = series.title if series else ""
    by_campaign = {c.id: c for c in campaigns}
    groups: dict[int, _Group] = {}
    if group_by == "placement":
        for p in placements:
            campaign = by_campaign[p.campaign_id]
            episode = catalog.get_episode(db=db, episode_id=p.episode_id)
            number = episode.number if episode else None
            span = f"{_clock(p.start_ms)}\u2013{_clock(p.end_ms)}"
            series_title = series_titles[campaign.series_id]
            groups[p.id] = _Group(
                key=f"placement:{p.id}",
                label=f"{series_title} · Ep {number} · {p.product.title} · {span}",
                series_id=campaign.series_id,
                series_title=series_titles[campaign.series_id],
                campaign_id=campaign.id,
                placement_id=p.id,
                episode_number=number,
                product_title=p.product.title,
            )
    elif group_by == "campaign":
        for c in campaigns:
            groups[c.id] = _Group(
                key=f"campaign:{c.id}",
                label=c.title or f"Campaign {c.id} · {series_titles[c.series_id]}",
                series_id=c.series_id,
                series_title=series_titles[c.series_id],
                campaign_id=c.id,
            )
    else:
        for series_id, title in series_titles.items():
            groups[series_id] = _Group(
                key=f"series:{series_id}", label=title, series_id=series_id, series_title=title
            )
    return groups


def _event_numbers(
    db: Session, key: ColumnElement[int], placement_ids: list[int], period: DateRange
) -> tuple[dict[int, dict[str, int]], dict[str, int]]:
    """Event counts per group and in total (a viewer seen in several placements counts once)."""
    in_scope = (
        PlacementEvent.placement_id.in_(placement_ids),
        period.covers(PlacementEvent.created_at),
    )
    joined = (
        select(key, PlacementEvent.kind, func.count(PlacementEvent.id))
        .select_from(PlacementEvent)
        .join(Placement, Placement.id == PlacementEvent.placement_id)
        .join(Campaign, Campaign.id == Placement.campaign_id)
        .where(*in_scope)
        .group_by(key, PlacementEvent.kind)
    )
    numbers: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    totals: dict[str, int] = defaultdict(int)
    for group_id, kind, count in db.execute(joined):
        name = COUNTED_KINDS[PlacementEventKind(kind)]
        numbers[group_id][name] += int(count)
        totals[name] += int(count)
    viewers = (
        select(key, func.count(distinct(PlacementEvent.viewer_key)))
        .select_from(PlacementEvent)
        .join(Placement, Placement.id == PlacementEvent.placement_id)
        .join(Campaign, Campaign.id == Placement.campaign_id)
        .where(*in_scope)
        .group_by(key)
    )
    for group_id, count in db.execute(viewers):
        numbers[group_id]["unique_viewers"] = int(count)
    totals["unique_viewers"] = int(
        db.scalar(select(func.count(distinct(PlacementEvent.viewer_key))).where(*in_scope)) or 0
    )
    return numbers, totals


def _money_numbers(
    db: Session, key: ColumnElement[int], placement_ids: list[int], period: DateRange
) -> dict[int, dict[str, int]]:
    """Revenue and commission of paid, unrefunded order lines per group (by payment day)."""
    query = (
        select(
            key,
            func.coalesce(func.sum(OrderLine.quantity * OrderLine.unit_price_cents), 0),
            func.coalesce(func.sum(OrderLine.commission_cents), 0),
        )
        .select_from(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Placement, Placement.id == OrderLine.placement_id)
        .join(Campaign, Campaign.id == Placement.campaign_id)
        .where(
            OrderLine.placement_id.in_(placement_ids),
            _earning_in(period),
        )
        .group_by(key)
    )
    numbers: dict[int, dict[str, int]] = defaultdict(dict)
    for group_id, revenue, commission in db.execute(query):
        numbers[group_id] = {"revenue_cents": int(revenue), "commission_cents": int(commission)}
    return numbers


def funnels(*, db: Session, brand: Account, group_by: GroupBy, period: DateRange) -> dict[str, Any]:
    """The brand's funnel rows (every placement, campaign or series it has, zeros included)
    and their totals."""
    campaigns, placements = _brand_placements(db, brand)
    groups = _groups(db, group_by, campaigns, placements)
    key = _key_column(group_by)
    placement_ids = [p.id for p in placements]
    events, event_totals = _event_numbers(db, key, placement_ids, period)
    money = _money_numbers(db, key, placement_ids, period)
    rows = [
        _row(group, {**events.get(gid, {}), **money.get(gid, {})}) for gid, group in groups.items()
    ]
    totals: dict[str, int] = dict(event_totals)
    totals["revenue_cents"] = sum(r["revenue_cents"] for r in rows)
    totals["commission_cents"] = sum(r["commission_cents"] for r in rows)
    total_group = _Group(key="total", label="Total", series_id=None, series_title=None)
    return {
        "group_by": group_by,
        "since": period.since,
        "until": period.until,
        "currency": "USD",
        "rows": rows,
        "totals": _row(total_group, totals),
    }


def funnels_csv(rows: Iterable[dict[str, Any]]) -> str:
    """The funnel rows as CSV with a header row (empty cells for nulls)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in CSV_COLUMNS})
    return out.getvalue()


def _day(db: Session, column: Any) -> Any:
    # The UTC calendar day of a timestamp, as the database computes it.
    if db.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", column)


def daily(*, db: Session, brand: Account, period: DateRange) -> dict[str, Any]:
    """The brand's funnel per day (every day of the range, zeros included)."""
    _campaigns, placements = _brand_placements(db, brand)
    placement_ids = [p.id for p in placements]
    empty = {"impressions": 0, "clicks": 0, "add_to_carts": 0, "orders": 0, "revenue_cents": 0}
    days: dict[str, dict[str, int]] = {d.isoformat(): dict(empty) for d in period.days()}
    event_day = _day(db, PlacementEvent.created_at)
    events = (
        select(event_day, PlacementEvent.kind, func.count(PlacementEvent.id))
        .where(
            PlacementEvent.placement_id.in_(placement_ids), period.covers(PlacementEvent.created_at)
        )
        .group_by(event_day, PlacementEvent.kind)
    )
    for day, kind, count in db.execute(events):
        if str(day) in days:
            days[str(day)][COUNTED_KINDS[PlacementEventKind(kind)]] += int(count)
    paid_day = _day(db, Order.paid_at)
    revenue = (
        select(paid_day, func.sum(OrderLine.quantity * OrderLine.unit_price_cents))
        .select_from(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            OrderLine.placement_id.in_(placement_ids),
            _earning_in(period),
        )
        .group_by(paid_day)
    )
    for day, cents in db.execute(revenue):
        if str(day) in days:
            days[str(day)]["revenue_cents"] += int(cents or 0)
    return {"days": [{"day": day, **numbers} for day, numbers in days.items()]}


def commissions(*, db: Session, creator: Account, period: DateRange) -> dict[str, Any]:
    """The creator's affiliate commission per placement on their series (paid, unrefunded
    orders), and the total the ledger credited them in the range (refunds netted)."""
    series_ids = catalog.owned_series_ids(db=db, owner=creator)
    query = (
        select(
            OrderLine.placement_id,
            func.count(distinct(OrderLine.order_id)),
            func.sum(OrderLine.quantity * OrderLine.unit_price_cents),
            func.sum(OrderLine.commission_cents),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            OrderLine.creator_id == creator.id,
            OrderLine.placement_id.is_not(None),
            _earning_in(period),
        )
        .group_by(OrderLine.placement_id)
    )
    sold = {pid: (int(n), int(rev or 0), int(com or 0)) for pid, n, rev, com in db.execute(query)}
    placements = list(
        db.scalars(
            select(Placement)
            .join(Campaign, Campaign.id == Placement.campaign_id)
            .where(Campaign.series_id.in_(series_ids))
            .options(selectinload(Placement.product))
            .order_by(Placement.id)
        )
    )
    rows = []
    for p in placements:
        campaign = db.get(Campaign, p.campaign_id)
        episode = catalog.get_episode(db=db, episode_id=p.episode_id)
        series = catalog.get(db=db, series_id=episode.series_id) if episode else None
        brand = accounts.get(db=db, account_id=campaign.brand_id) if campaign else None
        orders, revenue, commission = sold.get(p.id, (0, 0, 0))
        rows.append(
            {
                "placement_id": p.id,
                "series_id": series.id if series else None,
                "series_title": series.title if series else "",
                "episode_id": p.episode_id,
                "episode_number": episode.number if episode else None,
                "product_title": p.product.title,
                "brand_name": brand.display_name if brand else "",
                "orders": orders,
                "revenue_cents": revenue,
                "commission_cents": commission,
            }
        )
    total = ledger.earnings_between(
        db=db,
        owner_id=creator.id,
        kind=LedgerAccountKind.creator_earnings,
        since=period.start,
        until=period.end,
    )
    return {"currency": "USD", "total_commission_cents": total, "rows": rows}
