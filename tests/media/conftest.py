"""Fixtures for the media pipeline: the app's storage, a creator with a series, a worker."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.config import Settings
from microdrama.media import jobs
from microdrama.storage import LocalStorage
from tests.support.media import RunJob
from tests.support.studio import open_studio


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The media pipeline's tests transcode a three-rung ladder (the other tests one rung)."""
    settings.ladder_heights = [640, 426, 320]
    return settings


@pytest.fixture
def storage(app: FastAPI) -> LocalStorage:
    """The storage the app serves from (its folder is inside the test's data dir)."""
    storage: LocalStorage = app.state.storage
    return storage


@pytest.fixture
def series_id(client: TestClient) -> int:
    """A draft series owned by the test client, signed up as a creator."""
    open_studio(client, email="media-creator@example.com")
    response = client.post("/api/studio/series", json={"title": "Midnight Contract"})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


@pytest.fixture
def run_job(db_factory: sessionmaker[Session], storage: LocalStorage, settings: Settings) -> RunJob:
    """Process the next queued job in this thread, as a worker would."""

    def run(**kwargs: Any) -> bool:
        on_progress = kwargs.pop("on_progress", None)
        worker = jobs.Worker(
            sessions=db_factory, storage=storage, settings=settings, on_progress=on_progress
        )
        return worker.run_next_job(
            worker_id=kwargs.pop("worker_id", "test-worker"),
            stop=kwargs.pop("stop", threading.Event()),
            **kwargs,
        )

    return run
