"""/healthz, /readyz, /metrics and the operator's status page, and `install_ops`, which adds
them, the request middleware and the log configuration to the app."""

from __future__ import annotations

import hmac
import ipaddress
from functools import lru_cache

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.orm import Session

from microdrama.accounts.deps import CurrentAdmin, page_account
from microdrama.accounts.models import Role
from microdrama.config import AppSettings, Settings
from microdrama.db import DbSession, SessionFactory
from microdrama.errors import Forbidden
from microdrama.logs import access_log_enabled, configure_logging
from microdrama.ops.health import StorageProbe, readiness
from microdrama.ops.http import RequestTelemetry
from microdrama.ops.metrics import CONTENT_TYPE, exposition
from microdrama.ops.schemas import HealthRead, ReadinessRead, StatusRead
from microdrama.ops.snapshot import FiguresCache, read_figures
from microdrama.routing import add_routes
from microdrama.storage import AppStorage
from microdrama.templating import render_page

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(spec: str) -> tuple[IpNetwork, ...]:
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip()
    )


def metrics_allowed(request: Request, settings: Settings) -> bool:
    """The bearer token when one is set, or a client address in settings.metrics_allow (the
    address uvicorn took from X-Forwarded-For of a trusted proxy: the real client's)."""
    if settings.metrics_token:
        given = request.headers.get("authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {settings.metrics_token}".encode()):
            return True
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in _networks(settings.metrics_allow))


def make_router(*, figures: FiguresCache, probe: StorageProbe) -> APIRouter:
    """The routes, with this app's cache of database figures and its storage probe."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", response_model=HealthRead)
    async def healthz() -> HealthRead:
        """The process is up and answering (no database, nothing else asked)."""
        return HealthRead()

    @router.get(
        "/readyz",
        response_model=ReadinessRead,
        responses={503: {"model": ReadinessRead, "description": "Not ready: `failed` says why."}},
    )
    def readyz(factory: SessionFactory, storage: AppStorage) -> Response:
        """Ready for traffic: the database answers, its schema is at the newest migration, and
        storage takes a write. 503 with the failed checks otherwise."""
        with factory() as db:
            answer = ReadinessRead.of(readiness(db=db, storage=storage, probe=probe))
            db.rollback()
        return JSONResponse(
            answer.model_dump(mode="json"),
            status_code=200 if answer.status == "ready" else 503,
            headers={"Cache-Control": "no-store"},
        )

    @router.get("/metrics", include_in_schema=False)
    def metrics(request: Request, settings: AppSettings, factory: SessionFactory) -> Response:
        """Prometheus exposition (loopback and private networks, or the bearer token)."""
        if not metrics_allowed(request, settings):
            raise Forbidden(
                "Metrics are served to the operator's network only (MICRODRAMA_METRICS_ALLOW) "
                "or with the bearer token (MICRODRAMA_METRICS_TOKEN)."
            )
        with factory() as db:
            body = exposition(figures.get(db))
            db.rollback()
        return Response(body, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})

    @router.get("/api/admin/status", response_model=StatusRead)
    def admin_status(db: DbSession, admin: CurrentAdmin, storage: AppStorage) -> StatusRead:
        """The queues, the workers holding jobs, recent failures and readiness (admin)."""
        return _status(db, storage)

    @router.get("/admin/status", response_class=HTMLResponse, include_in_schema=False)
    def admin_status_page(request: Request, db: DbSession, storage: AppStorage) -> Response:
        """The operator's status page (admin)."""
        admin = page_account(request, db, Role.admin)
        if isinstance(admin, Response):
            return admin
        status = _status(db, storage)
        return render_page(request, "operator_status.html", {"account": admin, "status": status})

    def _status(db: Session, storage: AppStorage) -> StatusRead:
        return StatusRead.of(read_figures(db), readiness(db=db, storage=storage, probe=probe))

    return router


def install_ops(app: FastAPI, settings: Settings) -> None:
    """Logs configured, the routes added, and every request counted, timed and logged (the
    outermost middleware: call last)."""
    if settings.environment != "test" or settings.log_format is not None:
        configure_logging(settings)
    add_routes(app.router, make_router(figures=FiguresCache(), probe=StorageProbe()))
    app.add_middleware(RequestTelemetry, access_log=access_log_enabled(settings))
