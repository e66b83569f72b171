"""Admin API for platform settings (coin packs and VIP plans live in payments' routes)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.orm import Session

from microdrama.accounts import service as accounts
from microdrama.accounts.deps import CurrentAdmin
from microdrama.admin import service
from microdrama.admin.pages import router as pages_router
from microdrama.admin.schemas import SettingChangeRead, SettingsRead, SettingsUpdate, SettingsValues
from microdrama.config import AppSettings, Settings
from microdrama.db import DbSession
from microdrama.routing import add_routes

router = APIRouter(tags=["admin"])
add_routes(router, pages_router)


def settings_read(db: Session, settings: Settings) -> SettingsRead:
    changes = []
    for change in service.history(db=db):
        who = accounts.get(db=db, account_id=change.changed_by_id)
        read = SettingChangeRead.model_validate(change)
        read.changed_by = (who.email or who.display_name) if who is not None else ""
        changes.append(read)
    return SettingsRead(
        values=SettingsValues(**service.current(db=db, settings=settings)),
        defaults=SettingsValues(**{k: s.default(settings) for k, s in service.SPECS.items()}),
        changes=changes,
    )


@router.get("/api/admin/settings", response_model=SettingsRead)
def read_settings(db: DbSession, admin: CurrentAdmin, settings: AppSettings) -> SettingsRead:
    """The platform settings, their configured defaults and the latest changes (admin)."""
    return settings_read(db, settings)


@router.put("/api/admin/settings", response_model=SettingsRead)
def put_settings(
    body: SettingsUpdate, db: DbSession, admin: CurrentAdmin, settings: AppSettings
) -> SettingsRead:
    """Change platform settings (admin); every change is recorded with who, when, old and new."""
    service.update(db=db, settings=settings, admin_id=admin.id, changes=body.changes())
    return settings_read(db, settings)
