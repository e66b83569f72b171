"""Idempotency keys for money-moving requests: a replay returns the stored answer.

The record is written in the same database transaction as the effect, so either both exist or
neither does. A concurrent request with the same key waits on the record's primary key (row
lock on PostgreSQL, the single writer on SQLite) and then replays the first answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi import Request, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from microdrama.db import utcnow
from microdrama.errors import Conflict, DomainError
from microdrama.wallet.models import IdempotencyRecord
from microdrama.wallet.service import run_money_transaction

HEADER = "Idempotency-Key"
Outcome = tuple[int, dict[str, Any]]


class IdempotencyKeyRequired(DomainError):
    status_code = 400
    code = "idempotency_key_required"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


def fingerprint(*, method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same": method, path and the JSON body, canonicalised."""
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = body.decode("utf-8", "replace")
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def require_key(request: Request) -> str:
    """The request's Idempotency-Key header, validated."""
    key = request.headers.get(HEADER, "").strip()
    if not key:
        raise IdempotencyKeyRequired(
            f"Send an {HEADER} header (a random string, new for each intended payment)."
        )
    if len(key) > 255 or not key.isprintable():
        raise IdempotencyKeyRequired(f"The {HEADER} must be 1 to 255 printable characters.")
    return key


def run_idempotent(
    *,
    factory: sessionmaker[Session],
    account_id: int,
    key: str,
    request_hash: str,
    keep_hours: int,
    effect: Callable[[Session], Outcome],
) -> tuple[Outcome, bool]:
    """Apply effect once per (account, key); returns the answer and whether it was a replay."""

    def attempt(db: Session) -> tuple[Outcome, bool]:
        record = db.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.account_id == account_id, IdempotencyRecord.key == key
            )
        )
        if record is not None and record.created_at < utcnow() - timedelta(hours=keep_hours):
            db.delete(record)
            db.flush()
            record = None
        if record is not None:
            if record.request_hash != request_hash:
                raise IdempotencyConflict(
                    "This Idempotency-Key was already used for a different request.", key=key
                )
            return (record.status_code, dict(record.response)), True
        record = IdempotencyRecord(account_id=account_id, key=key, request_hash=request_hash)
        db.add(record)
        db.flush()  # a concurrent twin blocks here until we commit, then fails and replays
        try:
            with db.begin_nested():
                status, body = effect(db)
        except DomainError as exc:
            # A refused request is an answer too: replaying it must not charge later.
            status, body = exc.status_code, exc.as_json()
        record.status_code, record.response = status, body
        db.flush()
        return (status, body), False

    for _ in range(3):
        try:
            return run_money_transaction(factory, attempt)
        except IntegrityError:
            continue  # the twin committed first: go round again and replay its answer
    return run_money_transaction(factory, attempt)


def respond(outcome: Outcome, replayed: bool, response: Response) -> dict[str, Any]:
    """Shape the route's answer on FastAPI's response (which also carries any new cookies)."""
    status, body = outcome
    response.status_code = status
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return body


def purge_expired(*, db: Session, keep_hours: int) -> int:
    """Forget keys older than the retention window."""
    old = db.scalars(
        select(IdempotencyRecord).where(
            IdempotencyRecord.created_at < utcnow() - timedelta(hours=keep_hours)
        )
    ).all()
    for record in old:
        db.delete(record)
    return len(old)
