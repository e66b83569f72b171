"""Role-gated desk pages (operator, statements, subtitle editor) and the operator's own pages.

The pages are thin: they check who is asking and render; their scripts use the JSON API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from microdrama.accounts.deps import known_viewer
from microdrama.accounts.models import Account, Role
from microdrama.db import DbSession
from microdrama.web.routes import PAGE_CACHE, templates

router = APIRouter(include_in_schema=False)


def page_account(request: Request, db: DbSession, role: Role) -> Account | Response:
    """The signed-in account if it has the role (admins always); otherwise the answer to give:
    guests go to sign in and come back, other roles get a 403 page."""
    account = known_viewer(request, db)
    if account is None or account.is_guest:
        return RedirectResponse(f"/signin?next={request.url.path}", status_code=303)
    if account.role not in {role, Role.admin}:
        return render(
            request,
            "not_found.html",
            {"message": f"This page is for {role.value} accounts."},
            status_code=403,
        )
    return account


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    return templates.TemplateResponse(
        request, template, context, status_code=status_code, headers={"Cache-Control": PAGE_CACHE}
    )


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, db: DbSession) -> Response:
    """Coin packs, VIP plans, the revenue share and the payout minimum (admin)."""
    admin = page_account(request, db, Role.admin)
    if isinstance(admin, Response):
        return admin
    return render(request, "operator_admin.html", {"account": admin})


@router.get("/admin/payouts", response_class=HTMLResponse)
def admin_payouts_page(request: Request, db: DbSession) -> Response:
    """Payout requests to approve, reject or mark paid (admin)."""
    admin = page_account(request, db, Role.admin)
    if isinstance(admin, Response):
        return admin
    return render(request, "operator_payouts.html", {"account": admin})
