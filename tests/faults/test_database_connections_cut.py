"""Every database connection of a web process terminated (pg_terminate_backend) while requests
flow: the requests caught in a transaction get a clear 503 (never a 500, never a hang) and the
same process serves the next ones, without a restart. A database down altogether: 503 too."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from microdrama.app import create_app
from microdrama.config import Settings
from tests.faults.conftest import buyers, unique_name, with_application_name
from tests.support.database import PG_URL
from tests.support.servers import server_env, server_process

LOAD_THREADS = 6
ROUTE = "/api/orders"  # a signed-in viewer's orders: the session lookup and a query


def _terminate(admin_url: str, application_name: str) -> int:
    """pg_terminate_backend every connection of the web process; how many there were."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            killed = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = :name AND pid <> pg_backend_pid()"
                ),
                {"name": application_name},
            ).scalar_one()
    finally:
        admin.dispose()
    return int(killed)


def _error_code(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", ""))
    except ValueError:  # not JSON: Starlette's bare "Internal Server Error"
        return response.text[:40]


def test_database_connections_terminated_under_load_answer_503_then_recover(
    pg_url: str, tmp_path: Path, settings: Settings, db_factory: sessionmaker[Session]
) -> None:
    name = unique_name("md_fault")
    [viewer] = buyers(db_factory, settings, 1)
    env = server_env(database_url=with_application_name(pg_url, name), data_dir=settings.data_dir)
    answers: Counter[tuple[int, str]] = Counter()
    hung: list[str] = []
    served_at: list[float] = []  # when each 200 arrived
    unclear: list[str] = []  # 503s without the error's code, words or Retry-After
    stop = threading.Event()

    def load(base_url: str) -> None:
        with httpx.Client(base_url=base_url, headers=viewer, timeout=15) as http:
            while not stop.is_set():
                try:
                    response = http.get(ROUTE)
                except httpx.TimeoutException as exc:
                    hung.append(repr(exc))
                    continue
                if response.status_code == 200:
                    served_at.append(time.monotonic())
                error = "" if response.status_code == 200 else _error_code(response)
                if response.status_code == 503 and (
                    response.headers.get("retry-after") != "1"
                    or "database" not in response.json().get("message", "")
                ):
                    unclear.append(response.text)
                answers[response.status_code, error] += 1

    with server_process(env, tmp_path / "server.log") as server:
        threads = [
            threading.Thread(target=load, args=(server.base_url,)) for _ in range(LOAD_THREADS)
        ]
        for thread in threads:
            thread.start()
        try:
            flowing_by = time.monotonic() + 30
            while answers[200, ""] < 50 and time.monotonic() < flowing_by:
                time.sleep(0.01)
            rounds = terminated = 0
            # Cut everything, again, until some requests were caught in a transaction.
            while answers[503, "database_unavailable"] < 3 and rounds < 100:
                terminated += _terminate(PG_URL, name)
                cut_at = time.monotonic()
                rounds += 1
                time.sleep(0.05)
            while sum(t > cut_at for t in served_at) < 50 and time.monotonic() < cut_at + 30:
                time.sleep(0.01)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
        # The same process, still serving: nothing restarted it.
        assert server.process.poll() is None
        with httpx.Client(base_url=server.base_url, headers=viewer, timeout=15) as http:
            assert [http.get(ROUTE).status_code for _ in range(20)] == [200] * 20

    assert hung == [] and unclear == []
    recovered_in = min(t for t in served_at if t > cut_at) - cut_at  # to the first 200 after
    assert set(answers) == {(200, ""), (503, "database_unavailable")}, answers
    print(
        f"\n{terminated} connections terminated in {rounds} rounds: "
        f"{answers[503, 'database_unavailable']} requests answered 503, "
        f"{answers[200, '']} served; a 200 again {recovered_in * 1000:.0f} ms after the last cut"
    )


def test_a_database_that_is_down_altogether_answers_503_not_500(tmp_path: Path) -> None:
    settings = Settings(
        environment="test",
        data_dir=tmp_path / "data",
        # Nothing listens on port 1: every connection is refused at once.
        database_url="postgresql+psycopg://postgres@127.0.0.1:1/nothing",
        embedded_worker=False,
    )
    with TestClient(create_app(settings)) as client:
        answer = client.get(ROUTE, headers={"Authorization": "Bearer not-checked-yet"})

    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "1"
    assert answer.json() == {
        "error": "database_unavailable",
        "message": "The service can't reach its database right now; try again in a moment.",
        "problems": [],
    }
