"""Fixtures for the operations tests: a client on the loopback (where /metrics answers), and
JSON logs captured in memory."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
import structlog
from fastapi import FastAPI
from fastapi.testclient import TestClient

from microdrama.config import Settings
from microdrama.logs import configure_logging


@pytest.fixture
def local_client(app: FastAPI) -> Iterator[TestClient]:
    """A client connecting from 127.0.0.1, as Prometheus on the same machine does."""
    with TestClient(app, client=("127.0.0.1", 50_000)) as client:
        yield client


@pytest.fixture
def json_log(settings: Settings) -> Iterator[io.StringIO]:
    """Every log line (structlog's and the logging module's) as JSON, into a buffer; the
    logging set-up is put back afterwards."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    buffer = io.StringIO()
    configure_logging(settings.model_copy(update={"log_format": "json"}), stream=buffer)
    yield buffer
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    structlog.reset_defaults()
