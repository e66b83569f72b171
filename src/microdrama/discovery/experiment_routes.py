"""Feed experiments for operators: the JSON API (start, stop, results) and the back-office page
its script fills (`/admin/experiments`)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from microdrama.accounts.deps import CurrentAdmin, page_account
from microdrama.accounts.models import Role
from microdrama.cache import PublicCache, TTLCache
from microdrama.db import DbSession, after_commit
from microdrama.discovery import experiments
from microdrama.discovery.experiment_schemas import (
    ExperimentResults,
    ExperimentsPage,
    ExperimentStart,
)
from microdrama.discovery.models import FeedOrder
from microdrama.errors import NotFound
from microdrama.templating import render_page
from microdrama.types import PathId

router = APIRouter(tags=["admin"])


def _page(db: Session) -> ExperimentsPage:
    listed = experiments.latest(db=db)
    current = next((e for e in listed if e.running), None)
    shown = current or (listed[0] if listed else None)
    return ExperimentsPage(
        running=experiments.read(db, current) if current else None,
        results=experiments.results(db=db, experiment=shown) if shown else None,
        experiments=[experiments.read(db, e) for e in listed],
    )


def _serve_from_now(db: Session, cache: TTLCache[bytes]) -> None:
    """Once committed, this process's feed follows the change at once (others within the
    public cache's seconds)."""
    running = experiments.running_json(db=db)

    def publish() -> None:
        cache.put(experiments.CACHE_KEY, running)

    after_commit(db, publish)


@router.get("/api/admin/experiments", response_model=ExperimentsPage)
def list_experiments(db: DbSession, admin: CurrentAdmin) -> ExperimentsPage:
    """The running feed experiment, the results of the running (or latest) one, and the
    latest experiments (admin)."""
    return _page(db)


@router.post("/api/admin/experiments", response_model=ExperimentsPage, status_code=201)
def start_experiment(
    body: ExperimentStart, db: DbSession, admin: CurrentAdmin, cache: PublicCache
) -> ExperimentsPage:
    """Send `share_percent` of viewers (1-50) to another feed order; 409 while one runs."""
    experiments.start(
        db=db,
        name=body.name,
        treatment_order=FeedOrder(body.treatment_order),
        share_percent=body.share_percent,
        started_by_id=admin.id,
    )
    _serve_from_now(db, cache)
    return _page(db)


@router.post("/api/admin/experiments/stop", response_model=ExperimentsPage)
def stop_experiment(db: DbSession, admin: CurrentAdmin, cache: PublicCache) -> ExperimentsPage:
    """Stop the running experiment: every viewer gets For You again; 409 when none runs."""
    experiments.stop(db=db)
    _serve_from_now(db, cache)
    return _page(db)


@router.get("/api/admin/experiments/{experiment_id}/results", response_model=ExperimentResults)
def experiment_results(
    experiment_id: PathId, db: DbSession, admin: CurrentAdmin
) -> ExperimentResults:
    """Per arm and metric: values and the difference from control with 95 % intervals."""
    experiment = experiments.get(db=db, experiment_id=experiment_id)
    if experiment is None:
        raise NotFound("There is no such experiment.")
    return experiments.results(db=db, experiment=experiment)


@router.get("/admin/experiments", response_class=HTMLResponse, include_in_schema=False)
def experiments_page(request: Request, db: DbSession) -> Response:
    """Start and stop feed experiments and read their results (admin)."""
    admin = page_account(request, db, Role.admin)
    if isinstance(admin, Response):
        return admin
    return render_page(request, "operator_experiments.html", {"account": admin})
