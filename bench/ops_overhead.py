"""What the operations middleware (ops/http.py: request id, Prometheus counters and histograms by
route template, the per-request log line) costs a request, as ratios in the same run.

    .venv/bin/python bench/ops_overhead.py [--seconds 5] [--connections 50] [--rounds 2]

The same app (bench_app.py: the real app plus a bare async route) under uvicorn, one process,
SQLite with six published series (rows only), in four set-ups, each started fresh and driven by
`wrk -t2 -c50 --latency`, rounds interleaved (each starting with another set-up) so a slow
moment of the machine does not fall on one set-up only:
- without: the middleware taken out of the app (the baseline);
- metrics: as installed, with prometheus-client's in-process values (one web process);
- multiprocess: as `microdrama serve` runs it, values in PROMETHEUS_MULTIPROC_DIR files;
- metrics + JSON log: a JSON line per request (MICRODRAMA_LOG_FORMAT=json), to a file.
Each on the bare route (where the middleware's share is largest) and on GET /api/series/{id}
(a real, cached route). Ratios are requests/s against `without` on the same route; the
medians over the rounds are reported.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench_app import create_bench_app
from common import (
    app_env,
    emit_json,
    free_port,
    migrated_sqlite,
    require_tool,
    run_wrk,
    seed_catalog_rows,
    uvicorn_command,
    wait_for_http,
)
from fastapi import FastAPI

from microdrama.ops.http import RequestTelemetry

SETUPS = ("without", "metrics", "multiprocess", "metrics_json_log")


def app_without_ops() -> FastAPI:
    """The bench app with the operations middleware taken out (the baseline)."""
    app = create_bench_app()
    app.user_middleware = [m for m in app.user_middleware if m.cls is not RequestTelemetry]
    return app


@contextmanager
def serving(setup: str, data_dir: Path, url: str, log_dir: Path) -> Iterator[str]:
    port = free_port()
    factory = "ops_overhead:app_without_ops" if setup == "without" else None
    command = uvicorn_command(port, factory) if factory else uvicorn_command(port)
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(app_env(data_dir, url, MICRODRAMA_ACCESS_LOG="false"))
    if setup == "multiprocess":
        metrics_dir = Path(tempfile.mkdtemp(prefix="md-bench-metrics-"))
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    if setup == "metrics_json_log":
        env.update(MICRODRAMA_LOG_FORMAT="json", MICRODRAMA_ACCESS_LOG="true")
    log = (log_dir / f"{setup}.log").open("ab")
    process = subprocess.Popen(
        command,
        env={**env, "PYTHONPATH": str(Path(__file__).parent)},
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/bench/bare", process=process)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    require_tool("wrk", "sudo apt-get install wrk")
    rates: dict[str, dict[str, list[float]]] = {s: {"bare": [], "series": []} for s in SETUPS}
    p50: dict[str, dict[str, list[float]]] = {s: {"bare": [], "series": []} for s in SETUPS}
    with tempfile.TemporaryDirectory(prefix="md-bench-ops-") as tmp:
        data_dir = Path(tmp)
        url = migrated_sqlite(data_dir)
        series_id = seed_catalog_rows(url)[0]
        for round_number in range(args.rounds):
            # Each round starts with another set-up: none always gets the quietest moment.
            shift = round_number % len(SETUPS)
            for setup in SETUPS[shift:] + SETUPS[:shift]:
                with serving(setup, data_dir, url, data_dir) as base:
                    for route, path in (
                        ("bare", "/bench/bare"),
                        ("series", f"/api/series/{series_id}"),
                    ):
                        run_wrk(base + path, connections=10, seconds=1)  # warm-up
                        result = run_wrk(
                            base + path, connections=args.connections, seconds=args.seconds
                        )
                        rates[setup][route].append(result.requests_per_s)
                        p50[setup][route].append(result.p50_ms)
                        print(
                            f"round {round_number + 1} {setup:<17} {route:<7} "
                            f"{result.requests_per_s:>8.0f} req/s  p50 {result.p50_ms:6.2f} ms"
                            + (f"  errors {result.errors}" if result.errors else ""),
                            flush=True,
                        )
        logged = sum(1 for _ in (data_dir / "metrics_json_log.log").open())
    medians = {
        s: {r: statistics.median(v) for r, v in routes.items()} for s, routes in rates.items()
    }
    ratios = {
        s: {r: round(medians[s][r] / medians["without"][r], 3) for r in ("bare", "series")}
        for s in SETUPS
    }
    print(f"\nmedian of {args.rounds} rounds, wrk -t2 -c{args.connections} -d{args.seconds}s:")
    for setup in SETUPS:
        print(
            f"{setup:<17} bare {medians[setup]['bare']:>8.0f} req/s ({ratios[setup]['bare']:.3f}x)"
            f"   /api/series/{{id}} {medians[setup]['series']:>7.0f} req/s "
            f"({ratios[setup]['series']:.3f}x)"
        )
    print(f"(the JSON-log set-up wrote {logged} lines)")
    emit_json(
        "ops_overhead",
        connections=args.connections,
        seconds=args.seconds,
        rounds=args.rounds,
        requests_per_s=medians,
        ratios=ratios,
        p50_ms={s: {r: statistics.median(v) for r, v in rs.items()} for s, rs in p50.items()},
    )


if __name__ == "__main__":
    main()
