"""`microdrama serve --workers 2`: two real web processes behind one port, and /metrics adds up
what both answered (prometheus-client's multiprocess mode, set up by serve itself)."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from sqlalchemy import Engine

from tests.conftest import BACKENDS
from tests.support.servers import free_port

ROUTE = {"method": "GET", "route": "/api/series/{series_id}", "status": "4xx"}


def _ask_many(port: int, count: int) -> None:
    """`count` requests from 16 threads, each on a new connection: every connection is taken
    by whichever process accepts first, so both processes get some."""

    def one(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", f"/api/series/{900000 + i}")
        response = conn.getresponse()
        response.read()
        conn.close()
        assert response.status == 404

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(count)))


def _served_by_each(directory: Path) -> dict[str, float]:
    """Requests of ROUTE each process counted, read from its own file alone."""
    counts = {}
    for file in directory.glob("counter_*.db"):
        alone = directory.parent / f"alone-{file.stem}"
        alone.mkdir(exist_ok=True)
        shutil.copy(file, alone / file.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        counts[file.stem.split("_")[1]] = sum(
            sample.value
            for family in registry.collect()
            for sample in family.samples
            if sample.name == "microdrama_http_requests_total" and sample.labels == ROUTE
        )
    return counts


# Several web processes are for PostgreSQL: there when the suite has it (SQLite otherwise).
@pytest.mark.parametrize("database_url", [BACKENDS[-1]], indirect=True)
def test_metrics_add_up_the_requests_of_both_web_processes(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(
        MICRODRAMA_ENVIRONMENT="test",
        MICRODRAMA_DATABASE_URL=database_url,
        MICRODRAMA_DATA_DIR=str(data_dir),
        MICRODRAMA_EMBEDDED_WORKER="false",
        MICRODRAMA_EMBEDDED_AI_WORKER="false",
        MICRODRAMA_LOG_FORMAT="json",
    )
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "microdrama.cli",
                "serve",
                "--workers",
                "2",
                "--port",
                str(port),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_ready(port, server)
        _wait_until_both_are_up(port)
        metrics_dir = data_dir / "metrics" / f"serve-{server.pid}"
        asked = 0
        for _round in range(10):  # until both processes have answered some
            _ask_many(port, 64)
            asked += 64
            if len([n for n in _served_by_each(metrics_dir).values() if n > 0]) == 2:
                break
        # A request is counted just after its answer is sent: wait for the last ones.
        deadline = time.monotonic() + 10
        while (total := _scraped_total(port)) != asked and time.monotonic() < deadline:
            time.sleep(0.1)
        by_process = _served_by_each(metrics_dir)
        assert len([n for n in by_process.values() if n > 0]) == 2, by_process
        assert total == asked == sum(by_process.values())
        samples = _scrape(port)
        up = {s.labels["pid"] for s in samples if s.name == "microdrama_web_process_up"}
        assert up == set(by_process)
    finally:
        server.terminate()
        server.wait(timeout=20)
    # The server's folder of metrics goes with it.
    assert not (data_dir / "metrics" / f"serve-{server.pid}").exists()
    # And each request was one JSON line, with its route template and a request id.
    logged = [
        json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")
    ]
    requests = [e for e in logged if e.get("event") == "request" and e["route"] == ROUTE["route"]]
    assert len(requests) == asked
    assert all(len(e["request_id"]) == 32 for e in requests)


def _scrape(port: int) -> list[Sample]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/metrics")
    answer = conn.getresponse()
    text = answer.read().decode()
    assert answer.status == 200, text
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def _scraped_total(port: int) -> float:
    return sum(
        s.value
        for s in _scrape(port)
        if s.name == "microdrama_http_requests_total" and s.labels == ROUTE
    )


def _wait_until_both_are_up(port: int) -> None:
    """The first process to start answers /healthz while the other may still be importing the
    app (seconds on a loaded machine): wait until both say they are up."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        up = [s for s in _scrape(port) if s.name == "microdrama_web_process_up" and s.value == 1]
        if len(up) == 2:
            return
        time.sleep(0.2)
    raise RuntimeError("the second web process did not start within 60 s")


def _wait_until_ready(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"serve exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("serve did not answer within 60 s")
