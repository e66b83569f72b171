"""Accounts API (see docs/paywall.md for the contract): sign-up, sign-in, tokens, logout, me."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from microdrama.accounts import service
from microdrama.accounts.brand_application_pages import router as brand_application_pages
from microdrama.accounts.brand_application_routes import router as brand_application_router
from microdrama.accounts.csrf import CsrfMiddleware
from microdrama.accounts.deps import (
    DEVICE_COOKIE,
    SESSION_COOKIE,
    CurrentViewer,
    DeviceCookieMiddleware,
    bearer_token,
    clear_session_cookie,
    device_token,
)
from microdrama.accounts.errors import TooManyAttempts
from microdrama.accounts.models import Account, SessionKind
from microdrama.accounts.pages import router as pages_router
from microdrama.accounts.schemas import (
    LoginRequest,
    MeRead,
    SettingsUpdate,
    SignupRequest,
    TokenRead,
)
from microdrama.accounts.session_routes import router as session_router
from microdrama.accounts.signin import (
    log_in_counting_failures,
    record_request_client,
    start_cookie_session,
)
from microdrama.config import AppSettings, Settings
from microdrama.db import DbSession
from microdrama.routing import add_routes

router = APIRouter(tags=["accounts"])
add_routes(router, pages_router)
add_routes(router, session_router)
add_routes(router, brand_application_router)
add_routes(router, brand_application_pages)


def me_read(account: Account) -> MeRead:
    return MeRead.model_validate(account, from_attributes=True)


@router.post("/api/auth/signup", response_model=MeRead, status_code=201)
def signup(
    body: SignupRequest, request: Request, response: Response, db: DbSession, viewer: CurrentViewer
) -> MeRead:
    """Turn this device's guest into a full account (history, coins and unlocks stay)."""
    account = service.sign_up(db=db, guest=viewer, data=body, device_token=device_token(request))
    start_cookie_session(request, response, db, account)
    return me_read(account)


@router.post("/api/auth/login", response_model=MeRead)
def login(body: LoginRequest, request: Request, response: Response, db: DbSession) -> MeRead:
    """Sign this browser in; the device then acts as the account until logout."""
    account = log_in_counting_failures(request, db, body.email, body.password)
    start_cookie_session(request, response, db, account)
    return me_read(account)


@router.post("/api/auth/token", response_model=TokenRead)
def issue_token(
    body: LoginRequest, request: Request, db: DbSession, settings: AppSettings
) -> TokenRead:
    """A bearer token for API clients (the mobile app), valid for `session_days`."""
    account = log_in_counting_failures(request, db, body.email, body.password)
    token, session = service.start_session(
        db=db, settings=settings, account=account, kind=SessionKind.bearer
    )
    record_request_client(request, session)
    return TokenRead(access_token=token, expires_at=session.expires_at)


@router.post("/api/auth/logout", status_code=204)
def logout(request: Request, db: DbSession) -> Response:
    """End the session on the server: its cookie or token stops working at once."""
    token = bearer_token(request) or request.cookies.get(SESSION_COOKIE)
    if token:
        service.end_session(db=db, token=token)
    response = Response(status_code=204)
    if bearer_token(request) is None:
        clear_session_cookie(request, response)
    return response


@router.get("/api/me", response_model=MeRead)
def me(viewer: CurrentViewer) -> MeRead:
    """Who is asking: a guest or a signed-in account, with their spending settings."""
    return me_read(viewer)


@router.patch("/api/me/settings", response_model=MeRead)
def update_settings(body: SettingsUpdate, db: DbSession, viewer: CurrentViewer) -> MeRead:
    """Change the weekly spend limit, the watch-time reminder or auto-unlock."""
    return me_read(service.update_settings(db=db, account=viewer, changes=body.changes()))


async def _too_many_attempts(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TooManyAttempts)
    return JSONResponse(
        exc.as_json(),
        status_code=exc.status_code,
        headers={"Retry-After": str(exc.retry_after_seconds)},
    )


def install_accounts(app: FastAPI, settings: Settings) -> None:
    """CSRF protection for cookie-authenticated writes, and Retry-After on 429 answers."""
    public_host = urlsplit(settings.public_base_url).netloc
    app.add_middleware(
        CsrfMiddleware,
        cookie_names=(SESSION_COOKIE, DEVICE_COOKIE),
        trusted_hosts=(public_host,) if public_host else (),
    )
    app.add_middleware(DeviceCookieMiddleware, secure=settings.environment == "production")
    app.add_exception_handler(TooManyAttempts, _too_many_attempts)
