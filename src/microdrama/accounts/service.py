"""Accounts service: device-bound guests, sign-up in place, sign-in with rate limits, sessions."""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Table, bindparam, delete, select
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
from microdrama.rate_limits import Limit, OverLimit, RateLimiter, Taken

# Longer than any token this app makes (43 characters): a longer one is not looked up.
MAX_TOKEN_CHARS = 128


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


_accounts = cast(Table, Account.__table__)
_DISPLAY_NAME = select(_accounts.c.display_name).where(_accounts.c.id == bindparam("account_id"))


def display_name(*, db: Session, account_id: int) -> str | None:
    """The account's display name (None: no such account), one column read without loading
    the account (a checkout names its brand)."""
    name: str | None = db.connection().scalar(_DISPLAY_NAME, {"account_id": account_id})
    return name


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
    limiter: RateLimiter,
    settings: Settings,
    email: str,
    password: str,
    ip: str,
    device_token: str | None,
) -> Account:
    """The account these credentials open. The attempt is counted against the sign-in limits
    before any password is checked (`TooManyAttempts` when one is reached) and stops counting
    when it succeeds; `InvalidCredentials` (to be recorded by the caller) otherwise."""
    now = utcnow()
    account = get_by_email(db=db, email=email)
    trusted = account is not None and is_trusted_device(
        db=db, account=account, device_token=device_token
    )
    attempt = take_sign_in_attempt(
        limiter=limiter, settings=settings, email=email, ip=ip, trusted=trusted, now=now
    )
    # Verify even for an unknown email (against a decoy): the same time either way.
    matches = verify_password(account.password_hash if account else None, password)
    if account is None or not matches or account.password_hash is None:
        raise InvalidCredentials("Wrong email or password.")
    # A success is no failure, and starts the pair's count afresh (the owner mistyping now and
    # then); given back before this request writes, so SQLite's writer is free for it.
    limiter.give_back(attempt)
    limiter.clear(_pair_key(email, ip))
    if needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    db.add(LoginAttempt(email=email, ip=ip, succeeded=True, created_at=now))
    if device_token:
        trust_device(db=db, account=account, device_token=device_token)
    return account


def record_login_failure(*, db: Session, email: str, ip: str) -> None:
    """Log one failed sign-in (kept login_attempts_keep_days for looking into abuse; the
    limits count it in `take_sign_in_attempt`)."""
    db.add(LoginAttempt(email=email, ip=ip, succeeded=False, created_at=utcnow()))


def take_sign_in_attempt(
    *,
    limiter: RateLimiter,
    settings: Settings,
    email: str,
    ip: str,
    trusted: bool,
    now: datetime | None = None,
) -> Taken:
    """Count one attempt against the address, the (email, address) pair and the account, in
    every process at once; `TooManyAttempts` instead when one of them has failed too often in
    the window. A trusted device is not held to the account limit (its failures still count),
    so an attacker who exhausts it from elsewhere cannot lock the owner out (OWASP "device
    cookies"). The caller gives a successful attempt back."""
    window_seconds = settings.login_window_minutes * 60
    limits = [
        Limit(f"signin:ip:{_short(ip)}", settings.login_max_failures_per_ip, window_seconds),
        Limit(_pair_key(email, ip), settings.login_max_failures_per_pair, window_seconds),
        Limit(
            f"signin:account:{_digest(email)}",
            settings.login_max_failures_per_account,
            window_seconds,
            enforced=not trusted,
        ),
    ]
    try:
        return limiter.take(limits, now=now)
    except OverLimit as exc:
        seconds = exc.retry_after_seconds
        minutes = math.ceil(seconds / 60)
        plural = "s" if minutes != 1 else ""
        raise TooManyAttempts(
            f"Too many failed sign-ins. Try again in {minutes} minute{plural}.",
            retry_after_seconds=seconds,
        ) from exc


def _digest(value: str) -> str:
    """A fixed-length stand-in for an email in a limit's key (no address in Redis' keys)."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _short(ip: str) -> str:
    return ip if len(ip) <= 45 else _digest(ip)


def _pair_key(email: str, ip: str) -> str:
    return f"signin:pair:{_digest(email)}:{_short(ip)}"


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


def live_session(
    *, db: Session, token: str, kind: SessionKind
) -> tuple[Account, AuthSession] | None:
    """The account and the session of a live session of this kind, read in one query; None
    when the token is unknown, ended or expired. The caller keeps the session object: the
    identity map holds it only weakly, so asking for it again would be another query."""
    if not token_may_be_valid(token):
        return None
    row = db.execute(
        select(Account, AuthSession)
        .join(AuthSession, AuthSession.account_id == Account.id)
        .where(AuthSession.token_hash == _hash_session_token(token))
    ).first()
    if row is None:
        return None
    account, session = row
    if not session_alive(session.kind, session.expires_at, kind=kind):
        return None
    return account, session


def token_may_be_valid(token: str) -> bool:
    """Whether a session's or device's token is worth looking up (none is empty or longer)."""
    return bool(token) and len(token) <= MAX_TOKEN_CHARS


def session_alive(
    found_kind: SessionKind, expires_at: datetime, *, kind: SessionKind, now: datetime | None = None
) -> bool:
    """Whether a stored session (its kind and expiry) is a live session of the kind asked for."""
    return found_kind == kind and expires_at > (now or utcnow())


def account_for_session(*, db: Session, token: str, kind: SessionKind) -> Account | None:
    """The account of a live session of this kind, or None (unknown, ended or expired)."""
    found = live_session(db=db, token=token, kind=kind)
    return found[0] if found else None


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
