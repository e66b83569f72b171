"""Sign-in, sign-up and account pages: plain HTML forms (no script needed, see forms.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from microdrama.accounts import service, sessions
from microdrama.accounts.deps import (
    SESSION_COOKIE,
    CurrentAccount,
    CurrentViewer,
    clear_session_cookie,
    device_token,
    known_viewer,
    session_token,
    signed_in_viewer,
)
from microdrama.accounts.errors import (
    AlreadySignedIn,
    EmailTaken,
    InvalidCredentials,
    TooManyAttempts,
)
from microdrama.accounts.forms import (
    EXPIRED_FORM,
    ButtonForm,
    FormPage,
    FormText,
    PostedForm,
    csrf_ok,
    first_problem,
    form_page,
)
from microdrama.accounts.models import Account, SessionKind
from microdrama.accounts.schemas import LoginRequest, SettingsUpdate, SignupRequest
from microdrama.accounts.session_schemas import PasswordChange
from microdrama.accounts.signin import (
    check_current_password_counting_failures,
    log_in_counting_failures,
    start_cookie_session,
)
from microdrama.config import AppSettings
from microdrama.db import DbSession, utcnow
from microdrama.errors import Conflict, NotFound
from microdrama.wording import plural

router = APIRouter(include_in_schema=False)


class SignInForm(PostedForm):
    """auth_signin.html; `next` is the page that sent the person to sign in."""

    email: FormText = ""
    password: FormText = ""
    next: FormText = "/account"


class SignUpForm(PostedForm):
    """auth_signup.html; the display name may be left empty."""

    email: FormText = ""
    password: FormText = ""
    display_name: FormText = ""


class PasswordForm(PostedForm):
    """The password section of account.html."""

    current_password: FormText = ""
    new_password: FormText = ""


class SettingsForm(PostedForm):
    """The settings section of account.html: empty boxes clear a limit or a reminder, and
    `auto_unlock` is "on" when its box is ticked (left out when it is not)."""

    weekly_spend_limit_coins: FormText = ""
    watch_reminder_minutes: FormText = ""
    auto_unlock: FormText = ""


def safe_next(target: str | None, default: str = "/account") -> str:
    """Where to go after signing in: only paths on this site (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


@router.get("/signin", response_class=HTMLResponse)
def signin_page(
    request: Request, db: DbSession, settings: AppSettings, next: str | None = None
) -> Response:
    """The sign-in form (in development, with a link to the demo's logins: a newcomer the
    studio or the back office sent here has no account yet)."""
    if signed_in_viewer(request, db):
        return RedirectResponse(safe_next(next), status_code=303)
    context = {"next": safe_next(next), "email": "", "demo_hint": settings.shows_demo_logins}
    return form_page(request, "auth_signin.html", context)


@router.post("/signin", response_class=HTMLResponse)
def signin_submit(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    sent: Annotated[SignInForm, Form()],
) -> Response:
    """Check the form; on success a session cookie and a redirect, else the form again."""
    target = safe_next(sent.next)
    context = {"next": target, "email": sent.email, "demo_hint": settings.shows_demo_logins}
    form = FormPage(request, "auth_signin.html", context)
    if not csrf_ok(request, sent.csrf_token):
        return form.again(403, error=EXPIRED_FORM)
    try:
        body = LoginRequest(email=sent.email, password=sent.password)
    except ValidationError:
        return form.again(422, error="Enter your email and password.")
    try:
        account = log_in_counting_failures(request, db, body.email, body.password)
    except InvalidCredentials as exc:
        return form.again(401, error=exc.message)
    except TooManyAttempts as exc:
        retry = {"Retry-After": str(exc.retry_after_seconds)}
        return form.again(429, retry, error=exc.message)
    response = RedirectResponse(target, status_code=303)
    start_cookie_session(request, response, db, account)
    return response


@router.get("/signup", response_class=HTMLResponse)
def signup_page(request: Request, db: DbSession) -> Response:
    """The sign-up form: the guest's history, coins and unlocks come along."""
    if signed_in_viewer(request, db):
        return RedirectResponse("/account", status_code=303)
    return form_page(request, "auth_signup.html", {"email": "", "display_name": "", "errors": {}})


@router.post("/signup", response_class=HTMLResponse)
def signup_submit(
    request: Request, db: DbSession, viewer: CurrentViewer, sent: Annotated[SignUpForm, Form()]
) -> Response:
    """Create the account from this device's guest, sign in, and go to the account page."""
    shown = {"email": sent.email, "display_name": sent.display_name, "errors": {}}
    form = FormPage(request, "auth_signup.html", shown)
    fields = {**sent.fields(), "display_name": sent.display_name or None}
    body = form.read(SignupRequest, sent, fields)
    if isinstance(body, Response):
        return body
    try:
        account = service.sign_up(
            db=db, guest=viewer, data=body, device_token=device_token(request)
        )
    except EmailTaken as exc:
        return form.again(409, errors={"email": exc.message})
    except AlreadySignedIn:
        return RedirectResponse("/account", status_code=303)
    response = RedirectResponse("/account", status_code=303)
    start_cookie_session(request, response, db, account)
    return response


@router.get("/account", response_class=HTMLResponse)
def account_page(
    request: Request,
    db: DbSession,
    saved: bool = False,
    password_changed: bool = False,
    signed_out: Annotated[int | None, Query(ge=0, le=1_000_000)] = None,
) -> Response:
    """Email, role, spending settings, where the account is signed in, password and logout;
    guests are invited to sign up."""
    viewer = known_viewer(request, db)
    # Each notice sits in its own section: the redirect scrolls there, not to the top.
    password_notice = sessions_notice = None
    if password_changed:
        password_notice = "Password changed. Your other sessions were signed out."
    if signed_out == 0:
        sessions_notice = "That session had already ended."
    elif signed_out is not None:
        sessions_notice = f"Signed out of {plural(signed_out, 'other session')}."
    context = {
        "saved": saved,
        "password_notice": password_notice,
        "sessions_notice": sessions_notice,
    }
    return _account_page(request, db, viewer, context)


def _account_page(
    request: Request,
    db: DbSession,
    viewer: Account | None,
    context: dict[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    """The account page, with the list of sessions when someone is signed in."""
    listed = []
    if viewer is not None and not viewer.is_guest:
        listed = sessions.list_sessions(db=db, account=viewer, current_token=session_token(request))
    full = {
        "viewer": viewer,
        "saved": False,
        "errors": {},
        "password_errors": {},
        "sessions": [_session_view(s) for s in listed],
        "other_sessions": sum(1 for s in listed if not s.current),
        **context,
    }
    return form_page(request, "account.html", full, status_code)


def _session_view(session: sessions.SignedInSession, now: datetime | None = None) -> dict[str, Any]:
    """What the sessions list shows of one session, in words."""
    now = now or utcnow()
    age = now - session.last_seen_at
    if session.current or age < sessions.LAST_SEEN_RESOLUTION:
        seen = "Active now"
    elif age < timedelta(hours=1):
        seen = f"Last seen {plural(int(age.total_seconds() // 60), 'minute')} ago"
    elif age < timedelta(days=1):
        seen = f"Last seen {plural(int(age.total_seconds() // 3600), 'hour')} ago"
    else:
        seen = f"Last seen {plural(age.days, 'day')} ago"
    kind = session.client.kind
    label = session.client.label
    if session.kind == SessionKind.bearer and session.client.browser is None:
        label, kind = "App or API token", "other"
    return {
        "id": session.id,
        "label": label,
        "kind": kind,
        "seen": seen,
        "signed_in": f"{session.created_at:%-d %b %Y}",
        "ip": session.ip,
        "current": session.current,
    }


@router.post("/account/sessions/{session_id}/end", response_class=HTMLResponse)
def end_session_submit(
    request: Request,
    db: DbSession,
    account: CurrentAccount,
    session_id: Annotated[str, Path(min_length=1, max_length=64)],
    sent: ButtonForm,
) -> Response:
    """Sign one of the account's other sessions out."""
    if not csrf_ok(request, sent.csrf_token):
        return _account_page(request, db, account, {"error": EXPIRED_FORM}, 403)
    ended = 1
    try:
        sessions.end_session_by_id(db=db, account=account, session_id=session_id)
    except NotFound:
        ended = 0  # ended meanwhile (another tab, expiry): the list shows what is left
    return RedirectResponse(f"/account?signed_out={ended}#sessions", status_code=303)


@router.post("/account/sessions/end-others", response_class=HTMLResponse)
def end_other_sessions_submit(
    request: Request, db: DbSession, account: CurrentAccount, sent: ButtonForm
) -> Response:
    """Sign out everywhere but this browser."""
    if not csrf_ok(request, sent.csrf_token):
        return _account_page(request, db, account, {"error": EXPIRED_FORM}, 403)
    ended = sessions.end_other_sessions(
        db=db, account=account, current_token=session_token(request)
    )
    return RedirectResponse(f"/account?signed_out={ended}#sessions", status_code=303)


@router.post("/account/password", response_class=HTMLResponse)
def change_password_submit(
    request: Request, db: DbSession, account: CurrentAccount, sent: Annotated[PasswordForm, Form()]
) -> Response:
    """Change the password (confirmed with the current one); other sessions are signed out."""
    if not csrf_ok(request, sent.csrf_token):
        return _account_page(request, db, account, {"error": EXPIRED_FORM}, 403)
    try:
        body = PasswordChange(**sent.fields())
    except ValidationError as exc:
        errors = first_problem(exc)
        if "current_password" in errors:
            errors["current_password"] = "Enter your current password."
        return _account_page(request, db, account, {"password_errors": errors}, 422)
    try:
        check_current_password_counting_failures(request, db, account, body.current_password)
    except (sessions.WrongCurrentPassword, Conflict) as exc:
        errors = {"current_password": exc.message}
        return _account_page(request, db, account, {"password_errors": errors}, exc.status_code)
    except TooManyAttempts as exc:
        retry = {"Retry-After": str(exc.retry_after_seconds)}
        response = _account_page(
            request, db, account, {"password_errors": {"current_password": exc.message}}, 429
        )
        response.headers.update(retry)
        return response
    sessions.change_password(
        db=db, account=account, new_password=body.new_password, current_token=session_token(request)
    )
    return RedirectResponse("/account?password_changed=true#password", status_code=303)


def _optional_int(value: str) -> int | str | None:
    value = value.strip()
    return None if value == "" else value


@router.post("/account/settings", response_class=HTMLResponse)
def account_settings_submit(
    request: Request, db: DbSession, viewer: CurrentViewer, sent: Annotated[SettingsForm, Form()]
) -> Response:
    """Save the settings form (an empty box means "no limit" / "no reminder")."""
    form = FormPage(request, "account.html", {"viewer": viewer, "saved": False, "errors": {}})
    fields = {
        "weekly_spend_limit_coins": _optional_int(sent.weekly_spend_limit_coins),
        "watch_reminder_minutes": _optional_int(sent.watch_reminder_minutes),
        "auto_unlock": sent.auto_unlock == "on",
    }
    update = form.read(SettingsUpdate, sent, fields)
    if isinstance(update, Response):
        return update
    service.update_settings(db=db, account=viewer, changes=update.changes())
    return RedirectResponse("/account?saved=true", status_code=303)


@router.post("/logout", response_class=HTMLResponse)
def logout_submit(request: Request, db: DbSession, sent: ButtonForm) -> Response:
    """End this browser's session on the server and go back to the feed."""
    if not csrf_ok(request, sent.csrf_token):
        shown: dict[str, Any] = {"viewer": known_viewer(request, db), "saved": False, "errors": {}}
        return FormPage(request, "account.html", shown).again(403, error=EXPIRED_FORM)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        service.end_session(db=db, token=token)
    response = RedirectResponse("/", status_code=303)
    clear_session_cookie(request, response)
    return response
