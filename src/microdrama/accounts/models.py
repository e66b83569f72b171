"""Accounts: people, starting as device-bound guests."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, false, text
from sqlalchemy.orm import Mapped, mapped_column

from microdrama.db import Base, CreatedAt, IntPk, utcnow


class Role(enum.StrEnum):
    viewer = "viewer"
    creator = "creator"
    brand = "brand"
    admin = "admin"


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[IntPk]
    # SHA-256 of the device cookie: a stolen database does not yield usable cookies.
    device_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(80), default="Guest")
    role: Mapped[Role] = mapped_column(default=Role.viewer)
    is_guest: Mapped[bool] = mapped_column(default=True)
    # Set when a guest signs up; stored lower-cased.
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    # argon2id hash (argon2-cffi's encoded form, parameters included).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Viewer-set guard against runaway spending: coins per rolling week; None = no limit.
    weekly_spend_limit_coins: Mapped[int | None] = mapped_column()
    # Remind the viewer after this many minutes of watching in a day; None = never.
    watch_reminder_minutes: Mapped[int | None] = mapped_column()
    # Binge mode: unlock the next locked episode without showing the paywall sheet.
    auto_unlock: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[CreatedAt]

    def manages(self, owner_id: int) -> bool:
        """Whether the account may act on what `owner_id` owns: its owner, or an operator."""
        return self.id == owner_id or self.role == Role.admin


class SessionKind(enum.StrEnum):
    cookie = "cookie"
    bearer = "bearer"


class AuthSession(Base):
    """A signed-in session; logout deletes the row, so a stolen token dies with it."""

    __tablename__ = "auth_sessions"

    # SHA-256 of the token; the token itself only ever lives in the client.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[SessionKind]
    created_at: Mapped[CreatedAt]
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What signed in, and from where: shown on the account page so people recognise their
    # sessions (and the ones they don't). Only ever displayed, never trusted.
    user_agent: Mapped[str | None] = mapped_column(String(512))
    ip: Mapped[str | None] = mapped_column(String(64))


class LoginAttempt(Base):
    """Failed (and successful) sign-ins, for rate limits per account, per address and per pair."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_time", "email", "created_at"),
        Index("ix_login_attempts_ip_time", "ip", "created_at"),
    )

    id: Mapped[IntPk]
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[CreatedAt]


class TrustedDevice(Base):
    """A device that has signed in to an account before: it is exempt from the per-account
    lock, so an attacker hammering the account cannot lock its owner out."""

    __tablename__ = "trusted_devices"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    device_token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[CreatedAt]


class BrandApplicationStatus(enum.StrEnum):
    pending = "pending"
    approved = "approved"
    refused = "refused"


class BrandApplication(Base):
    """A person asking for their account to become a brand; an operator approves or refuses."""

    __tablename__ = "brand_applications"
    __table_args__ = (
        # One pending application per account, also when two requests race.
        Index(
            "uq_brand_applications_one_pending",
            "account_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[IntPk]
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    company_name: Mapped[str] = mapped_column(String(80))
    website: Mapped[str] = mapped_column(String(300))
    contact_email: Mapped[str] = mapped_column(String(254))
    note: Mapped[str] = mapped_column(String(1000), default="")
    status: Mapped[BrandApplicationStatus] = mapped_column(default=BrandApplicationStatus.pending)
    # Shown to the applicant when refused.
    refusal_reason: Mapped[str | None] = mapped_column(String(500))
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[CreatedAt]
    decided_at: Mapped[datetime | None]
