"""Where a person is signed in: their sessions, signing others out, changing the password."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, delete, select, update
from sqlalchemy.orm import Session

from microdrama.accounts import service
from microdrama.accounts.models import Account, AuthSession, SessionKind
from microdrama.accounts.passwords import hash_password, verify_password
from microdrama.accounts.user_agents import (
    USER_AGENT_MAX_CHARS,
    ClientDescription,
    describe_user_agent,
)
from microdrama.config import Settings
from microdrama.db import utcnow
from microdrama.errors import Conflict, DomainError, NotFound
from microdrama.rate_limits import RateLimiter

# "Last seen" is rewritten at most this often per session: a signed-in person's every request
# writing a row would turn reads into writes (and take SQLite's single write lock).
LAST_SEEN_RESOLUTION = timedelta(minutes=5)


class WrongCurrentPassword(DomainError):
    """The password typed to confirm a change is not the account's (403: the session itself
    is fine, so not the 401 that would tell a client to sign in again)."""

    status_code = 403
    code = "wrong_current_password"


def hash_session_token(token: str) -> str:
    """How a session's token is stored (the accounts service's own hash)."""
    return service._hash_session_token(token)


def public_id(session: AuthSession) -> str:
    """The id a session is shown and ended by: derived from the stored hash, so the stored
    hash itself never reaches a page, and no column is needed."""
    return hashlib.sha256(b"session-id:" + session.token_hash.encode()).hexdigest()[:20]


def record_client(*, session: AuthSession, user_agent: str | None, ip: str | None) -> None:
    """Remember what signed in (shown in the sessions list), cut to the columns' sizes."""
    session.user_agent = (user_agent or "")[:USER_AGENT_MAX_CHARS] or None
    session.ip = (ip or "")[:64] or None


def note_seen(session: AuthSession, *, now: datetime | None = None) -> None:
    """Move the session's "last seen" forward when it is older than LAST_SEEN_RESOLUTION."""
    now = now or utcnow()
    if _seen_long_ago(session.last_seen_at, now):
        session.last_seen_at = now


def _seen_long_ago(last_seen_at: datetime, now: datetime) -> bool:
    return last_seen_at < now - LAST_SEEN_RESOLUTION


_sessions = cast(Table, AuthSession.__table__)
# Core statements on the table (not the ORM entity): the busiest routes ask who is calling,
# and the ORM's execution path around a one-row read cost more than the read.
_LIVE_SESSION = select(
    _sessions.c.account_id, _sessions.c.kind, _sessions.c.expires_at, _sessions.c.last_seen_at
).where(_sessions.c.token_hash == bindparam("hash"))
# Its parameters are not named after columns: an UPDATE keeps those names for its SET clause
# (`token_hash` here failed to compile, a 500 for every session last seen 5 minutes ago).
_SEEN = (
    update(_sessions)
    .where(_sessions.c.token_hash == bindparam("hash"))
    .values(last_seen_at=bindparam("now"))
)


def live_session_account_id(*, db: Session, token: str, kind: SessionKind) -> int | None:
    """The account id of a live session of this kind (`service.live_session` without loading
    the account or the session: for routes that need only who is asking), its "last seen"
    moved forward as `note_seen` does; None when the token is unknown, ended or expired."""
    if not service.token_may_be_valid(token):
        return None
    token_hash = hash_session_token(token)
    conn = db.connection()
    row = conn.execute(_LIVE_SESSION, {"hash": token_hash}).first()
    now = utcnow()
    if row is None or not service.session_alive(row.kind, row.expires_at, kind=kind, now=now):
        return None
    if _seen_long_ago(row.last_seen_at, now):
        conn.execute(_SEEN, {"hash": token_hash, "now": now})
    account_id: int = row.account_id
    return account_id


@dataclass(frozen=True)
class SignedInSession:
    id: str
    kind: SessionKind
    client: ClientDescription
    ip: str | None
    created_at: datetime
    last_seen_at: datetime
    current: bool


def list_sessions(
    *, db: Session, account: Account, current_token: str | None, now: datetime | None = None
) -> list[SignedInSession]:
    """The account's live sessions, this one first, then the most recently seen."""
    now = now or utcnow()
    current_hash = hash_session_token(current_token) if current_token else None
    rows = db.scalars(
        select(AuthSession).where(
            AuthSession.account_id == account.id, AuthSession.expires_at > now
        )
    ).all()
    listed = [
        SignedInSession(
            id=public_id(row),
            kind=row.kind,
            client=describe_user_agent(row.user_agent),
            ip=row.ip,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            current=row.token_hash == current_hash,
        )
        for row in rows
    ]
    listed.sort(key=lambda s: (not s.current, -s.last_seen_at.timestamp(), s.id))
    return listed


def end_session_by_id(*, db: Session, account: Account, session_id: str) -> None:
    """Sign one of the account's sessions out; `NotFound` for any other id (also another
    person's: whether it exists is not said)."""
    for row in db.scalars(select(AuthSession).where(AuthSession.account_id == account.id)):
        if public_id(row) == session_id:
            db.delete(row)
            db.flush()
            return
    raise NotFound("This session has already ended.", session_id=session_id)


def end_other_sessions(*, db: Session, account: Account, current_token: str | None) -> int:
    """Sign every session of the account out but this one (cookies and bearer tokens alike);
    how many ended."""
    query = delete(AuthSession).where(AuthSession.account_id == account.id)
    if current_token:
        query = query.where(AuthSession.token_hash != hash_session_token(current_token))
    return cast(CursorResult[Any], db.execute(query)).rowcount


def check_current_password(
    *,
    limiter: RateLimiter,
    settings: Settings,
    account: Account,
    password: str,
    ip: str,
) -> None:
    """`WrongCurrentPassword` unless this is the account's password. Counted and limited like a
    sign-in (the caller logs a failure), so a borrowed session cannot guess it quickly."""
    if account.email is None or account.password_hash is None:
        # Accounts made by the seed or the CLI sign in with tokens only.
        raise Conflict("This account has no password to change.", field="current_password")
    attempt = service.take_sign_in_attempt(
        limiter=limiter, settings=settings, email=account.email, ip=ip, trusted=True
    )
    if not verify_password(account.password_hash, password):
        raise WrongCurrentPassword("That is not your current password.", field="current_password")
    limiter.give_back(attempt)


def change_password(
    *, db: Session, account: Account, new_password: str, current_token: str | None
) -> int:
    """Set the new password (checked already) and sign every other session out; how many."""
    account.password_hash = hash_password(new_password)
    db.flush()
    return end_other_sessions(db=db, account=account, current_token=current_token)
