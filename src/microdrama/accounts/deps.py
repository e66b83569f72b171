"""Request dependencies that say who is asking."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from microdrama.accounts import service
from microdrama.accounts.models import Account
from microdrama.db import DbSession

DEVICE_COOKIE = "md_device"
ONE_YEAR_S = 365 * 24 * 3600


def set_device_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        DEVICE_COOKIE,
        token,
        max_age=ONE_YEAR_S,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.environment == "production",
    )


def ensure_device_token(request: Request, response: Response) -> str:
    """The caller's device token, minted (and set as a cookie) when it has none."""
    token = request.cookies.get(DEVICE_COOKIE)
    if not token or len(token) > 128:
        token = service.new_device_token()
        set_device_cookie(request, response, token)
    return token


def current_viewer(db: DbSession, token: Annotated[str, Depends(ensure_device_token)]) -> Account:
    """The viewer making the request: the device's guest account until sign-up exists."""
    return service.get_or_create_guest(db=db, device_token=token)


CurrentViewer = Annotated[Account, Depends(current_viewer)]
