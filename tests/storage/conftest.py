"""Fixtures for object storage: an S3 API server for the module, a bucket and an app per test."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from microdrama.config import Settings
from microdrama.media import jobs
from microdrama.storage import Storage
from tests.support.media import RunJob
from tests.support.s3 import S3Server, s3_server


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    """moto's S3 API server on a loopback port (restarted if a test stopped it)."""
    with s3_server() as server:
        yield server


@pytest.fixture
def bucket(s3: S3Server) -> Iterator[str]:
    yield s3.new_bucket()
    if s3._server is None:  # a test stopped the store and failed before starting it again
        s3.start()


@pytest.fixture
def settings(settings: Settings, s3: S3Server, bucket: str) -> Settings:
    """The test instance's settings with its media in the bucket, under media/; one rung."""
    return settings.model_copy(update={**s3.settings(bucket), "ladder_heights": [320]})


@pytest.fixture
def storage(app: FastAPI) -> Storage:
    storage: Storage = app.state.storage
    return storage


@pytest.fixture
def run_job(db_factory: sessionmaker[Session], storage: Storage, settings: Settings) -> RunJob:
    """Process the next claimable job in this thread, as a worker would."""

    def run(**kwargs: Any) -> bool:
        worker = jobs.Worker(sessions=db_factory, storage=storage, settings=settings)
        return worker.run_next_job(worker_id="s3-test-worker", stop=threading.Event(), **kwargs)

    return run
