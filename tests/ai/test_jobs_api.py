"""The AI jobs API: a creator follows their own job (JSON, Server-Sent Events), cancels it, and is
told clearly when they start too many."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.deps import CurrentAccount
from microdrama.accounts.models import Role
from microdrama.ai import jobs
from microdrama.ai.models import AIJobKind
from microdrama.config import AppSettings, Settings
from microdrama.db import DbSession, session_scope
from microdrama.storage import LocalStorage
from tests.ai.job_handlers import HERE
from tests.support.accounts import signed_in


def _enqueue(
    factory: sessionmaker[Session], settings: Settings, owner_id: int, **payload: Any
) -> int:
    with session_scope(factory) as db:
        job = jobs.enqueue(
            db,
            settings=settings,
            kind=AIJobKind.captions,
            owner_id=owner_id,
            payload=payload,
            subject="episode:7",
        )
        return job.id


@pytest.fixture
def starting_app(app: FastAPI) -> FastAPI:
    """The app with a route that starts an AI job, as the writers' room and captions do."""

    def start(db: DbSession, account: CurrentAccount, settings: AppSettings) -> dict[str, int]:
        job = jobs.enqueue(
            db, settings=settings, kind="captions", owner_id=account.id, payload={}, subject="x:1"
        )
        return {"id": job.id}

    app.add_api_route("/api/test/ai-jobs", start, methods=["POST"], status_code=201)
    return app


