"""Errors users can hit: typed exceptions that become clear JSON answers, never a 500."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from microdrama.validation_messages import describe, summarize

log = logging.getLogger(__name__)


class ErrorProblem(BaseModel):
    """One thing wrong with a request, to be shown next to its field."""

    field: str | None = Field(
        description='Dotted path of the field in the request ("title", "items.0.quantity"); '
        "null when the request as a whole is wrong (not JSON, not an object).",
    )
    code: str = Field(
        description="Stable machine code: required, too_short, too_long, too_small, too_large, "
        "not_a_number, wrong_type, bad_format, not_allowed, unknown_field, invalid_json, "
        "invalid, or a domain-specific code (invalid_email, duplicate_sku...).",
    )
    message: str = Field(description='A plain sentence for people: "Title can\'t be empty."')


class ErrorResponse(BaseModel):
    """Every refused request answers this shape (4xx): `error` is a stable code, `message` a
    sentence for people, `problems` says which fields to fix. Some errors add details (for
    example `price_coins` and `balance_coins` with `insufficient_coins`)."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="Stable code: invalid_request, not_found, episode_locked...")
    message: str = Field(description="A short sentence for people, safe to show as it is.")
    problems: list[ErrorProblem] = Field(
        default_factory=list,
        description="Per-field problems (invalid_request, and domain errors about one field).",
    )


class DomainError(Exception):
    """Base of every error a user can cause; `code` is stable, `message` is for people."""

    status_code = 400
    code = "bad_request"

    def __init_subclass__(cls, *, code: str | None = None, status_code: int | None = None) -> None:
        # A subclass says what it is in its header: `class Gone(DomainError, code="gone",
        # status_code=410): ...`; omitted values are inherited.
        super().__init_subclass__()
        if code is not None:
            cls.code = code
        if status_code is not None:
            cls.status_code = status_code

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def as_json(self) -> dict[str, Any]:
        answer = {"error": self.code, "message": self.message, **self.details}
        field = self.details.get("field")
        if isinstance(field, str) and field and "problems" not in self.details:
            # The same per-field shape as a validation error, so a form shows it by its field.
            answer["problems"] = [{"field": field, "code": self.code, "message": self.message}]
        return answer


class NotFound(DomainError, code="not_found", status_code=404): ...


class Forbidden(DomainError, code="forbidden", status_code=403): ...


class Conflict(DomainError, code="conflict", status_code=409): ...


class InvalidMedia(DomainError, code="invalid_media", status_code=422): ...


class PayloadTooLarge(DomainError, code="payload_too_large", status_code=413): ...


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(exc.as_json(), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error_answer(exc)

    @app.exception_handler(HTTPException)
    async def _http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return http_error_answer(exc)

    @app.exception_handler(DBAPIError)
    async def _database_error(_request: Request, exc: DBAPIError) -> JSONResponse:
        if not database_unavailable(exc):
            raise exc  # a defect (a constraint, bad SQL): the server error it is
        log.warning("database unavailable: %s", exc.orig)
        return database_unavailable_answer()

    @app.exception_handler(PoolTimeout)
    @app.exception_handler(DisconnectionError)
    async def _no_connection(_request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", exc)
        return database_unavailable_answer()

    install_error_schema(app)


# Starlette's own refusals (an unknown address, a wrong method, a body that is not JSON) in
# the same shape as ours, with words for people instead of "Not Found".
_HTTP_ERRORS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "The request could not be read: send valid JSON."),
    404: ("not_found", "There is nothing at this address."),
    405: ("method_not_allowed", "This address does not accept that kind of request."),
    413: ("payload_too_large", "The request is too large."),
    415: ("unsupported_media_type", "Send the request as JSON."),
}


def validation_error_answer(exc: RequestValidationError) -> JSONResponse:
    """The 422 ErrorResponse for a request that failed validation, a plain message a field."""
    problems = [describe(err) for err in exc.errors()]
    answer = ErrorResponse(
        error="invalid_request",
        message=summarize(problems),
        problems=[ErrorProblem(**p._asdict()) for p in problems],
    )
    return JSONResponse(answer.model_dump(), status_code=422)


def http_error_answer(exc: HTTPException) -> JSONResponse:
    """The ErrorResponse for one of Starlette's HTTPExceptions (its headers kept)."""
    code, message = _HTTP_ERRORS.get(exc.status_code, ("http_error", "The request was refused."))
    answer = ErrorResponse(error=code, message=message)
    return JSONResponse(answer.model_dump(), status_code=exc.status_code, headers=exc.headers)


def database_unavailable(exc: DBAPIError) -> bool:
    """Whether a database error says the database is out of reach for now rather than that
    the request or the code is wrong: a lost connection (a restart, a failover, an operator's
    pg_terminate_backend, a network cut), an OperationalError of the server (shutting down, out
    of connections, a statement cancelled, a deadlock retried to the end; SQLite locked or its
    disk full). The pool replaces the lost connections, so the next request goes through."""
    return exc.connection_invalidated or isinstance(exc, OperationalError)


def database_unavailable_answer() -> JSONResponse:
    """503 database_unavailable, with Retry-After: what a request gets while the database is
    out of reach (never a 500, never a hang)."""
    answer = ErrorResponse(
        error="database_unavailable",
        message="The service can't reach its database right now; try again in a moment.",
    )
    return JSONResponse(answer.model_dump(), status_code=503, headers={"Retry-After": "1"})


_REF = "#/components/schemas/"
_REFUSED = "Refused: the answer says why (`error`, `message`) and which fields (`problems`)."


def install_error_schema(app: FastAPI) -> None:
    """Document ErrorResponse as every operation's 422 and 4XX answer in /openapi.json,
    instead of FastAPI's default HTTPValidationError (a shape this API never sends)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            openapi_version=app.openapi_version,
            description=app.description,
            routes=app.routes,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        model_schema = ErrorResponse.model_json_schema(ref_template=_REF + "{model}")
        components.update(model_schema.pop("$defs", {}))
        components["ErrorResponse"] = model_schema
        answer = {"content": {"application/json": {"schema": {"$ref": _REF + "ErrorResponse"}}}}
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                responses = operation.setdefault("responses", {})
                responses["422"] = {"description": "Validation error: " + _REFUSED, **answer}
                responses.setdefault("4XX", {"description": _REFUSED, **answer})
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
