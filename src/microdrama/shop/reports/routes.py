"""Shop reports API: the brand's funnels (JSON, CSV, per day) and the creator's commissions."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Response

from microdrama.accounts.deps import CurrentCreator
from microdrama.db import DbSession, utcnow
from microdrama.shop.brand_view import BrandInView
from microdrama.shop.reports import service as reports
from microdrama.shop.reports.schemas import CommissionReport, FunnelDays, FunnelReport, GroupBy

router = APIRouter(tags=["shop"])


def _period(since: date | None, until: date | None) -> reports.DateRange:
    return reports.date_range(since=since, until=until, today=utcnow().date())


@router.get("/api/brand/funnels")
def funnels(
    db: DbSession,
    brand: BrandInView,
    group_by: GroupBy = "placement",
    since: date | None = None,
    until: date | None = None,
) -> FunnelReport:
    """Impressions → clicks → carts → orders, revenue, commission and ROAS of the brand's
    placements, grouped by placement, campaign or series."""
    report = reports.funnels(db=db, brand=brand, group_by=group_by, period=_period(since, until))
    return FunnelReport.model_validate(report)


@router.get("/api/brand/funnels.csv", response_class=Response)
def funnels_csv(
    db: DbSession,
    brand: BrandInView,
    group_by: GroupBy = "placement",
    since: date | None = None,
    until: date | None = None,
) -> Response:
    """The same rows as a CSV download."""
    period = _period(since, until)
    report = reports.funnels(db=db, brand=brand, group_by=group_by, period=period)
    filename = f"funnels-{group_by}-{period.since}-{period.until}.csv"
    return Response(
        reports.funnels_csv(report["rows"]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/api/brand/funnels/daily")
def funnels_daily(
    db: DbSession, brand: BrandInView, since: date | None = None, until: date | None = None
) -> FunnelDays:
    """The brand's funnel per day, every day of the range."""
    report = reports.daily(db=db, brand=brand, period=_period(since, until))
    return FunnelDays.model_validate(report)


@router.get("/api/studio/commissions")
def commissions(
    db: DbSession, creator: CurrentCreator, since: date | None = None, until: date | None = None
) -> CommissionReport:
    """The creator's affiliate commission per placement and in total (from the ledger)."""
    report = reports.commissions(db=db, creator=creator, period=_period(since, until))
    return CommissionReport.model_validate(report)
