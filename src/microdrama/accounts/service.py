"""Accounts service: guests bound to a device cookie."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from microdrama.accounts.models import Account, Role


def new_device_token() -> str:
    return secrets.token_urlsafe(32)


def hash_device_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def get_by_device(*, db: Session, device_token: str) -> Account | None:
    """The account bound to this device cookie, if any."""
    return db.scalar(
        select(Account).where(Account.device_token_hash == hash_device_token(device_token))
    )


def get_or_create_guest(*, db: Session, device_token: str) -> Account:
    """The device's guest account, created on first use (safe when two requests race)."""
    account = get_by_device(db=db, device_token=device_token)
    if account is not None:
        return account
    try:
        with db.begin_nested():
            account = Account(device_token_hash=hash_device_token(device_token), is_guest=True)
            db.add(account)
        return account
    except IntegrityError:
        existing = get_by_device(db=db, device_token=device_token)
        assert existing is not None
        return existing


def create_account(*, db: Session, display_name: str, role: Role = Role.viewer) -> Account:
    """A named account without a device (demo owners, CLI-made creators)."""
    account = Account(display_name=display_name, role=role, is_guest=False)
    db.add(account)
    db.flush()
    return account


def get(*, db: Session, account_id: int) -> Account | None:
    return db.get(Account, account_id)
