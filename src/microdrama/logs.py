"""Logs of every process (web, workers, an AI job's process): structlog lines, JSON for log
collectors or readable on a terminal, each carrying the id of the request that caused it.

The request id lives in a context variable: the web app sets it for each request
(ops/http.py), a job row takes it when the request queues the job (the `request_id` columns'
default), and a worker binds the job's id while it works on the job, so the worker's lines
name the request that started the job. Lines of the standard `logging` module (the workers'
`log.info(...)`) go through the same renderer.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any, Literal, TextIO

import structlog

from microdrama.config import Settings

LogFormat = Literal["json", "console"]

_REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
# What an incoming X-Request-ID may be to be kept (a proxy's or a client's id): short, and
# nothing that could forge a log line or a header.
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
REQUEST_ID_MAX_LENGTH = 64


def current_request_id() -> str | None:
    """The id of the request (or of the job's request) this code runs for, if any."""
    return _REQUEST_ID.get()


def request_id_from(header: str | None) -> str:
    """The incoming X-Request-ID when it is well-formed, else a new id."""
    if header is not None and _WELL_FORMED.fullmatch(header):
        return header
    return os.urandom(16).hex()  # as random as uuid4, a third of its cost


def set_request_id(request_id: str | None) -> Token[str | None]:
    return _REQUEST_ID.set(request_id)


def reset_request_id(token: Token[str | None]) -> None:
    _REQUEST_ID.reset(token)


@contextmanager
def bound_request_id(request_id: str | None) -> Iterator[None]:
    """Log (and queue jobs) under this request id for the duration of the block."""
    token = _REQUEST_ID.set(request_id)
    try:
        yield
    finally:
        _REQUEST_ID.reset(token)


def _add_request_id(
    _logger: object, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    request_id = _REQUEST_ID.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


def log_format(settings: Settings) -> LogFormat:
    """JSON when asked (MICRODRAMA_LOG_FORMAT=json) or in production; readable otherwise."""
    if settings.log_format is not None:
        return settings.log_format
    return "json" if settings.environment == "production" else "console"


def access_log_enabled(settings: Settings) -> bool:
    """A line per request: on with JSON logs, off on a developer's terminal unless asked."""
    if settings.access_log is not None:
        return settings.access_log
    return log_format(settings) == "json"


class _OurHandler(logging.StreamHandler[TextIO]):
    """The root handler configure_logging installs (and replaces when called again)."""


def configure_logging(
    settings: Settings, *, stream: TextIO | None = None, level: int | str | None = None
) -> None:
    """Send structlog's lines and the standard library's to `stream` (stderr) in the
    configured format, at `level` (settings.log_level)."""
    stream = stream or sys.stderr
    chosen = level if level is not None else settings.log_level.upper()
    numeric = chosen if isinstance(chosen, int) else logging.getLevelName(chosen)
    if not isinstance(numeric, int):
        numeric = logging.INFO
    json_lines = log_format(settings) == "json"
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    shared: list[structlog.typing.Processor] = [
        _add_request_id,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    tracebacks: list[structlog.typing.Processor] = (
        [structlog.processors.format_exc_info] if json_lines else []
    )
    structlog.configure(
        processors=[*shared, *tracebacks, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.WriteLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    handler = _OurHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *tracebacks,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)


def get_logger(name: str) -> Any:
    """A structlog logger bound now to the current configuration (cheap to call on it)."""
    return structlog.get_logger(name).bind(logger=name)
