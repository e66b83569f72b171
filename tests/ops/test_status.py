"""The operator's status: queues, workers holding jobs, recent failures with their reasons and
readiness, as JSON (/api/admin/status) and as the page /admin/status; operators only."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Role
from microdrama.ai.models import AIJob, AIJobKind, AIJobState
from microdrama.config import Settings
from microdrama.db import session_scope, utcnow
from microdrama.media.models import JobState, TranscodeJob
from microdrama.ops.heartbeat import Heartbeat
from microdrama.ops.models import WorkerHeartbeat
from tests.support.accounts import signed_in
from tests.support.factories import make_series

REASON = "the source file is missing from storage: assets/9/source/original.mp4"


def _troubles(db_factory: sessionmaker[Session]) -> None:
    now = utcnow()
    with session_scope(db_factory) as db:
        series = make_series(db, episodes=1)
        asset_id = series.episodes[0].media_asset_id
        assert asset_id is not None
        db.add_all(
            [
                TranscodeJob(
                    asset_id=asset_id, state=JobState.queued, created_at=now - timedelta(minutes=7)
                ),
                TranscodeJob(
                    asset_id=asset_id,
                    state=JobState.failed,
                    error=REASON,
                    attempts=3,
                    finished_at=now,
                    request_id="upload-77",
                ),
                AIJob(
                    kind=AIJobKind.table_read,
                    owner_id=series.owner_id,
                    state=AIJobState.running,
                    worker_id="host-a:4242:ab12cd/ai",
                    lease_expires_at=now + timedelta(seconds=30),
                ),
            ]
        )


def test_operators_read_the_queues_workers_and_failures(
    app: FastAPI, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    _troubles(db_factory)
    headers, _ = signed_in(db_factory, settings, role=Role.admin, name="Ops")
    with TestClient(app) as client:
        answer = client.get("/api/admin/status", headers=headers)
        assert answer.status_code == 200, answer.text
        status = answer.json()
        assert status["transcode"]["queued"] == 1
        assert status["transcode"]["oldest_queued_seconds"] >= 400
        assert status["transcode"]["busy_workers"] == []
        (failure,) = status["transcode"]["recent_failures"]
        assert (failure["reason"], failure["attempts"], failure["request_id"]) == (
            REASON,
            3,
            "upload-77",
        )
        assert status["ai"]["running"] == 1
        assert [w["worker_id"] for w in status["ai"]["busy_workers"]] == ["host-a:4242:ab12cd/ai"]
        assert status["readiness"]["status"] == "ready"

        page = client.get("/admin/status", headers=headers)
        assert page.status_code == 200
        assert REASON in page.text and "host-a:4242:ab12cd/ai" in page.text
        assert "no transcode worker is running" in page.text  # a queued job, nobody transcoding


def test_only_operators_see_the_status(
    app: FastAPI, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    headers, _ = signed_in(db_factory, settings, role=Role.creator, name="Nova")
    with TestClient(app) as client:
        assert client.get("/api/admin/status", headers=headers).status_code == 403
        assert client.get("/api/admin/status").status_code in (401, 403)
        assert client.get("/admin/status", headers=headers).status_code == 403
        guest = client.get("/admin/status", follow_redirects=False)
        assert guest.status_code == 303 and guest.headers["location"].startswith("/signin")


def test_workers_are_seen_by_their_heartbeat_idle_or_busy_and_when_they_go_silent(
    app: FastAPI, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    _troubles(db_factory)  # an AI job held by host-a:4242:ab12cd/ai
    with session_scope(db_factory) as db:
        db.add(  # a transcode worker that stopped beating two minutes ago (killed)
            WorkerHeartbeat(
                worker_id="host-b:77:ffffff",
                queue="transcode",
                started_at=utcnow() - timedelta(hours=1),
                last_seen_at=utcnow() - timedelta(minutes=2),
            )
        )
    headers, _ = signed_in(db_factory, settings, role=Role.admin, name="Ops")
    beating = [
        Heartbeat(sessions=db_factory, worker_id="host-a:4242:ab12cd/ai", queue="ai"),
        Heartbeat(sessions=db_factory, worker_id="host-c:9:000001", queue="transcode"),
    ]
    with TestClient(app, client=("127.0.0.1", 50_000)) as client:
        for heartbeat in beating:
            heartbeat.start()
        try:
            workers = {
                w["worker_id"]: (w["queue"], w["alive"], w["job_id"])
                for w in client.get("/api/admin/status", headers=headers).json()["workers"]
            }
            metrics = client.get("/metrics").text
        finally:
            for heartbeat in beating:
                heartbeat.stop()
        with session_scope(db_factory) as db:
            held = db.scalar(select(AIJob.id).where(AIJob.state == AIJobState.running))
        assert workers == {
            "host-a:4242:ab12cd/ai": ("ai", True, held),
            "host-b:77:ffffff": ("transcode", False, None),
            "host-c:9:000001": ("transcode", True, None),
        }
        assert 'microdrama_workers_alive{queue="transcode"} 1.0' in metrics
        # A worker that stops takes its row with it.
        after = client.get("/api/admin/status", headers=headers).json()["workers"]
        assert [w["worker_id"] for w in after] == ["host-b:77:ffffff"]
