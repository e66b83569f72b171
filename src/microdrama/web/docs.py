"""The API docs page (/docs) and the favicon, served from the app itself so they work offline."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from microdrama.templating import STATIC_DIR, static_url

FAVICON = STATIC_DIR / "favicon.ico"


def install_docs(app: FastAPI) -> None:
    """Swagger UI from static/vendor/swagger-ui (copied from npm by dev.sh) instead of FastAPI's
    default CDN, which leaves /docs blank without a network. ReDoc is not offered: one docs page
    is enough, and its bundle would be a second vendored copy of the same document."""
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} · API",
            swagger_js_url=static_url("vendor/swagger-ui/swagger-ui-bundle.js"),
            swagger_css_url=static_url("vendor/swagger-ui/swagger-ui.css"),
            swagger_favicon_url="/favicon.ico",
            # Swagger UI would otherwise ask validator.swagger.io about the document.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        # Browsers ask for it on every page; a day of caching keeps it off the request log.
        return FileResponse(
            FAVICON, media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"}
        )