def test_too_many_jobs_at_once_is_a_429_that_says_what_to_do(
    starting_app: FastAPI, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    headers, _ = signed_in(db_factory, settings, role=Role.creator, name="Ana")
    with TestClient(starting_app) as client:
        first = client.post("/api/test/ai-jobs", headers=headers)
        second = client.post("/api/test/ai-jobs", headers=headers)
        third = client.post("/api/test/ai-jobs", headers=headers)
        assert (first.status_code, second.status_code) == (201, 201)
        assert third.status_code == 429
        assert third.json()["error"] == "ai_jobs_limited"
        assert third.json()["message"] == (
            "You already have 2 AI jobs in progress. "
            "Wait for one to finish or cancel it, then try again."
        )
        assert int(third.headers["Retry-After"]) > 0

        # Cancelling one makes room for the next.
        cancel = client.post(f"/api/studio/ai-jobs/{first.json()['id']}/cancel", headers=headers)
        assert cancel.status_code == 200 and cancel.json()["state"] == "cancelled"
        assert client.post("/api/test/ai-jobs", headers=headers).status_code == 201


def test_the_hourly_limit_says_when_to_come_back(
    db_factory: sessionmaker[Session], settings: Settings
) -> None:
    settings = settings.model_copy(update={"ai_jobs_per_hour": 3, "ai_jobs_at_once": 10})
    _, owner_id = signed_in(db_factory, settings, role=Role.creator, name="Ana")
    _, other_id = signed_in(db_factory, settings, role=Role.creator, name="Bo")
    for _ in range(3):
        _enqueue(db_factory, settings, owner_id)

    with pytest.raises(jobs.AIJobsLimited) as refused:
        _enqueue(db_factory, settings, owner_id)

    assert refused.value.status_code == 429
    assert refused.value.message == (
        "You have started 3 AI jobs in the last hour, the most allowed. Try again in 60 minutes."
    )
    assert 3500 < refused.value.retry_after_seconds <= 3600
    _enqueue(db_factory, settings, other_id)  # another creator is not held back


def test_only_the_owner_sees_or_cancels_a_job(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    ana, ana_id = signed_in(db_factory, settings, role=Role.creator, name="Ana")
    bo, _ = signed_in(db_factory, settings, role=Role.creator, name="Bo")
    job_id = _enqueue(db_factory, settings, ana_id)

    mine = client.get(f"/api/studio/ai-jobs/{job_id}", headers=ana)
    assert mine.status_code == 200
    assert mine.json() | {"created_at": None} == {
        "id": job_id,
        "kind": "captions",
        "subject": "episode:7",
        "state": "queued",
        "progress": 0.0,
        "message": "Waiting for the AI worker…",
        "result": None,
        "error": None,
        "cancel_requested": False,
        "final": False,
        "created_at": None,
        "started_at": None,
        "finished_at": None,
    }
    listed = client.get("/api/studio/ai-jobs", params={"subject": "episode:7"}, headers=ana)
    assert [j["id"] for j in listed.json()] == [job_id]

    for method, path in [
        ("GET", f"/api/studio/ai-jobs/{job_id}"),
        ("GET", f"/api/studio/ai-jobs/{job_id}/events"),
        ("POST", f"/api/studio/ai-jobs/{job_id}/cancel"),
    ]:
        answer = client.request(method, path, headers=bo)
        assert answer.status_code == 404, path
        assert answer.json()["message"] == "There is no such AI job."
        assert client.request(method, path).status_code == 401  # a guest
    assert (
        client.get("/api/studio/ai-jobs", params={"subject": "episode:7"}, headers=bo).json() == []
    )
    assert client.get("/api/studio/ai-jobs/0", headers=ana).status_code == 404
    assert client.get("/api/studio/ai-jobs", headers=ana).status_code == 422
    assert client.get(f"/api/studio/ai-jobs/{job_id}", headers=ana).json()["state"] == "queued"


def test_a_finished_job_cannot_be_cancelled(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    ana, ana_id = signed_in(db_factory, settings, role=Role.creator, name="Ana")
    job_id = _enqueue(db_factory, settings, ana_id, steps=1)
    storage = LocalStorage(settings.media_dir, settings.media_url_prefix)
    jobs.run_job_here(
        job_id=job_id, sessions=db_factory, settings=settings, storage=storage,
        handler=f"{HERE}:steps",
    )  # fmt: skip

    answer = client.post(f"/api/studio/ai-jobs/{job_id}/cancel", headers=ana)

    assert answer.status_code == 409
    assert answer.json()["message"] == "This job has already finished."


def _events(body: str) -> list[dict[str, Any]]:
    found = []
    for block in body.split("\n\n"):
        lines = block.splitlines()
        if "event: job" in lines:
            data = next(line for line in lines if line.startswith("data: "))
            found.append(json.loads(data.removeprefix("data: ")))
    return found


def test_the_event_stream_sends_progress_until_the_job_ends(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    ana, ana_id = signed_in(db_factory, settings, role=Role.creator, name="Ana")
    job_id = _enqueue(db_factory, settings, ana_id, steps=4, sleep=0.6)
    storage = LocalStorage(settings.media_dir, settings.media_url_prefix)
    runner = threading.Thread(
        target=jobs.run_job_here,
        kwargs={
            "job_id": job_id,
            "sessions": db_factory,
            "settings": settings,
            "storage": storage,
            "handler": f"{HERE}:steps",
        },
    )
    chunks: list[str] = []
    try:
        with client.stream("GET", f"/api/studio/ai-jobs/{job_id}/events", headers=ana) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            for chunk in stream.iter_text():
                chunks.append(chunk)
                # The job starts once the page listens (on a busy machine the stream used to
                # connect after half the steps were done, and saw two of them).
                if not runner.is_alive() and runner.ident is None:
                    runner.start()
    finally:
        if runner.ident is not None:
            runner.join()
    body = "".join(chunks)

    events = _events(body)
    assert body.startswith("retry: ")
    running = [e for e in events if e["state"] == "running"]
    assert len({e["progress"] for e in running}) >= 3, events  # the bar moves
    assert [e["progress"] for e in running] == sorted(e["progress"] for e in running)
    assert any(e["message"].startswith("Step ") for e in running)
    last = events[-1]
    assert (last["state"], last["final"], last["progress"]) == ("done", True, 1.0)
    assert last["result"]["steps"] == 4
