"""Fixtures for studio tests: a worker that processes the next transcode job here."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from microdrama.config import Settings
from microdrama.media import jobs
from tests.support.media import RunJob


@pytest.fixture
def run_job(db_factory: sessionmaker[Session], app: FastAPI, settings: Settings) -> RunJob:
    """Process the next queued job in this thread, as a worker would."""

    def run(**kwargs: Any) -> bool:
        worker = jobs.Worker(sessions=db_factory, storage=app.state.storage, settings=settings)
        return worker.run_next_job(
            worker_id="studio-test-worker",
            stop=threading.Event(),
            **kwargs,
        )

    return run
