"""The "become a brand" page: a plain HTML form (no script needed) and the latest decision."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from microdrama.accounts import brand_applications as service
from microdrama.accounts.deps import page_account
from microdrama.accounts.errors import AlreadyBrand, ApplicationPending
from microdrama.accounts.forms import FormPage, FormText, PostedForm, form_page
from microdrama.accounts.models import Account
from microdrama.accounts.schemas import BrandApplicationCreate
from microdrama.db import DbSession

router = APIRouter(include_in_schema=False)

TEMPLATE = "brand_apply.html"


class BrandApplicationForm(PostedForm):
    """The form of brand_apply.html, as typed (BrandApplicationCreate checks it)."""

    company_name: FormText = ""
    website: FormText = ""
    contact_email: FormText = ""
    note: FormText = ""


def _context(
    db: DbSession, account: Account, fields: dict[str, str], sent: bool = False
) -> dict[str, Any]:
    return {
        "account": account,
        "application": service.latest(db=db, account=account),
        "form": fields,
        "errors": {},
        "sent": sent,
    }


@router.get("/brand/apply", response_class=HTMLResponse)
def apply_page(request: Request, db: DbSession, sent: bool = False) -> Response:
    """The application form, or where the latest application stands."""
    account = page_account(request, db)
    if isinstance(account, Response):
        return account
    fields = BrandApplicationForm(contact_email=account.email or "").fields()
    return form_page(request, TEMPLATE, _context(db, account, fields, sent))


@router.post("/brand/apply", response_class=HTMLResponse)
def apply_submit(
    request: Request, db: DbSession, sent: Annotated[BrandApplicationForm, Form()]
) -> Response:
    """File the application; the form comes back with a message next to each field to fix."""
    account = page_account(request, db)
    if isinstance(account, Response):
        return account
    form = FormPage(request, TEMPLATE, _context(db, account, sent.fields()))
    data = form.read(BrandApplicationCreate, sent)
    if isinstance(data, Response):
        return data
    try:
        service.apply(db=db, account=account, data=data)
    except (ApplicationPending, AlreadyBrand) as exc:
        return form.again(exc.status_code, error=exc.message)
    return RedirectResponse("/brand/apply?sent=true", status_code=303)
