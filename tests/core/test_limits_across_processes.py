"""Two real web processes on one database (SQLite and PostgreSQL), and on PostgreSQL with Redis:
the limits a person meets are counted across both processes, whichever one a request reaches.

- sign-in: the failures allowed per (email, address) are shared; half on each process, and the
  next attempt on either is refused with 429, even with the right password;
- AI jobs: the jobs a creator may have at once are shared likewise."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from redis import Redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Role
from microdrama.config import Settings
from microdrama.rate_limits import RateLimitHit
from tests.conftest import BACKENDS
from tests.support.accounts import PASSWORD, signed_in
from tests.support.servers import running_server, server_env

REDIS_URL = "redis://127.0.0.1:6379/0"
PER_PAIR = 4
AT_ONCE = 2


# Each database with its own counters; Redis on the last one (PostgreSQL when the suite has it).
STORES = [(backend, "database") for backend in BACKENDS] + [(BACKENDS[-1], "redis")]


@pytest.fixture
def counted_in(store: str) -> Iterator[dict[str, str]]:
    """Where the servers count: their database (the default), or Redis under a key prefix of
    this test's own (its keys, and only them, deleted afterwards)."""
    if store == "database":
        yield {}
        return
    prefix = f"microdrama-test-{uuid.uuid4().hex[:12]}:"
    yield {"MICRODRAMA_REDIS_URL": REDIS_URL, "MICRODRAMA_REDIS_KEY_PREFIX": prefix}
    client = Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def two_processes(
    database_url: str, engine: object, tmp_path: Path, counted_in: dict[str, str]
) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """Two uvicorn processes on the test's database, started side by side."""
    env = server_env(
        database_url=database_url,
        data_dir=tmp_path / "data",
        MICRODRAMA_EMBEDDED_AI_WORKER="false",
        MICRODRAMA_LOGIN_MAX_FAILURES_PER_PAIR=str(PER_PAIR),
        MICRODRAMA_AI_JOBS_AT_ONCE=str(AT_ONCE),
        **counted_in,
    )
    servers = [running_server(env, tmp_path / f"web-{n}.log") for n in (1, 2)]
    with ExitStack() as stack:
        with ThreadPoolExecutor(2) as pool:
            starting = [pool.submit(server.__enter__) for server in servers]
        for server, started in zip(servers, starting, strict=True):
            if started.exception() is None:
                stack.push(server)
        urls = [started.result() for started in starting]
        first, second = (
            stack.enter_context(httpx.Client(base_url=url, timeout=30)) for url in urls
        )
        yield first, second


def _sign_in(client: httpx.Client, password: str) -> int:
    body = {"email": "ana@example.com", "password": password}
    return client.post("/api/auth/login", json=body).status_code


@pytest.mark.parametrize(("database_url", "store"), STORES, indirect=["database_url"])
def test_limits_are_counted_across_both_processes(
    two_processes: tuple[httpx.Client, httpx.Client],
    db_factory: sessionmaker[Session],
    settings: Settings,
    counted_in: dict[str, str],
) -> None:
    first, second = two_processes
    _sign_in_failures_are_shared(first, second, db_factory, counted_in)
    _ai_jobs_at_once_are_shared(first, second, db_factory, settings)


def _sign_in_failures_are_shared(
    first: httpx.Client,
    second: httpx.Client,
    db_factory: sessionmaker[Session],
    counted_in: dict[str, str],
) -> None:
    signup = {"email": "ana@example.com", "password": PASSWORD}
    assert first.post("/api/auth/signup", json=signup).status_code == 201

    failures = [_sign_in(web, "wrong password") for web in (first, second) * (PER_PAIR // 2)]
    assert failures == [401] * PER_PAIR

    for web in (first, second):
        refused = web.post("/api/auth/login", json=signup)
        assert refused.status_code == 429
        assert refused.json()["error"] == "too_many_attempts"
        assert int(refused.headers["Retry-After"]) > 0
    # The hits are where the operator said: the database's table, or Redis.
    with db_factory() as db:
        rows = db.scalar(select(func.count()).select_from(RateLimitHit))
    if counted_in:
        assert rows == 0
        prefix = counted_in["MICRODRAMA_REDIS_KEY_PREFIX"]
        assert list(Redis.from_url(REDIS_URL).scan_iter(match=f"{prefix}signin:*"))
    else:
        assert rows == 3 * PER_PAIR  # the address, the pair and the account, per failure


def _ai_jobs_at_once_are_shared(
    first: httpx.Client,
    second: httpx.Client,
    db_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    headers, _ = signed_in(db_factory, settings, role=Role.creator, name="Bo")
    body = {
        "premise": "A florist marries a cold CEO for one year to save her father's shop.",
        "trope": "contract_marriage",
    }
    project = first.post("/api/studio/writers-room", json=body, headers=headers)
    assert project.status_code == 201, project.text
    generate = f"/api/studio/writers-room/{project.json()['id']}/generate"

    started = [
        web.post(generate, json={"what": "plan"}, headers=headers).status_code
        for web in (first, second)
    ]
    assert started == [202] * AT_ONCE

    for web in (first, second):
        refused = web.post(generate, json={"what": "plan"}, headers=headers)
        assert refused.status_code == 429
        assert refused.json()["error"] == "ai_jobs_limited"
