"""Logs as JSON lines: one per request (method, route template, status, duration, request id),
and the request id carried into the jobs the request queued, whose workers log under it."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.deps import CurrentAccount
from microdrama.accounts.models import Role
from microdrama.ai import jobs as ai_jobs
from microdrama.ai.models import AIJob
from microdrama.app import create_app
from microdrama.config import AppSettings, Settings
from microdrama.db import DbSession, session_scope
from microdrama.media import jobs as media_jobs
from microdrama.media.models import JobState, TranscodeJob
from microdrama.storage import LocalStorage
from tests.ops.handlers import HERE
from tests.support.accounts import signed_in
from tests.support.clips import cached_clip
from tests.support.studio import new_series, open_studio


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


@pytest.fixture
def logged_app(settings: Settings, engine: Engine, json_log: io.StringIO) -> FastAPI:
    """The app writing a line per request, with a route that queues an AI job."""
    app = create_app(settings.model_copy(update={"access_log": True}))

    def start(db: DbSession, account: CurrentAccount, settings: AppSettings) -> dict[str, int]:
        job = ai_jobs.enqueue(
            db, settings=settings, kind="captions", owner_id=account.id, payload={}, subject="x:1"
        )
        return {"id": job.id}

    app.add_api_route("/api/test/ai-jobs", start, methods=["POST"], status_code=201)
    return app


@pytest.fixture
def logged_client(logged_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(logged_app) as client:
        yield client


def test_each_request_is_one_json_line_with_its_route_status_duration_and_id(
    logged_client: TestClient, json_log: io.StringIO
) -> None:
    answer = logged_client.get("/api/series/987654", headers={"X-Request-ID": "edge-42"})
    assert answer.status_code == 404
    assert answer.headers["X-Request-ID"] == "edge-42"
    (line,) = [entry for entry in lines(json_log) if entry.get("event") == "request"]
    assert line["method"] == "GET"
    assert line["route"] == "/api/series/{series_id}"
    assert line["path"] == "/api/series/987654"
    assert line["status"] == 404
    assert line["request_id"] == "edge-42"
    assert line["duration_ms"] >= 0
    assert line["level"] == "info" and line["timestamp"].endswith("Z")
    # Probes are counted, not logged line by line.
    logged_client.get("/healthz")
    assert [e["path"] for e in lines(json_log) if e.get("event") == "request"] == [
        "/api/series/987654"
    ]


def test_the_request_id_reaches_the_ai_job_and_the_lines_it_logs(
    logged_app: FastAPI,
    db_factory: sessionmaker[Session],
    settings: Settings,
    json_log: io.StringIO,
) -> None:
    headers, _ = signed_in(db_factory, settings, role=Role.creator, name="Ana")
    with TestClient(logged_app) as client:
        started = client.post(
            "/api/test/ai-jobs", headers={**headers, "X-Request-ID": "studio-click-7"}
        )
    assert started.status_code == 201, started.text
    job_id = started.json()["id"]
    with session_scope(db_factory) as db:
        assert db.get(AIJob, job_id).request_id == "studio-click-7"  # type: ignore[union-attr]

    ended = ai_jobs.run_job_here(
        job_id=job_id,
        sessions=db_factory,
        settings=settings,
        storage=LocalStorage(settings.media_dir),
        handler=f"{HERE}:says_hello",
    )
    assert ended.state == "done"
    said = [e for e in lines(json_log) if e["event"] == f"hello from AI job {job_id}"]
    assert said and said[0]["request_id"] == "studio-click-7"
    assert said[0]["logger"] == "tests.ops.handlers"


@pytest.mark.slow
def test_the_request_id_reaches_the_transcode_job_and_the_workers_lines(
    logged_client: TestClient,
    db_factory: sessionmaker[Session],
    settings: Settings,
    json_log: io.StringIO,
) -> None:
    open_studio(logged_client, email="ops-upload@example.com")
    series_id = new_series(logged_client)["id"]
    with cached_clip(seconds=2).open("rb") as file:
        uploaded = logged_client.post(
            f"/api/studio/series/{series_id}/episodes",
            files={"file": ("clip.mp4", file, "video/mp4")},
            headers={"X-Request-ID": "upload-ep1"},
        )
    assert uploaded.status_code == 202, uploaded.text
    with session_scope(db_factory) as db:
        job = db.scalars(select(TranscodeJob)).one()
        assert job.request_id == "upload-ep1"
        source_key = job.asset.source_key
    storage = LocalStorage(settings.media_dir)
    # The stored source damaged after its upload: the worker fails fast, and says why.
    storage.save(source_key, io.BytesIO(b"not a video any more"))

    worker = media_jobs.Worker(sessions=db_factory, storage=storage, settings=settings)
    assert worker.run_next_job(worker_id="ops-test-worker", stop=threading.Event())
    with session_scope(db_factory) as db:
        assert db.scalars(select(TranscodeJob.state)).one() == JobState.failed
    workers_lines = [e for e in lines(json_log) if e.get("logger") == "microdrama.media.jobs"]
    assert workers_lines, json_log.getvalue()
    assert {e.get("request_id") for e in workers_lines} == {"upload-ep1"}
    assert any("claimed job" in e["event"] for e in workers_lines)
