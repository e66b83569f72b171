"""Becoming a brand: a signed-in person applies, an operator approves (the account becomes a
brand named after the company) or refuses with a reason the applicant reads."""

from __future__ import annotations

from sqlalchemy import case, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from microdrama.accounts.errors import (
    AlreadyBrand,
    ApplicationDecided,
    ApplicationPending,
    SignInRequired,
)
from microdrama.accounts.models import Account, BrandApplication, BrandApplicationStatus, Role
from microdrama.accounts.schemas import BrandApplicationCreate
from microdrama.db import utcnow
from microdrama.errors import NotFound

# The operator's list: every pending one, and this many decided ones for reference.
DECIDED_SHOWN = 50

PENDING_MESSAGE = (
    "Your application is waiting for an operator; you can apply again once it is decided."
)


def apply(*, db: Session, account: Account, data: BrandApplicationCreate) -> BrandApplication:
    """File an application; one pending at a time, and brands (and operators) need none."""
    if account.is_guest:
        raise SignInRequired("Sign in to apply for a brand account.")
    if account.role in (Role.brand, Role.admin):
        raise AlreadyBrand("Your account can already use the brand pages.")
    if _pending(db, account) is not None:
        raise ApplicationPending(PENDING_MESSAGE)
    application = BrandApplication(
        **data.model_dump(),
        account_id=account.id,
        status=BrandApplicationStatus.pending,
        created_at=utcnow(),
    )
    try:
        with db.begin_nested():
            db.add(application)
            db.flush()
    except IntegrityError as exc:  # the same person applying twice at once
        raise ApplicationPending(PENDING_MESSAGE) from exc
    return application


def _pending(db: Session, account: Account) -> BrandApplication | None:
    return db.scalar(
        select(BrandApplication).where(
            BrandApplication.account_id == account.id,
            BrandApplication.status == BrandApplicationStatus.pending,
        )
    )


def latest(*, db: Session, account: Account) -> BrandApplication | None:
    """The person's most recent application (what their page shows), if any."""
    return db.scalar(
        select(BrandApplication)
        .where(BrandApplication.account_id == account.id)
        .order_by(BrandApplication.id.desc())
        .limit(1)
    )


def for_operator(*, db: Session) -> list[BrandApplication]:
    """Pending applications first (oldest first: first come, first served), then the latest
    decided ones."""
    pending = list(
        db.scalars(
            select(BrandApplication)
            .where(BrandApplication.status == BrandApplicationStatus.pending)
            .order_by(BrandApplication.id)
        )
    )
    decided = list(
        db.scalars(
            select(BrandApplication)
            .where(BrandApplication.status != BrandApplicationStatus.pending)
            .order_by(
                case((BrandApplication.decided_at.is_(None), 1), else_=0),
                BrandApplication.decided_at.desc(),
                BrandApplication.id.desc(),
            )
            .limit(DECIDED_SHOWN)
        )
    )
    return pending + decided


def _pending_for_decision(db: Session, application_id: int) -> BrandApplication:
    application = db.scalar(
        select(BrandApplication).where(BrandApplication.id == application_id).with_for_update()
    )
    if application is None:
        raise NotFound("No brand application with this id.")
    if application.status != BrandApplicationStatus.pending:
        raise ApplicationDecided(f"This application was already {application.status.value}.")
    return application


def approve(*, db: Session, operator: Account, application_id: int) -> BrandApplication:
    """The applicant's account becomes a brand, named after the company."""
    application = _pending_for_decision(db, application_id)
    applicant = db.get(Account, application.account_id)
    if applicant is None:  # pragma: no cover - the FK cascades deletes
        raise NotFound("The applicant's account no longer exists.")
    if applicant.role != Role.admin:  # an operator keeps every power
        applicant.role = Role.brand
    applicant.display_name = application.company_name
    return _decided(db, application, operator=operator, status=BrandApplicationStatus.approved)


def refuse(*, db: Session, operator: Account, application_id: int, reason: str) -> BrandApplication:
    """Refuse with a reason the applicant reads; they may apply again."""
    application = _pending_for_decision(db, application_id)
    application.refusal_reason = reason
    return _decided(db, application, operator=operator, status=BrandApplicationStatus.refused)


def _decided(
    db: Session,
    application: BrandApplication,
    *,
    operator: Account,
    status: BrandApplicationStatus,
) -> BrandApplication:
    """The application with its decision recorded: which, by whom, when."""
    application.status = status
    application.decided_by_id = operator.id
    application.decided_at = utcnow()
    db.flush()
    return application
