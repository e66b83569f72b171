"""Pages only some accounts may open: a dependency hands the page the signed-in account with
the page's role, or stops the page with the answer page_account gives instead (the sign-in
redirect, the 403 page)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from microdrama.accounts.deps import page_account
from microdrama.accounts.models import Account, Role
from microdrama.db import DbSession


class PageRefused(Exception):
    """Raised by a page's dependency: `answer` goes out instead of the page."""

    def __init__(self, answer: Response) -> None:
        super().__init__(f"page refused with {answer.status_code}")
        self.answer = answer


class PageRoute(APIRoute):
    """The route class of page routers (`APIRouter(route_class=PageRoute)`): a PageRefused
    raised while a page's dependencies are solved becomes the page's answer.

    Caught here, inside the request's dependency scope rather than by an app exception
    handler, the request's session still commits, as it did when pages returned the refusal
    themselves: a refused visit still moves its session's "last seen" forward."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_or_refusal(request: Request) -> Response:
            try:
                return await handler(request)
            except PageRefused as refused:
                return refused.answer

        return page_or_refusal


def signed_in_page(role: Role, *, refusal: str | None = None) -> Callable[..., Account]:
    """A dependency for pages of a PageRoute router: the signed-in account with `role` (admins
    pass); guests are sent to sign in and come back, other roles get a 403 page saying
    `refusal` (by default "This page is for <role> accounts.")."""

    def account_with_role(request: Request, db: DbSession) -> Account:
        answer = page_account(request, db, role, refusal=refusal)
        if isinstance(answer, Response):
            raise PageRefused(answer)
        return answer

    return account_with_role
