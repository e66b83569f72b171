"""Errors a person can hit while signing up, signing in or using a signed-in session."""

from __future__ import annotations

from microdrama.errors import DomainError


class SignInRequired(DomainError):
    status_code = 401
    code = "sign_in_required"


class InvalidCredentials(DomainError):
    status_code = 401
    code = "invalid_credentials"


class EmailTaken(DomainError):
    status_code = 409
    code = "email_taken"


class AlreadySignedIn(DomainError):
    status_code = 409
    code = "already_signed_in"


class TooManyAttempts(DomainError):
    """Sign-ins refused for a while; `retry_after_seconds` also goes out as Retry-After."""

    status_code = 429
    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message, retry_after_seconds=retry_after_seconds)
        self.retry_after_seconds = retry_after_seconds


class CsrfFailed(DomainError):
    status_code = 403
    code = "csrf_failed"


class ApplicationPending(DomainError):
    """A second brand application while one waits for an operator."""

    status_code = 409
    code = "application_pending"


class AlreadyBrand(DomainError):
    status_code = 409
    code = "already_brand"


class ApplicationDecided(DomainError):
    """Approving or refusing an application an operator has already decided."""

    status_code = 409
    code = "application_decided"
