"""Admin API shapes: platform settings and their audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class SettingsValues(BaseModel):
    creator_revenue_share_percent: int
    payout_minimum_cents: int


class SettingsUpdate(BaseModel):
    """Only the settings given change; each change is audited."""

    model_config = ConfigDict(extra="forbid")

    creator_revenue_share_percent: int | None = Field(default=None, ge=0, le=100)
    payout_minimum_cents: int | None = Field(default=None, ge=0, le=10_000_000)

    @model_validator(mode="after")
    def _something_to_change(self) -> SettingsUpdate:
        if not self.changes():
            raise ValueError("give at least one setting to change")
        return self

    def changes(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class SettingChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str
    old_value: int | None
    new_value: int
    changed_by_id: int
    changed_by: str = ""
    changed_at: datetime


class SettingsRead(BaseModel):
    values: SettingsValues
    defaults: SettingsValues
    changes: list[SettingChangeRead]
