"""What the sessions and password API sends and answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from microdrama.accounts.models import SessionKind
from microdrama.accounts.schemas import PASSWORD_MAX_CHARS, check_password
from microdrama.accounts.user_agents import DeviceKind
from microdrama.types import Line


class SessionRead(BaseModel):
    """A place the account is signed in."""

    id: str = Field(description="Ends this session: DELETE /api/me/sessions/{id}.")
    kind: SessionKind = Field(description="cookie: a browser; bearer: an app or API client.")
    device: str = Field(description='What signed in, in words: "Chrome on iPhone".')
    device_kind: DeviceKind
    browser: str | None
    ip: str | None = Field(description="The address it signed in from.")
    created_at: datetime
    last_seen_at: datetime = Field(description="Updated every few minutes while in use.")
    current: bool = Field(description="The session this request is made with.")


class SessionsEnded(BaseModel):
    ended: int = Field(description="How many sessions were signed out.")


class PasswordChange(BaseModel):
    """The current password proves it is the owner; the new one follows sign-up's rules."""

    model_config = ConfigDict(extra="forbid")

    # Any text, as at sign-in: a password set before controls were refused must still work.
    current_password: str = Field(min_length=1, max_length=PASSWORD_MAX_CHARS)
    new_password: Line = Field(max_length=10_000)

    _new_password = field_validator("new_password")(check_password)


class PasswordChanged(BaseModel):
    signed_out_sessions: int = Field(description="Other sessions signed out by the change.")
