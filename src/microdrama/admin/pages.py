"""Role-gated desk pages (operator, statements, subtitle editor) and the operator's own pages.

The pages are thin: they check who is asking and render; their scripts use the JSON API."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from microdrama.accounts.deps import page_account
from microdrama.accounts.models import Role
from microdrama.db import DbSession
from microdrama.templating import render_page as render

router = APIRouter(include_in_schema=False)


def _operator_page(request: Request, db: DbSession, template: str) -> Response:
    """A page only operators see, which its script fills from the JSON API."""
    admin = page_account(request, db, Role.admin)
    if isinstance(admin, Response):
        return admin
    return render(request, template, {"account": admin})


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, db: DbSession) -> Response:
    """Coin packs, VIP plans, the revenue share and the payout minimum (admin)."""
    return _operator_page(request, db, "operator_admin.html")


@router.get("/admin/payouts", response_class=HTMLResponse)
def admin_payouts_page(request: Request, db: DbSession) -> Response:
    """Payout requests to approve, reject or mark paid (admin)."""
    return _operator_page(request, db, "operator_payouts.html")
