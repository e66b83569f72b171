"""Shop reports API: the brand's funnels (JSON, CSV, per day) and the creator's commissions."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from microdrama.accounts.deps import CurrentCreator
from microdrama.db import DbSession, utcnow
from microdrama.shop.brand_view import BrandInView
from microdrama.shop.reports import service as reports
from microdrama.shop.reports.schemas import CommissionReport, FunnelDays, FunnelReport, GroupBy

router = APIRouter(tags=["shop"])


def _period(since: date | None = None, until: date | None = None) -> reports.DateRange:
    """The report's days from the query's `since` and `until` (the last 30 days by default)."""
    return reports.date_range(since=since, until=until, today=utcnow().date())


# Declared after the account, so that a caller who may not see the report hears that first.
ReportPeriod = Annotated[reports.DateRange, Depends(_period)]


@router.get("/api/brand/funnels")
def funnels(
    db: DbSession, brand: BrandInView, period: ReportPeriod, group_by: GroupBy = "placement"
) -> FunnelReport:
    """Impressions → clicks → carts → orders, revenue, commission and ROAS of the brand's
    placements, grouped by placement, campaign or series."""
    report = reports.funnels(db=db, brand=brand, group_by=group_by, period=period)
    return FunnelReport.model_validate(report)


@router.get("/api/brand/funnels.csv", response_class=Response)
def funnels_csv(
    db: DbSession, brand: BrandInView, period: ReportPeriod, group_by: GroupBy = "placement"
) -> Response:
    """The same rows as a CSV download."""
    report = reports.funnels(db=db, brand=brand, group_by=group_by, period=period)
    filename = f"funnels-{group_by}-{period.since}-{period.until}.csv"
    return Response(
        reports.funnels_csv(report["rows"]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/api/brand/funnels/daily")
def funnels_daily(db: DbSession, brand: BrandInView, period: ReportPeriod) -> FunnelDays:
    """The brand's funnel per day, every day of the range."""
    report = reports.daily(db=db, brand=brand, period=period)
    return FunnelDays.model_validate(report)


@router.get("/api/studio/commissions")
def commissions(db: DbSession, creator: CurrentCreator, period: ReportPeriod) -> CommissionReport:
    """The creator's affiliate commission per placement and in total (from the ledger)."""
    report = reports.commissions(db=db, creator=creator, period=period)
    return CommissionReport.model_validate(report)
