"""Accounts service: device-bound guests, sign-up in place, sign-in with rate limits, sessions."""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from microdrama.accounts.errors import (
    AlreadySignedIn,
    EmailTaken,
    InvalidCredentials,
    TooManyAttempts,
)
from microdrama.accounts.models import (
    Account,
    AuthSession,
    LoginAttempt,
    Role,
    SessionKind,
    TrustedDevice,
)
from microdrama.accounts.passwords import hash_password, needs_rehash, verify_password
from microdrama.accounts.schemas import SignupRequest
from microdrama.config import Settings
from microdrama.db import utcnow


def new_device_token() -> str:
    return secrets.token_urlsafe(32)


def hash_device_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _hash_session_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _bound_to(device_token: str) -> ColumnElement[bool]:
    return Account.device_token_hash == hash_device_token(device_token)


def get_by_device(*, db: Session, device_token: str) -> Account | None:
    """The account bound to this device cookie, if any."""
    return db.scalar(select(Account).where(_bound_to(device_token)))


def account_id_by_device(*, db: Session, device_token: str) -> int | None:
    """The id of the account bound to this device cookie, if any (get_by_device's id)."""
    return db.scalar(select(Account.id).where(_bound_to(device_token)))


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
    """The account with this id, if any."""
    return db.get(Account, account_id)


def get_by_email(*, db: Session, email: str) -> Account | None:
    """The signed-up account with this (already lower-cased) email, if any."""
    return db.scalar(select(Account).where(Account.email == email))


def get_named(*, db: Session, display_name: str) -> Account | None:
    """The oldest named (non-guest) account with this display name (the demo's owners)."""
    return db.scalar(
        select(Account)
        .where(Account.display_name == display_name, Account.is_guest.is_(False))
        .order_by(Account.id)
        .limit(1)
    )


def list_brands(*, db: Session) -> list[Account]:
    """Every brand account, by name (the operator's brand picker)."""
    return list(
        db.scalars(
            select(Account)
            .where(Account.role == Role.brand)
            .order_by(Account.display_name, Account.id)
        )
    )


def set_login(*, db: Session, account: Account, email: str, password: str) -> Account:
    """Give a named account an email and password it signs in with (demo owners, made by the
    seed without a login); `EmailTaken` when another account has the email."""
    owner = get_by_email(db=db, email=email)
    if owner is not None and owner.id != account.id:
        raise EmailTaken("An account with this email already exists.")
    account.email = email
    account.password_hash = hash_password(password)
    account.is_guest = False
    db.flush()
    return account


# Sign-up ---------------------------------------------------------------------------------


def sign_up(
    *, db: Session, guest: Account, data: SignupRequest, device_token: str | None = None
) -> Account:
    """Turn the device's guest account into a full account in place (history, coins and
    unlocks stay); the device is then trusted, and no longer signs anyone in by itself."""
    if not guest.is_guest:
        raise AlreadySignedIn("You are already signed in; sign out to create another account.")
    if get_by_email(db=db, email=data.email) is not None:
        raise EmailTaken("An account with this email already exists; sign in instead.")
    password_hash = hash_password(data.password)
    try:
        with db.begin_nested():
            guest.email = data.email
            guest.password_hash = password_hash
            guest.is_guest = False
            guest.display_name = data.display_name or data.email.split("@", 1)[0][:80]
            # From now on only a session signs in to this account, so logging out is real.
            guest.device_token_hash = None
            db.flush()
    except IntegrityError as exc:
        raise EmailTaken("An account with this email already exists; sign in instead.") from exc
    if device_token:
        trust_device(db=db, account=guest, device_token=device_token)
    return guest


def make_admin(*, db: Session, email: str, password: str | None = None) -> Account:
    """Make the account with this email an operator, creating it when a password is given."""
    account = get_by_email(db=db, email=email)
    if account is None:
        if password is None:
            raise InvalidCredentials(
                f"No account with email {email}; give a password to create it."
            )
        account = Account(
            email=email,
            password_hash=hash_password(password),
            display_name=email.split("@", 1)[0][:80],
            is_guest=False,
        )
        db.add(account)
    account.role = Role.admin
    db.flush()
    return account


# Sign-in and its rate limits -------------------------------------------------------------


def log_in(
    *,
    db: Session,
    settings: Settings,
    email: str,
    password: str,
    ip: str,
    device_token: str | None,
) -> Account:
    """The account these credentials open; `TooManyAttempts` before any password is checked
    when a limit is reached, `InvalidCredentials` (to be recorded by the caller) otherwise."""
    now = utcnow()
    account = get_by_email(db=db, email=email)
    trusted = account is not None and is_trusted_device(
        db=db, account=account, device_token=device_token
    )
    check_login_allowed(db=db, settings=settings, email=email, ip=ip, trusted=trusted, now=now)
    # Verify even for an unknown email (against a decoy): the same time either way.
    matches = verify_password(account.password_hash if account else None, password)
    if account is None or not matches or account.password_hash is None:
        raise InvalidCredentials("Wrong email or password.")
    if needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    db.add(LoginAttempt(email=email, ip=ip, succeeded=True, created_at=now))
    if device_token:
        trust_device(db=db, account=account, device_token=device_token)
    return account


