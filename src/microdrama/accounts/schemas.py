"""Accounts schemas: what people send to sign up, sign in and change settings, and get back."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from microdrama.accounts.models import BrandApplicationStatus, Role
from microdrama.types import Line, Text

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

    email: Line = Field(max_length=1000)
    password: Line = Field(max_length=10_000)
    display_name: Line | None = Field(default=None, max_length=80)

    _email = field_validator("email")(normalize_email)
    _password = field_validator("password")(check_password)

    @field_validator("display_name")
    @classmethod
    def _trim_name(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Not validated beyond size: a wrong email is just a failed sign-in.
    email: Line = Field(min_length=1, max_length=EMAIL_MAX_CHARS)
    # Any text: a password is only hashed, and one set before controls were refused must work.
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


# Becoming a brand --------------------------------------------------------------------------

COMPANY_NAME_MAX_CHARS = 80
WEBSITE_MAX_CHARS = 300
APPLICATION_NOTE_MAX_CHARS = 1000
REFUSAL_REASON_MIN_CHARS = 3
REFUSAL_REASON_MAX_CHARS = 500
# A host with at least one dot, no spaces; http(s) only (the operator clicks it).
_WEBSITE = re.compile(r"^https?://[^\s/@]+\.[^\s/@]+(/\S*)?$", re.IGNORECASE)


def _plain_text(value: str) -> str:
    """Trimmed text (control characters were refused by the field's type: Line or Text)."""
    return value.strip()


class BrandApplicationCreate(BaseModel):
    """What a person sends to ask for a brand account."""

    model_config = ConfigDict(extra="forbid")

    company_name: Line = Field(max_length=1000, description="Shown as the brand's name.")
    website: Line = Field(max_length=1000, description="The company's site, http(s).")
    contact_email: Line = Field(max_length=1000, description="Where the operator writes back.")
    note: Text = Field(default="", max_length=10_000, description="A few words about the brand.")

    @field_validator("company_name")
    @classmethod
    def _company(cls, value: str) -> str:
        value = _plain_text(value)
        if len(value) < 2:
            raise PydanticCustomError(
                "company_name_missing", "Enter the company's name (2 characters or more)"
            )
        if len(value) > COMPANY_NAME_MAX_CHARS:
            raise PydanticCustomError(
                "company_name_too_long",
                f"The company name can be at most {COMPANY_NAME_MAX_CHARS} characters",
            )
        return value

    @field_validator("website")
    @classmethod
    def _website(cls, value: str) -> str:
        value = _plain_text(value)
        if value and "://" not in value:
            value = f"https://{value}"  # people type "luma.example"
        if len(value) > WEBSITE_MAX_CHARS or not _WEBSITE.match(value):
            raise PydanticCustomError(
                "invalid_website", "Enter the company's website, like https://example.com"
            )
        return value

    @field_validator("contact_email")
    @classmethod
    def _contact(cls, value: str) -> str:
        try:
            return normalize_email(value)
        except PydanticCustomError:
            raise PydanticCustomError(
                "invalid_email", "Enter an email address, like team@example.com"
            ) from None

    @field_validator("note")
    @classmethod
    def _note(cls, value: str) -> str:
        value = _plain_text(value.replace("\r\n", "\n"))
        if len(value) > APPLICATION_NOTE_MAX_CHARS:
            raise PydanticCustomError(
                "note_too_long", f"The note can be at most {APPLICATION_NOTE_MAX_CHARS} characters"
            )
        return value


class BrandApplicationRefusal(BaseModel):
    """Why an operator refuses an application; the applicant reads it."""

    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(max_length=10_000)

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        value = _plain_text(value)
        if not REFUSAL_REASON_MIN_CHARS <= len(value) <= REFUSAL_REASON_MAX_CHARS:
            raise PydanticCustomError(
                "reason_length",
                f"Say why in {REFUSAL_REASON_MIN_CHARS} to {REFUSAL_REASON_MAX_CHARS} characters; "
                "the applicant reads it",
            )
        return value


class BrandApplicationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    company_name: str
    website: str
    contact_email: str
    note: str
    status: BrandApplicationStatus
    refusal_reason: str | None
    created_at: datetime
    decided_at: datetime | None


class BrandApplicationAdminRead(BrandApplicationRead):
    """An application as the operator sees it: who applied."""

    applicant_name: str
    applicant_email: str | None
