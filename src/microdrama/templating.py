"""The pages' shared toolkit: Jinja templates, their filters, static URLs and `render_page`.

It sits low in the import graph and knows no domain, so every domain's pages may use it while
the viewer's own pages (web/routes.py) stay on top and import the domains they show.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from microdrama.config import app_settings
from microdrama.wording import coin_price, money, plural, price_cents

WEB_DIR = Path(__file__).parent / "web"
STATIC_DIR = WEB_DIR / "static"
# Pages hold per-viewer data (continue watching, progress): never cache them in shared caches.
PAGE_CACHE = "private, no-cache"

templates = Jinja2Templates(directory=WEB_DIR / "templates")


def render_page(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """A page for one viewer (never kept by shared caches)."""
    return templates.TemplateResponse(
        request, template, context, status_code=status_code, headers={"Cache-Control": PAGE_CACHE}
    )


@cache
def _static_version(path: str) -> str:
    """A short hash of a static file's bytes, computed once per process."""
    try:
        return hashlib.sha256((STATIC_DIR / path).read_bytes()).hexdigest()[:10]
    except FileNotFoundError:
        return "missing"


def static_url(path: str) -> str:
    return f"/static/{path}?v={_static_version(path)}"


def _json_script(data: Any) -> Markup:
    """JSON safe to place inside <script type="application/json"> (no `</script>` breakout)."""
    text = json.dumps(data, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def runtime(duration_ms: int) -> str:
    """A series' total length as people say it: "45 s", "6 min", "1 h 20 min"."""
    seconds = round(duration_ms / 1000)
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min" if minutes % 60 else f"{minutes // 60} h"


def clock(duration_ms: int) -> str:
    """An episode's length or position as a player shows it: "1:05"."""
    seconds = max(0, int(duration_ms // 1000))
    return f"{seconds // 60}:{seconds % 60:02d}"


@pass_context
def _coin_price(context: Context, coins: int) -> str:
    """`{{ price_coins | coin_price }}`: "60 coins ($0.60)", at the configured coin value."""
    settings = app_settings(context["request"])
    return coin_price(coins, price_cents(settings=settings, coins=coins))


@pass_context
def _test_hooks(context: Context) -> bool:
    """`{% if test_hooks() %}`: whether the page's scripts publish their state for tests."""
    return app_settings(context["request"]).expose_test_hooks


templates.env.globals["static_url"] = static_url
templates.env.globals["test_hooks"] = _test_hooks
templates.env.filters["plural"] = plural
templates.env.filters["money"] = money
templates.env.filters["coin_price"] = _coin_price
templates.env.filters["json_script"] = _json_script
templates.env.filters["runtime"] = runtime
templates.env.filters["clock"] = clock
