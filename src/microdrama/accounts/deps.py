"""Request dependencies that say who is asking: bearer token, session cookie, or device guest."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from microdrama.accounts import service, sessions
from microdrama.accounts.errors import SignInRequired
from microdrama.accounts.models import Account, Role, SessionKind
from microdrama.config import app_settings
from microdrama.db import DbSession
from microdrama.dependencies import in_event_loop
from microdrama.errors import Forbidden
from microdrama.templating import render_page

DEVICE_COOKIE = "md_device"
SESSION_COOKIE = "md_session"
ONE_YEAR_S = 365 * 24 * 3600


def _secure(request: Request) -> bool:
    return app_settings(request).environment == "production"


def set_device_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        DEVICE_COOKIE,
        token,
        max_age=ONE_YEAR_S,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=app_settings(request).session_days * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=_secure(request))
    # Also on an answer the route builds itself (DeviceCookieMiddleware).
    request.state.ended_session_cookie = True


def ensure_device_token(request: Request, response: Response) -> str:
    """The caller's device token, minted (and set as a cookie) when it has none; minted once
    per request, also when asked again (a money transaction's retry)."""
    token = device_token(request)
    if not token:
        token = service.new_device_token()
        set_device_cookie(request, response, token)
        # Later dependencies of the same request (a CSRF token, a trusted device) see it too.
        request.state.minted_device_token = token
    return token


def device_token(request: Request) -> str | None:
    """The device token the request came with (or minted for it), without minting one."""
    minted: str | None = getattr(request.state, "minted_device_token", None)
    token = request.cookies.get(DEVICE_COOKIE, "")
    return minted or (token if service.token_may_be_valid(token) else None)


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer ...` header, if the request has one."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def session_token(request: Request) -> str | None:
    """The token of the session the request is signed in with (bearer first, then cookie)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    return bearer_token(request) or (cookie if cookie else None)


def signed_in_account(request: Request, db: Session) -> Account | None:
    """The account of a bearer token or session cookie; None when neither is live.
    A bearer token that is not live is refused outright (API clients must sign in again)."""
    token = bearer_token(request)
    if token is not None:
        found = service.live_session(db=db, token=token, kind=SessionKind.bearer)
        if found is None:
            raise SignInRequired("Your access token is invalid or expired; sign in again.")
        sessions.note_seen(found[1])
        return found[0]
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        found = service.live_session(db=db, token=cookie, kind=SessionKind.cookie)
        if found is None:
            return None
        sessions.note_seen(found[1])
        return found[0]
    return None


def known_viewer(request: Request, db: Session) -> Account | None:
    """Who is asking, without creating a guest: for pages that only read (feed, series)."""
    account = signed_in_account(request, db)
    if account is not None:
        return account
    token = device_token(request)
    return service.get_by_device(db=db, device_token=token) if token else None


def signed_in_account_id(request: Request, db: Session) -> int | None:
    """signed_in_account's id, looked up by the id alone without loading the account or the
    session: a bearer token that is not live is refused; a session cookie that is not live
    gives None, as no credentials do."""
    token = bearer_token(request)
    if token is not None:
        account_id = sessions.live_session_account_id(db=db, token=token, kind=SessionKind.bearer)
        if account_id is None:
            raise SignInRequired("Your access token is invalid or expired; sign in again.")
        return account_id
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return sessions.live_session_account_id(db=db, token=cookie, kind=SessionKind.cookie)
    return None


def known_viewer_id(request: Request, db: Session) -> int | None:
    """known_viewer's account id, by ids alone (a For You page is rebuilt for a viewer every
    few seconds while they swipe)."""
    account_id = signed_in_account_id(request, db)
    if account_id is not None:
        return account_id
    device = device_token(request)
    return service.account_id_by_device(db=db, device_token=device) if device else None


def current_viewer(request: Request, response: Response, db: DbSession) -> Account:
    """The viewer making the request: bearer token, then session cookie, then the device's
    guest account (created on first use)."""
    account = signed_in_account(request, db)
    if account is not None:
        return account
    if request.cookies.get(SESSION_COOKIE):
        clear_session_cookie(request, response)  # ended or expired: forget it
    token = ensure_device_token(request, response)
    return service.get_or_create_guest(db=db, device_token=token)


CurrentViewer = Annotated[Account, Depends(current_viewer)]


def current_viewer_id(request: Request, response: Response, db: DbSession) -> int:
    """current_viewer's account id, for the busiest routes (the players' event batches, coin
    unlocks): a bearer token, a session cookie or a known guest device is looked up by the id
    alone, without loading the account; a device's first visit (and a session cookie that has
    ended) goes through current_viewer."""
    account_id = signed_in_account_id(request, db)
    if account_id is not None:
        return account_id
    if not request.cookies.get(SESSION_COOKIE):
        device = device_token(request)
        account_id = service.account_id_by_device(db=db, device_token=device) if device else None
        if account_id is not None:
            return account_id
    return current_viewer(request, response, db).id


CurrentViewerId = Annotated[int, Depends(current_viewer_id)]


def require_signed_in(viewer: CurrentViewer) -> Account:
    """The signed-in account; guests get 401 `sign_in_required`."""
    if viewer.is_guest:
        raise SignInRequired("Sign in to do this.")
    return viewer


# The checks below do no I/O: FastAPI calls them in the event loop (dependencies.py).
_signed_in = in_event_loop(require_signed_in)


def require_role(*roles: Role) -> Callable[[Account], Awaitable[Account]]:
    """A dependency admitting signed-in accounts with one of these roles (admins always)."""
    allowed = {*roles, Role.admin}

    @in_event_loop
    def dependency(
        account: Annotated[Account, Depends(_signed_in)],
    ) -> Account:
        if account.role not in allowed:
            names = " or ".join(sorted(r.value for r in roles))
            raise Forbidden(f"Only a {names} account can do this.", required_role=names)
        return account

    return dependency


CurrentAccount = Annotated[Account, Depends(_signed_in)]
CurrentCreator = Annotated[Account, Depends(require_role(Role.creator))]
CurrentBrand = Annotated[Account, Depends(require_role(Role.brand))]
CurrentAdmin = Annotated[Account, Depends(require_role(Role.admin))]


class DeviceCookieMiddleware:
    """Every answer to a request that minted a device token carries its cookie, also answers
    that routes build themselves (a playlist, a redirect): FastAPI drops the cookies that
    dependencies set when a route returns its own Response, and a client that first asked
    for a playlist would otherwise get a new guest on every request. Likewise the clearing
    of a session cookie found ended (`clear_session_cookie`), so that a browser stops
    sending it."""

    def __init__(self, app: ASGIApp, *, secure: bool) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            state = scope.get("state", {})
            token = state.get("minted_device_token")
            ended = state.get("ended_session_cookie")
            if message["type"] == "http.response.start" and (token or ended):
                headers = MutableHeaders(scope=message)
                cookies = headers.getlist("set-cookie")
                carrier = Response()
                if token and not any(c.startswith(f"{DEVICE_COOKIE}=") for c in cookies):
                    carrier.set_cookie(
                        DEVICE_COOKIE, token, max_age=ONE_YEAR_S, httponly=True,
                        samesite="lax", secure=self.secure,
                    )  # fmt: skip
                if ended and not any(c.startswith(f"{SESSION_COOKIE}=") for c in cookies):
                    carrier.delete_cookie(
                        SESSION_COOKIE, httponly=True, samesite="lax", secure=self.secure
                    )
                for cookie in carrier.headers.getlist("set-cookie"):
                    headers.append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def signed_in_viewer(request: Request, db: Session) -> Account | None:
    """The signed-in account of this browser (not a guest), without creating a guest."""
    account = known_viewer(request, db)
    return account if account is not None and not account.is_guest else None


def page_account(
    request: Request, db: DbSession, role: Role | None = None, *, refusal: str | None = None
) -> Account | Response:
    """The signed-in account if it has the role (any role when None; admins always);
    otherwise the answer to give: guests go to sign in and come back, other roles get a 403
    page saying `refusal`."""
    account = signed_in_viewer(request, db)
    if account is None:
        target = quote(request.url.path, safe="/")
        return RedirectResponse(f"/signin?next={target}", status_code=303)
    if role is not None and account.role not in {role, Role.admin}:
        message = refusal or f"This page is for {role.value} accounts."
        return render_page(request, "not_found.html", {"message": message}, status_code=403)
    return account
