"""Idempotency keys for money-moving requests: a replay returns the stored answer.

The record is written in the same database transaction as the effect, so either both exist or
neither does. A concurrent request with the same key waits on the record's primary key (row
lock on PostgreSQL, the single writer on SQLite) and then replays the first answer.

Effects that only write to this database may claim their key *last* (`claim_first=False`):
the record goes in with the answer, one statement instead of a claim and an answer; when the
key turns out to be taken (a twin committed first, a replay, a reused key) the transaction is
rolled back, effect included, and the request goes round again claiming first.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, partial
from typing import Annotated, Any, cast

from fastapi import Depends, Request, Response
from pydantic import BaseModel
from sqlalchemy import (
    JSON,
    CursorResult,
    ForeignKey,
    String,
    Table,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from microdrama.config import AppSettings, Settings
from microdrama.db import (
    Base,
    DbSession,
    SessionFactory,
    UTCDateTime,
    dialect_insert,
    run_money_transaction,
    utcnow,
)
from microdrama.errors import Conflict, DomainError


class IdempotencyRecord(Base):
    """The stored answer to a money-moving request, replayed for the same key and body."""

    __tablename__ = "idempotency_records"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    # SHA-256 of method, path and body: the same key with another request is a 409.
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(default=0)
    response: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


HEADER = "Idempotency-Key"
Outcome = tuple[int, dict[str, Any]]


class IdempotencyKeyRequired(DomainError, code="idempotency_key_required", status_code=400): ...


class IdempotencyConflict(Conflict, code="idempotency_conflict"): ...


def fingerprint(*, method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same": method, path (with its query) and the JSON body,
    canonicalised."""
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":"))
    except (ValueError, RecursionError):  # not JSON, or nested too deep to canonicalise
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


_records = cast(Table, IdempotencyRecord.__table__)
_STORED = select(
    _records.c.request_hash, _records.c.status_code, _records.c.response, _records.c.created_at
).where(_records.c.account_id == bindparam("account_id"), _records.c.key == bindparam("key"))


_DELETE = delete(_records).where(
    _records.c.account_id == bindparam("record_account"), _records.c.key == bindparam("record_key")
)
_INSERT = insert(_records)
_ANSWER = (
    update(_records)
    .where(
        _records.c.account_id == bindparam("record_account"),
        _records.c.key == bindparam("record_key"),
    )
    .values(status_code=bindparam("status"), response=bindparam("body"))
)


@cache
def _claim(dialect: str) -> Any:
    """INSERT of the record that does nothing when the key exists (or waits for its twin)."""
    return (
        dialect_insert(dialect, _records).on_conflict_do_nothing().returning(_records.c.account_id)
    )


class _Refused(Exception):
    """The effect answered with a DomainError: its writes are rolled back, the answer kept."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome)
        self.outcome = outcome


def run_idempotent(
    *,
    factory: sessionmaker[Session],
    account_id: int,
    key: str,
    request_hash: str,
    keep_hours: int,
    effect: Callable[[Session], Outcome],
    claim_first: bool = True,
) -> tuple[Outcome, bool]:
    """Apply effect once per (account, key); returns the answer and whether it was a replay.

    Two statements around the effect: INSERT ... ON CONFLICT DO NOTHING of the record (a
    concurrent twin waits on it until we commit, then replays), UPDATE of its answer. A
    refusal (DomainError) rolls the whole transaction back and is stored by a second one.

    `claim_first=False`, for effects that write nothing outside this database and lock what
    they decide on (a twin then waits on those locks instead of the key): one statement after
    the effect, INSERT ... ON CONFLICT DO NOTHING of the record with its answer. Nothing
    inserted means the key was taken: everything is rolled back and the request goes round
    again claiming first (replay, 409 for another body, or a key past retention)."""
    return run_idempotent_as(
        factory=factory,
        who=lambda _db: account_id,
        key=key,
        request_hash=request_hash,
        keep_hours=keep_hours,
        effect=lambda db, _account_id: effect(db),
        claim_first=claim_first,
    )


def run_idempotent_as(
    *,
    factory: sessionmaker[Session],
    who: Callable[[Session], int],
    key: str,
    request_hash: str,
    keep_hours: int,
    effect: Callable[[Session, int], Outcome],
    claim_first: bool = True,
) -> tuple[Outcome, bool]:
    """`run_idempotent` for a caller found in each attempt's own transaction: `who(db)` comes
    first and answers the account the key belongs to, which the effect is given too. It may
    write (a guest's first visit): what it writes commits or rolls back with the attempt, and
    a refusal's own transaction asks again. One transaction instead of the request's session
    and then the money's (docs/performance.md)."""

    def attempt_claiming_last(db: Session) -> tuple[Outcome, bool]:
        conn = db.connection()
        account_id = who(db)
        key_of = {"account_id": account_id, "key": key}
        try:
            status, body = effect(db, account_id)
        except DomainError as exc:
            raise _Refused((exc.status_code, exc.as_json())) from exc
        db.flush()
        record = {**key_of, "request_hash": request_hash, "status_code": status, "response": body}
        stored = conn.execute(_claim(conn.dialect.name), {**record, "created_at": utcnow()})
        if stored.first() is None:
            raise _Taken
        return (status, body), False

    def attempt(db: Session, *, refusal: Outcome | None) -> tuple[Outcome, bool]:
        conn = db.connection()
        account_id = who(db)
        key_of = {"account_id": account_id, "key": key}
        status, body = refusal if refusal is not None else (0, {})
        record = {**key_of, "request_hash": request_hash, "status_code": status, "response": body}
        claimed = conn.execute(_claim(conn.dialect.name), {**record, "created_at": utcnow()})
        if claimed.first() is None:
            stored = conn.execute(_STORED, key_of).first()
            if stored is None:
                raise _Vanished  # purged between the two statements: try again
            if stored.created_at >= utcnow() - timedelta(hours=keep_hours):
                if stored.request_hash != request_hash:
                    raise IdempotencyConflict(
                        "This Idempotency-Key was already used for a different request.", key=key
                    )
                return (stored.status_code, dict(stored.response)), True
            # Past retention: the key is free again.
            conn.execute(_DELETE, {"record_account": account_id, "record_key": key})
            conn.execute(_INSERT, {**record, "created_at": utcnow()})
        if refusal is not None:
            return refusal, False
        try:
            status, body = effect(db, account_id)
        except DomainError as exc:
            # A refused request is an answer too: replaying it must not charge later.
            raise _Refused((exc.status_code, exc.as_json())) from exc
        db.flush()
        conn.execute(
            _ANSWER,
            {"record_account": account_id, "record_key": key, "status": status, "body": body},
        )
        return (status, body), False

    refusal: Outcome | None = None
    for tries_left in reversed(range(5)):
        try:
            if not claim_first and refusal is None:
                return run_money_transaction(factory, attempt_claiming_last)
            return run_money_transaction(factory, partial(attempt, refusal=refusal))
        except (IntegrityError, _Vanished):
            if not tries_left:
                raise
            # the twin committed first: go round again and replay its answer
        except _Taken:
            claim_first = True  # rolled back: now find out what holds the key
        except _Refused as refused:
            refusal = refused.outcome
    raise AssertionError("unreachable")


class _Vanished(Exception):
    """The conflicting record was deleted before it could be read."""


class _Taken(Exception):
    """Claiming last, the key was found taken: the effect is rolled back."""


def respond(outcome: Outcome, replayed: bool, response: Response) -> dict[str, Any]:
    """Shape the route's answer on FastAPI's response (which also carries any new cookies)."""
    status, body = outcome
    response.status_code = status
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return body


def purge_expired(*, db: Session, keep_hours: int) -> int:
    """Forget keys older than the retention window (one DELETE)."""
    result = db.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.created_at < utcnow() - timedelta(hours=keep_hours)
        )
    )
    return cast(CursorResult[Any], result).rowcount


