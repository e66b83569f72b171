"""Accounts schemas: what people send to sign up, sign in and change settings, and get back."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from microdrama.accounts.models import Role

PASSWORD_MIN_CHARS = 8
# argon2 takes any length, but a megabyte "password" is a denial-of-service attempt.
PASSWORD_MAX_CHARS = 128
EMAIL_MAX_CHARS = 254
# Deliberately loose: one @, no spaces, a dot in the domain. The mailbox proves the rest.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")

SPEND_LIMIT_MAX_COINS = 1_000_000
REMINDER_MIN_MINUTES = 5
REMINDER_MAX_MINUTES = 600


def normalize_email(value: str) -> str:
    """The email as stored: trimmed and lower-cased; a clear error when it is not one."""
    email = value.strip().lower()
    if len(email) > EMAIL_MAX_CHARS or not _EMAIL.match(email):
        raise PydanticCustomError("invalid_email", "is not a valid email address")
    return email


def check_password(value: str) -> str:
    """The password unchanged, or a clear error when it is too short or absurdly long."""
    if len(value) < PASSWORD_MIN_CHARS:
        raise PydanticCustomError(
            "password_too_short", f"must be at least {PASSWORD_MIN_CHARS} characters"
        )
    if len(value) > PASSWORD_MAX_CHARS:
        raise PydanticCustomError(
            "password_too_long", f"must be at most {PASSWORD_MAX_CHARS} characters"
        )
    return value


class SignupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=1000)
    password: str = Field(max_length=10_000)
    display_name: str | None = Field(default=None, max_length=80)

    _email = field_validator("email")(normalize_email)
    _password = field_validator("password")(check_password)

    @field_validator("display_name")
    @classmethod
    def _trim_name(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Not validated beyond size: a wrong email is just a failed sign-in.
    email: str = Field(min_length=1, max_length=EMAIL_MAX_CHARS)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX_CHARS)

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.strip().lower()


class MeRead(BaseModel):
    id: int
    display_name: str
    email: str | None
    role: Role
    is_guest: bool
    weekly_spend_limit_coins: int | None
    watch_reminder_minutes: int | None
    auto_unlock: bool


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime


class SettingsUpdate(BaseModel):
    """Only the fields sent change; null clears a limit or a reminder."""

    model_config = ConfigDict(extra="forbid")

    weekly_spend_limit_coins: int | None = Field(default=None, ge=0, le=SPEND_LIMIT_MAX_COINS)
    watch_reminder_minutes: int | None = Field(
        default=None, ge=REMINDER_MIN_MINUTES, le=REMINDER_MAX_MINUTES
    )
    auto_unlock: bool | None = None

    @field_validator("auto_unlock", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError("auto_unlock_null", "must be true or false")
        return value

    def changes(self) -> dict[str, Any]:
        """The fields the client actually sent, with their new values."""
        return {name: getattr(self, name) for name in self.model_fields_set}
