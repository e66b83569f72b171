"""Statement pages for creators (/studio/statements) and brands (/brand/statements): the
overview with the payout request form, and a printable statement per month."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from microdrama.accounts.deps import page_account
from microdrama.accounts.models import Role
from microdrama.db import DbSession
from microdrama.errors import DomainError
from microdrama.payouts import service
from microdrama.templating import render_page as render
from microdrama.wallet.models import LedgerAccountKind

router = APIRouter(include_in_schema=False)

EARNERS = {
    "studio": (Role.creator, LedgerAccountKind.creator_earnings, "Studio statements"),
    "brand": (Role.brand, LedgerAccountKind.brand_revenue, "Brand statements"),
}


def _add(area: str) -> None:
    role, kind, title = EARNERS[area]

    @router.get(f"/{area}/statements", response_class=HTMLResponse, name=f"{area}_statements")
    def overview(request: Request, db: DbSession) -> Response:
        """Earnings, payout requests and the list of monthly statements."""
        account = page_account(request, db, role)
        if isinstance(account, Response):
            return account
        months = service.statement_months(db=db, owner=account, kind=kind)
        context = {
            "account": account,
            "title": title,
            "area": area,
            "api": f"/api/{area}",
            "months": months,
            "allows_coins": kind == LedgerAccountKind.creator_earnings,
        }
        return render(request, "operator_statements.html", context)

    @router.get(
        f"/{area}/statements/{{month}}", response_class=HTMLResponse, name=f"{area}_statement"
    )
    def statement(month: str, request: Request, db: DbSession) -> Response:
        """One month's statement, ready to print (or save as PDF from the browser)."""
        account = page_account(request, db, role)
        if isinstance(account, Response):
            return account
        try:
            found = service.monthly_statement(
                db=db, owner=account, kind=kind, month=service.Month.parse(month)
            )
        except DomainError as exc:
            return render(request, "not_found.html", {"message": exc.message}, status_code=404)
        context = {
            "account": account,
            "title": title,
            "area": area,
            "statement": found,
            "csv_url": f"/api/{area}/statements/{month}.csv",
        }
        return render(request, "operator_statement.html", context)


for _area in EARNERS:
    _add(_area)
