"""Sessions and password API: where the account is signed in, signing out, a new password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from microdrama.accounts import sessions
from microdrama.accounts.deps import CurrentAccount, session_token
from microdrama.accounts.session_schemas import (
    PasswordChange,
    PasswordChanged,
    SessionRead,
    SessionsEnded,
)
from microdrama.accounts.signin import check_current_password_counting_failures
from microdrama.db import DbSession

router = APIRouter(tags=["accounts"])

SessionId = Annotated[str, Path(min_length=1, max_length=64)]


def session_read(session: sessions.SignedInSession) -> SessionRead:
    return SessionRead(
        id=session.id,
        kind=session.kind,
        device=session.client.label,
        device_kind=session.client.kind,
        browser=session.client.browser,
        ip=session.ip,
        created_at=session.created_at,
        last_seen_at=session.last_seen_at,
        current=session.current,
    )


@router.get("/api/me/sessions", response_model=list[SessionRead])
def my_sessions(request: Request, db: DbSession, account: CurrentAccount) -> list[SessionRead]:
    """Every place this account is signed in (browsers and API tokens), this one first."""
    listed = sessions.list_sessions(db=db, account=account, current_token=session_token(request))
    return [session_read(s) for s in listed]


@router.delete("/api/me/sessions/{session_id}", status_code=204)
def end_my_session(session_id: SessionId, db: DbSession, account: CurrentAccount) -> Response:
    """Sign one session out: its cookie or token stops working at once."""
    sessions.end_session_by_id(db=db, account=account, session_id=session_id)
    return Response(status_code=204)


@router.post("/api/me/sessions/end-others", response_model=SessionsEnded)
def end_my_other_sessions(
    request: Request, db: DbSession, account: CurrentAccount
) -> SessionsEnded:
    """Sign out everywhere else; this session stays signed in."""
    ended = sessions.end_other_sessions(
        db=db, account=account, current_token=session_token(request)
    )
    return SessionsEnded(ended=ended)


@router.post("/api/me/password", response_model=PasswordChanged)
def change_my_password(
    body: PasswordChange, request: Request, db: DbSession, account: CurrentAccount
) -> PasswordChanged:
    """A new password, confirmed with the current one; every other session is signed out
    (browsers and API tokens), this one stays."""
    check_current_password_counting_failures(request, db, account, body.current_password)
    ended = sessions.change_password(
        db=db, account=account, new_password=body.new_password, current_token=session_token(request)
    )
    return PasswordChanged(signed_out_sessions=ended)
