"""Platform settings the operator changes at run time, and the audit trail of every change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from microdrama.db import Base, IntPk, utcnow


class PlatformSetting(Base):
    """One setting's current value; a missing row means "the configured default"."""

    __tablename__ = "platform_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SettingChange(Base):
    """Who changed which setting when, from what to what (never updated or deleted)."""

    __tablename__ = "platform_setting_changes"
    __table_args__ = (Index("ix_platform_setting_changes_key_time", "key", "changed_at"),)

    id: Mapped[IntPk]
    key: Mapped[str] = mapped_column(String(60))
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSON)
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
