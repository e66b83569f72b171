"""The real app plus one bare async route, the baseline the API benchmark compares against.

Serving both from the same process and server means the ratio measures what our routes
cost on top of uvicorn + Starlette, not differences between servers.
"""

from __future__ import annotations

from fastapi import FastAPI, Response
from fastapi.routing import APIRoute

from microdrama.app import create_app

BARE_BODY = b'{"ok":true}'


def create_bench_app() -> FastAPI:
    app = create_app()

    async def bare() -> Response:
        return Response(BARE_BODY, media_type="application/json")

    # First in the route list, so no mount (static files, media) can shadow it.
    app.router.routes.insert(0, APIRoute("/bench/bare", bare, methods=["GET"]))
    return app
