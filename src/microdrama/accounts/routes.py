"""Accounts API (see docs/paywall.md for the contract)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["accounts"])
