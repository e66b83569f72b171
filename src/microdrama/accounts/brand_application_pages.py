"""The "become a brand" page: a plain HTML form (no script needed) and the latest decision."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from microdrama.accounts import brand_applications as service
from microdrama.accounts.deps import known_viewer
from microdrama.accounts.errors import AlreadyBrand, ApplicationPending
from microdrama.accounts.pages import EXPIRED_FORM, FormText, csrf_ok, first_problem, form_page
from microdrama.accounts.schemas import BrandApplicationCreate
from microdrama.db import DbSession

router = APIRouter(include_in_schema=False)

TEMPLATE = "brand_apply.html"
EMPTY_FORM = {"company_name": "", "website": "", "contact_email": "", "note": ""}


@router.get("/brand/apply", response_class=HTMLResponse)
def apply_page(request: Request, db: DbSession, sent: bool = False) -> Response:
    """The application form, or where the latest application stands."""
    account = known_viewer(request, db)
    if account is None or account.is_guest:
        return RedirectResponse("/signin?next=/brand/apply", status_code=303)
    context: dict[str, Any] = {
        "account": account,
        "application": service.latest(db=db, account=account),
        "form": {**EMPTY_FORM, "contact_email": account.email or ""},
        "errors": {},
        "sent": sent,
    }
    return form_page(request, TEMPLATE, context)


@router.post("/brand/apply", response_class=HTMLResponse)
def apply_submit(
    request: Request,
    db: DbSession,
    company_name: FormText = "",
    website: FormText = "",
    contact_email: FormText = "",
    note: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """File the application; the form comes back with a message next to each field to fix."""
    account = known_viewer(request, db)
    if account is None or account.is_guest:
        return RedirectResponse("/signin?next=/brand/apply", status_code=303)
    form = {
        "company_name": company_name,
        "website": website,
        "contact_email": contact_email,
        "note": note,
    }
    context: dict[str, Any] = {
        "account": account,
        "application": service.latest(db=db, account=account),
        "form": form,
        "errors": {},
        "sent": False,
    }
    if not csrf_ok(request, csrf_token):
        return form_page(request, TEMPLATE, {**context, "error": EXPIRED_FORM}, 403)
    try:
        data = BrandApplicationCreate.model_validate(form)
    except ValidationError as exc:
        return form_page(request, TEMPLATE, {**context, "errors": first_problem(exc)}, 422)
    try:
        service.apply(db=db, account=account, data=data)
    except (ApplicationPending, AlreadyBrand) as exc:
        return form_page(request, TEMPLATE, {**context, "error": exc.message}, exc.status_code)
    return RedirectResponse("/brand/apply?sent=true", status_code=303)
