"""The "about this demo" page: what the app is, and a one-click sign-in for each demo role.

Shown only while the environment is development: it prints the demo's passwords, which are
fine on a laptop and must never be on a public server (404 everywhere else).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from microdrama.accounts.forms import form_page
from microdrama.config import AppSettings
from microdrama.demo.accounts import demo_logins
from microdrama.templating import render_page

router = APIRouter(include_in_schema=False)


@router.get("/about", response_class=HTMLResponse)
def about_page(request: Request, settings: AppSettings) -> Response:
    """The demo logins with what each role can try; 404 outside development."""
    if not settings.shows_demo_logins:
        message = "There is no such page."
        return render_page(request, "not_found.html", {"message": message}, status_code=404)
    return form_page(request, "about.html", {"logins": demo_logins(settings)})
