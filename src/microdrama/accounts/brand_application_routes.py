"""Brand applications API: a signed-in person applies, an operator approves or refuses."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy.orm import Session

from microdrama.accounts import brand_applications as service
from microdrama.accounts.deps import CurrentAccount, CurrentAdmin
from microdrama.accounts.models import Account, BrandApplication
from microdrama.accounts.schemas import (
    BrandApplicationAdminRead,
    BrandApplicationCreate,
    BrandApplicationRead,
    BrandApplicationRefusal,
)
from microdrama.db import DbSession
from microdrama.types import read_row

router = APIRouter(tags=["brand applications"])

# The id column is a 32-bit integer on PostgreSQL: a larger id is simply not found (422).
ApplicationId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def admin_read(db: Session, application: BrandApplication) -> BrandApplicationAdminRead:
    applicant = db.get(Account, application.account_id)
    return read_row(
        BrandApplicationAdminRead,
        application,
        applicant_name=applicant.display_name if applicant else "",
        applicant_email=applicant.email if applicant else None,
    )


@router.post("/api/brand-applications", response_model=BrandApplicationRead, status_code=201)
def apply(body: BrandApplicationCreate, db: DbSession, account: CurrentAccount) -> BrandApplication:
    """Ask for a brand account (signed-in people; one pending application at a time)."""
    return service.apply(db=db, account=account, data=body)


@router.get("/api/brand-applications/mine", response_model=BrandApplicationRead | None)
def mine(db: DbSession, account: CurrentAccount) -> BrandApplication | None:
    """The caller's latest application (pending, approved, or refused with the reason)."""
    return service.latest(db=db, account=account)


@router.get("/api/admin/brand-applications", response_model=list[BrandApplicationAdminRead])
def for_operator(db: DbSession, admin: CurrentAdmin) -> list[BrandApplicationAdminRead]:
    """Pending applications (oldest first), then the latest decided ones (operators)."""
    return [admin_read(db, a) for a in service.for_operator(db=db)]


@router.post(
    "/api/admin/brand-applications/{application_id}/approve",
    response_model=BrandApplicationAdminRead,
)
def approve(
    application_id: ApplicationId, db: DbSession, admin: CurrentAdmin
) -> BrandApplicationAdminRead:
    """Approve: the applicant's account becomes a brand named after the company."""
    application = service.approve(db=db, operator=admin, application_id=application_id)
    return admin_read(db, application)


@router.post(
    "/api/admin/brand-applications/{application_id}/refuse",
    response_model=BrandApplicationAdminRead,
)
def refuse(
    application_id: ApplicationId, body: BrandApplicationRefusal, db: DbSession, admin: CurrentAdmin
) -> BrandApplicationAdminRead:
    """Refuse with a reason the applicant reads on their application page."""
    application = service.refuse(
        db=db, operator=admin, application_id=application_id, reason=body.reason
    )
    return admin_read(db, application)