@dataclass(frozen=True)
class MoneyAction:
    """A money-moving request, ready to run once per Idempotency-Key: the route hands `run`
    the account and the effect, and answers what `run` returns."""

    request_db: Session | None  # None: the route uses no session but the money transaction's
    factory: sessionmaker[Session]
    response: Response
    key: str
    request_hash: str
    keep_hours: int

    def run(
        self,
        account_id: int,
        effect: Callable[[Session], Outcome],
        *,
        claim_first: bool = True,
    ) -> dict[str, Any]:
        """Apply the effect in the money transaction's own session, or replay the stored
        answer; sets the status (and Idempotent-Replayed) on the response."""
        # What the request wrote first (a new guest viewer, expired reservations released) is
        # committed, so the money session sees it and SQLite's single writer is free.
        if self.request_db is not None:
            self.request_db.commit()
        return self.run_as(
            lambda _db: account_id, lambda db, _account_id: effect(db), claim_first=claim_first
        )

    def run_as(
        self,
        who: Callable[[Session], int],
        effect: Callable[[Session, int], Outcome],
        *,
        claim_first: bool = True,
    ) -> dict[str, Any]:
        """`run` for a route that finds who is asking inside the money transaction itself
        (`who(db)`, see `run_idempotent_as`): the request's own session is never used."""
        outcome, replayed = run_idempotent_as(
            factory=self.factory,
            who=who,
            key=self.key,
            request_hash=self.request_hash,
            keep_hours=self.keep_hours,
            effect=effect,
            claim_first=claim_first,
        )
        return respond(outcome, replayed, self.response)


async def money_action(
    request: Request,
    response: Response,
    db: DbSession,
    factory: SessionFactory,
    settings: AppSettings,
) -> MoneyAction:
    """The dependency of every money-moving route: the validated Idempotency-Key and the
    fingerprint of the raw request (method, path and query, body)."""
    return await _money_action(request, response, db, factory, settings)


async def money_action_alone(
    request: Request, response: Response, factory: SessionFactory, settings: AppSettings
) -> MoneyAction:
    """`money_action` for a route whose only session is the money transaction's (`run_as`
    finds who is asking in it): no request session is made nor ended."""
    return await _money_action(request, response, None, factory, settings)


async def _money_action(
    request: Request,
    response: Response,
    db: Session | None,
    factory: sessionmaker[Session],
    settings: Settings,
) -> MoneyAction:
    key = require_key(request)
    url = request.url
    target = url.path + (f"?{url.query}" if url.query else "")
    return MoneyAction(
        request_db=db,
        factory=factory,
        response=response,
        key=key,
        request_hash=fingerprint(method=request.method, path=target, body=await request.body()),
        keep_hours=settings.idempotency_keep_hours,
    )


def answers(model: type[BaseModel], status: int = 200, *more: int) -> dict[str, Any]:
    """The decorator arguments of a money route: `@router.post(path, **answers(Read, 201))`.
    The route answers the stored outcome (a refusal's error included), so the model documents
    the success answers without validating a replayed body against it."""
    return {
        "status_code": status,
        "response_model": None,
        "responses": {code: {"model": model} for code in (status, *more)},
    }


# Declare it after the route's account dependency, so a missing sign-in answers first.
Money = Annotated[MoneyAction, Depends(money_action)]
MoneyAlone = Annotated[MoneyAction, Depends(money_action_alone)]