def record_login_failure(*, db: Session, email: str, ip: str) -> None:
    """Count one failed sign-in against the pair, the address and the account."""
    db.add(LoginAttempt(email=email, ip=ip, succeeded=False, created_at=utcnow()))


def check_login_allowed(
    *, db: Session, settings: Settings, email: str, ip: str, trusted: bool, now: datetime
) -> None:
    """Refuse when the address, the (email, address) pair or the account has failed too often
    in the window. A trusted device skips the account limit, so an attacker who exhausts it
    from elsewhere cannot lock the owner out (OWASP "device cookies")."""
    window = timedelta(minutes=settings.login_window_minutes)
    since = now - window
    failed = LoginAttempt.succeeded.is_(False)
    _refuse_over_limit(
        db, [LoginAttempt.ip == ip, failed], since, settings.login_max_failures_per_ip, window, now
    )
    # A success on this pair starts its count afresh (the owner mistyping now and then).
    last_success = db.scalar(
        select(func.max(LoginAttempt.created_at)).where(
            LoginAttempt.email == email,
            LoginAttempt.ip == ip,
            LoginAttempt.succeeded.is_(True),
            LoginAttempt.created_at > since,
        )
    )
    _refuse_over_limit(
        db,
        [LoginAttempt.email == email, LoginAttempt.ip == ip, failed],
        max(since, last_success) if last_success else since,
        settings.login_max_failures_per_pair,
        window,
        now,
    )
    if not trusted:
        _refuse_over_limit(
            db,
            [LoginAttempt.email == email, failed],
            since,
            settings.login_max_failures_per_account,
            window,
            now,
        )


def _refuse_over_limit(
    db: Session,
    conditions: list[Any],
    since: datetime,
    limit: int,
    window: timedelta,
    now: datetime,
) -> None:
    recent = db.scalars(
        select(LoginAttempt.created_at)
        .where(*conditions, LoginAttempt.created_at > since)
        .order_by(LoginAttempt.created_at.desc())
        .limit(limit)
    ).all()
    if len(recent) < limit:
        return
    # Sign-in opens again when the oldest of the last `limit` failures leaves the window.
    reopens_at = recent[-1] + window
    seconds = max(1, math.ceil((reopens_at - now).total_seconds()))
    minutes = math.ceil(seconds / 60)
    raise TooManyAttempts(
        f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
        retry_after_seconds=seconds,
    )


def is_trusted_device(*, db: Session, account: Account, device_token: str | None) -> bool:
    """True when this device has signed in to (or signed up) this account before."""
    if not device_token:
        return False
    return db.get(TrustedDevice, (account.id, hash_device_token(device_token))) is not None


def trust_device(*, db: Session, account: Account, device_token: str) -> None:
    """Remember that this device proved it knows the account's password."""
    if is_trusted_device(db=db, account=account, device_token=device_token):
        return
    try:
        with db.begin_nested():
            db.add(
                TrustedDevice(
                    account_id=account.id, device_token_hash=hash_device_token(device_token)
                )
            )
    except IntegrityError:
        pass  # the same device signing in twice at once


# Sessions --------------------------------------------------------------------------------


def start_session(
    *, db: Session, settings: Settings, account: Account, kind: SessionKind
) -> tuple[str, AuthSession]:
    """A new session; the token goes to the client, only its hash is stored."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session = AuthSession(
        token_hash=_hash_session_token(token),
        account_id=account.id,
        kind=kind,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(days=settings.session_days),
    )
    db.add(session)
    db.flush()
    return token, session


def account_for_session(*, db: Session, token: str, kind: SessionKind) -> Account | None:
    """The account of a live session of this kind, or None (unknown, ended or expired)."""
    if not token or len(token) > 128:
        return None
    session = db.get(AuthSession, _hash_session_token(token))
    if session is None or session.kind != kind or session.expires_at <= utcnow():
        return None
    return db.get(Account, session.account_id)


def end_session(*, db: Session, token: str) -> None:
    """Delete the session, so its token stops working everywhere at once."""
    db.execute(delete(AuthSession).where(AuthSession.token_hash == _hash_session_token(token)))


@dataclass(frozen=True)
class Pruned:
    sessions: int
    login_attempts: int


def prune(*, db: Session, settings: Settings, now: datetime | None = None) -> Pruned:
    """Forget sessions past their expiry and sign-in attempts past their retention (the rate
    limits only look at the last `login_window_minutes`)."""
    now = now or utcnow()
    sessions = db.execute(delete(AuthSession).where(AuthSession.expires_at <= now))
    attempts = db.execute(
        delete(LoginAttempt).where(
            LoginAttempt.created_at < now - timedelta(days=settings.login_attempts_keep_days)
        )
    )
    return Pruned(
        sessions=cast(CursorResult[Any], sessions).rowcount,
        login_attempts=cast(CursorResult[Any], attempts).rowcount,
    )


def update_settings(*, db: Session, account: Account, changes: dict[str, Any]) -> Account:
    """Apply the viewer's spend limit, reminder and auto-unlock choices (validated already)."""
    for name in ("weekly_spend_limit_coins", "watch_reminder_minutes", "auto_unlock"):
        if name in changes:
            setattr(account, name, changes[name])
    db.flush()
    return account
