"""Signing a browser or an API client in: shared by the JSON API and the HTML pages."""

from __future__ import annotations

from fastapi import Request, Response

from microdrama.accounts import service, sessions
from microdrama.accounts.deps import SESSION_COOKIE, device_token, set_session_cookie
from microdrama.accounts.errors import InvalidCredentials
from microdrama.accounts.models import Account, AuthSession, SessionKind
from microdrama.config import app_settings
from microdrama.db import DbSession, session_factory, session_scope
from microdrama.rate_limits import rate_limiter


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def log_in_counting_failures(request: Request, db: DbSession, email: str, password: str) -> Account:
    """Check credentials (counted against the sign-in limits of every process); a wrong password
    is logged in a transaction of its own, because the request's own is rolled back by the 401."""
    ip = client_ip(request)
    try:
        return service.log_in(
            db=db,
            limiter=rate_limiter(request),
            settings=app_settings(request),
            email=email,
            password=password,
            ip=ip,
            device_token=device_token(request),
        )
    except InvalidCredentials:
        with session_scope(session_factory(request)) as counting:
            service.record_login_failure(db=counting, email=email, ip=ip)
        raise


def start_cookie_session(
    request: Request, response: Response, db: DbSession, account: Account
) -> None:
    """Sign this browser in as `account`, ending the session it had before (if any)."""
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        service.end_session(db=db, token=previous)
    token, session = service.start_session(
        db=db, settings=app_settings(request), account=account, kind=SessionKind.cookie
    )
    record_request_client(request, session)
    set_session_cookie(request, response, token)


def record_request_client(request: Request, session: AuthSession) -> None:
    """Remember the browser and address that signed in, for the account's sessions list."""
    sessions.record_client(
        session=session, user_agent=request.headers.get("user-agent"), ip=client_ip(request)
    )


def check_current_password_counting_failures(
    request: Request, db: DbSession, account: Account, password: str
) -> None:
    """Confirm the account's current password before a change; a wrong one counts as a failed
    sign-in (logged in a transaction of its own, as the request's is rolled back by the error)."""
    ip = client_ip(request)
    try:
        sessions.check_current_password(
            limiter=rate_limiter(request),
            settings=app_settings(request),
            account=account,
            password=password,
            ip=ip,
        )
    except sessions.WrongCurrentPassword:
        assert account.email is not None  # checked before the password is
        with session_scope(session_factory(request)) as counting:
            service.record_login_failure(db=counting, email=account.email, ip=ip)
        raise
