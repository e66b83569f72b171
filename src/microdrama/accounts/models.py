"""Accounts: people, starting as device-bound guests."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, String
from sqlalchemy.orm import Mapped, mapped_column

from microdrama.db import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    viewer = "viewer"
    creator = "creator"
    brand = "brand"
    admin = "admin"


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the device cookie: a stolen database does not yield usable cookies.
    device_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(80), default="Guest")
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=16), default=Role.viewer
    )
    is_guest: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
