"""Errors a person can hit while signing up, signing in or using a signed-in session."""

from __future__ import annotations

from microdrama.errors import DomainError


class SignInRequired(DomainError, code="sign_in_required", status_code=401): ...


class InvalidCredentials(DomainError, code="invalid_credentials", status_code=401): ...


class EmailTaken(DomainError, code="email_taken", status_code=409): ...


class AlreadySignedIn(DomainError, code="already_signed_in", status_code=409): ...


class TooManyAttempts(DomainError):
    """Sign-ins refused for a while; `retry_after_seconds` also goes out as Retry-After."""

    status_code = 429
    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message, retry_after_seconds=retry_after_seconds)
        self.retry_after_seconds = retry_after_seconds


class CsrfFailed(DomainError, code="csrf_failed", status_code=403): ...


class ApplicationPending(DomainError):
    """A second brand application while one waits for an operator."""

    status_code = 409
    code = "application_pending"


class AlreadyBrand(DomainError, code="already_brand", status_code=409): ...


class ApplicationDecided(DomainError):
    """Approving or refusing an application an operator has already decided."""

    status_code = 409
    code = "application_decided"
