"""Unlock throughput on PostgreSQL against pgbench's TPC-B in the same run, and ledger checks.

    .venv/bin/python bench/unlocks.py [--seconds 8] [--clients 8] [--rounds 3] [--http-workers 2]
        [--database postgresql+psycopg://postgres@127.0.0.1:5432/test]

Both workloads get a schema of their own in the given database (dropped afterwards).
Baseline: `pgbench -c N -j 2 -T S` (TPC-B-like: 3 updates, a select and an insert per
transaction; at scale 1 every transaction updates the one branch row).

Ours, measured twice:
- service: N client threads in 2 processes (as API workers run) each unlocking episodes with
  coins through exactly what the unlock route runs in its money transaction
  (`idempotency.run_idempotent` around `paywall.service.unlock_with_coins`);
- HTTP: the same over `POST /api/episodes/{id}/unlock` (bearer token, Idempotency-Key) against
  the real app under `uvicorn --workers W`, driven by `wrk` (a C client like pgbench, 2 threads,
  N keep-alive connections, the N viewers taken in turn; `apt-get install wrk`). The client
  shares the 2 cores with the server and PostgreSQL, so this figure is lower than a real
  deployment's. Until 2026-12-06 the HTTP clients were Python threads (http.client), whose own
  CPU took a share of the cores from the server.

Every viewer is its own, but all of them unlock episodes of the same series (one creator): a
hit show, whose creator's earnings row every unlock credits, is the worst case. `--series K`
spreads the viewers over K series of K creators. The machine is shared, so the workloads
alternate for `--rounds` rounds and the medians are compared. Then `ledger verify` runs over
everything written: the violations must be 0, and the unlocks posted must equal the answers.

Targets: service unlocks/s >= 0.3 x pgbench tps; HTTP >= 0.25 x (issue 15).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from common import PYTHON, add_database_option, emit_json, free_port, require_tool, running
from sqlalchemy import Engine, create_engine, event, insert, select, text
from sqlalchemy.engine import make_url

RATIO_TARGET = 0.3
EPISODES = 4000  # per series: more than any client unlocks in a round


def _schema_url(base: str, schema: str) -> str:
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def pgbench_tps(base: str, schema: str, clients: int, seconds: int, *, init: bool) -> float:
    url = make_url(base)
    env = {
        **os.environ,
        "PGHOST": url.host or "127.0.0.1",
        "PGPORT": str(url.port or 5432),
        "PGUSER": url.username or "postgres",
        "PGDATABASE": url.database or "postgres",
        "PGOPTIONS": f"-c search_path={schema}",
    }
    if init:
        subprocess.run(["pgbench", "-i", "-q", "-s", "1"], env=env, check=True, capture_output=True)
    run = subprocess.run(
        ["pgbench", "-n", "-c", str(clients), "-j", "2", "-T", str(seconds)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    match = re.search(r"tps = ([\d.]+)", run.stdout)
    if match is None:
        raise RuntimeError(f"could not read pgbench's tps:\n{run.stdout}")
    return float(match.group(1))


# --- the data ----------------------------------------------------------------------------------


def seed_series(url: str, count: int) -> list[list[int]]:
    """`count` published series of their own creators, EPISODES ready episodes each (rows
    only: unlocking never reads media). Returns the episode ids of each series, in order."""
    from microdrama.accounts.models import Account, Role
    from microdrama.catalog.models import Episode, EpisodeState, Series, SeriesStatus
    from microdrama.db import make_engine, make_sessionmaker, utcnow

    engine = make_engine(url)
    shows: list[list[int]] = []
    with make_sessionmaker(engine)() as db:
        for n in range(count):
            creator = Account(display_name=f"Bench Studio {n}", role=Role.creator, is_guest=False)
            db.add(creator)
            db.flush()
            series = Series(
                title=f"Bench Show {n}",
                owner_id=creator.id,
                status=SeriesStatus.published,
                published_at=utcnow(),
                free_episodes=0,
                episode_price_coins=60,
            )
            db.add(series)
            db.flush()
            db.execute(
                insert(Episode),
                [
                    {"series_id": series.id, "number": number, "state": EpisodeState.ready}
                    for number in range(1, EPISODES + 1)
                ],
            )
            db.flush()
            shows.append(
                list(
                    db.scalars(
                        select(Episode.id)
                        .where(Episode.series_id == series.id)
                        .order_by(Episode.number)
                    )
                )
            )
        db.commit()
    engine.dispose()
    return shows


def make_viewers(url: str, count: int, *, tokens: bool) -> list[tuple[int, str]]:
    """Viewers with 10 million paid coins each (bought through the ledger), and a bearer
    token each when `tokens` (for the HTTP clients)."""
    from microdrama.accounts import service as accounts
    from microdrama.accounts.models import Account, SessionKind
    from microdrama.config import Settings
    from microdrama.db import make_engine, make_sessionmaker, run_money_transaction, utcnow
    from microdrama.payments.models import Purchase, PurchaseKind, PurchaseStatus
    from microdrama.wallet import viewer_coins

    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    settings = Settings(database_url=url, environment="test")
    viewers: list[tuple[int, str]] = []
    for n in range(count):

        def top_up(db: Any, n: int = n) -> tuple[int, str]:
            viewer = Account(display_name=f"bench viewer {n}")
            db.add(viewer)
            db.flush()
            purchase = Purchase(
                account_id=viewer.id, kind=PurchaseKind.coin_pack, amount_cents=10**6,
                coins=10**7, provider="bench", status=PurchaseStatus.paid, paid_at=utcnow(),
            )  # fmt: skip
            db.add(purchase)
            db.flush()
            viewer_coins.credit_coin_purchase(db=db, settings=settings, purchase=purchase)
            token = ""
            if tokens:
                token, _ = accounts.start_session(
                    db=db, settings=settings, account=viewer, kind=SessionKind.bearer
                )
            return viewer.id, token

        viewers.append(run_money_transaction(factory, top_up))
    engine.dispose()
    return viewers


# --- the clients --------------------------------------------------------------------------------


def _run_threads(
    count: int, seconds: float, unlock: Callable[[int, int], bool]
) -> tuple[int, int, float]:
    """`count` threads calling unlock(slot, n) for n = 0, 1, ... until time is up."""
    done = [0] * count
    refused = [0] * count
    deadline = time.monotonic() + seconds

    def client(slot: int) -> None:
        n = 0
        while time.monotonic() < deadline:
            if unlock(slot, n):
                done[slot] += 1
            else:
                refused[slot] += 1
            n += 1

    threads = [threading.Thread(target=client, args=(slot,)) for slot in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done), sum(refused), time.perf_counter() - started


def _service_process(
    url: str, viewers: list[tuple[int, list[int]]], seconds: float
) -> tuple[int, int, float]:
    """One worker process: a thread per viewer, unlocking as the route's money transaction does."""
    from microdrama import idempotency
    from microdrama.config import Settings
    from microdrama.db import make_engine, make_sessionmaker
    from microdrama.paywall import service as paywall

    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    settings = Settings(database_url=url, environment="test")

    def unlock(slot: int, n: int) -> bool:
        viewer_id, episodes = viewers[slot]
        episode_id = episodes[n]
        outcome, _ = idempotency.run_idempotent(
            factory=factory,
            account_id=viewer_id,
            key=uuid.uuid4().hex,
            request_hash=f"unlock {episode_id}",
            keep_hours=24,
            claim_first=False,  # as the unlock route
            effect=lambda db: (
                200,
                paywall.unlock_with_coins(
                    db=db, settings=settings, viewer_id=viewer_id, episode_id=episode_id
                ),
            ),
        )
        return outcome[0] == 200 and outcome[1]["charged_coins"] > 0

    try:
        return _run_threads(len(viewers), seconds, unlock)
    finally:
        engine.dispose()


_WRK_UNLOCKS = """
local tokens = {TOKENS}
local shows = {SHOWS}
local show_of = {SHOW_OF}
local threads = {}
local started = 0
setup = function(thread)
  thread:set("tid", started)
  started = started + 1
  table.insert(threads, thread)
end
init = function(args)
  mine, used, turn, ok, refused = {}, {}, 0, 0, 0
  for v = tid + 1, #tokens, THREADS do mine[#mine + 1] = v end
end
request = function()
  turn = turn % #mine + 1
  local v = mine[turn]
  local n = (used[v] or 0) + 1
  used[v] = n
  return wrk.format("POST", "/api/episodes/" .. shows[show_of[v]][n] .. "/unlock", {
    ["Authorization"] = "Bearer " .. tokens[v],
    ["Idempotency-Key"] = "bench-" .. v .. "-" .. n,
    ["Content-Type"] = "application/json",
  }, '{"method":"coins"}')
end
response = function(status, headers, body)
  if status == 200 and not body:find('"charged_coins":0', 1, true) then
    ok = ok + 1
  else
    refused = refused + 1
  end
end
done = function(summary, latency, requests)
  local o, r = 0, 0
  for _, t in ipairs(threads) do o = o + t:get("ok"); r = r + t:get("refused") end
  io.write(string.format("unlocked %d refused %d seconds %.3f\\n", o, r, summary.duration / 1e6))
end
"""


def _http_wrk(
    port: int, viewers: list[tuple[str, int]], shows: list[list[int]], seconds: int, threads: int
) -> tuple[float, int, int]:
    """The HTTP clients: wrk (C, as pgbench is: the clients' own CPU stays small on the cores
    the server shares), one keep-alive connection per viewer, each viewer unlocking the next
    episode of its series with a new Idempotency-Key. Returns (unlocks/s, unlocked, refused)."""
    wrk = require_tool("wrk", "sudo apt-get install wrk")
    lua = (
        _WRK_UNLOCKS.replace("{TOKENS}", "{" + ",".join(f'"{t}"' for t, _ in viewers) + "}")
        .replace("{SHOWS}", "{" + ",".join("{" + ",".join(map(str, e)) + "}" for e in shows) + "}")
        .replace("{SHOW_OF}", "{" + ",".join(str(s + 1) for _, s in viewers) + "}")
        .replace("THREADS", str(threads))
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="md-unlocks-") as script:
        script.write(lua)
        script.flush()
        out = subprocess.run(
            [wrk, f"-t{threads}", f"-c{len(viewers)}", f"-d{seconds}s", "--timeout=10s",
             "-s", script.name, f"http://127.0.0.1:{port}"],
            capture_output=True, text=True, check=True, timeout=seconds + 60,
        ).stdout  # fmt: skip
    match = re.search(r"unlocked (\d+) refused (\d+) seconds ([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    unlocked, refused, elapsed = int(match[1]), int(match[2]), float(match[3])
    return unlocked / elapsed, unlocked, refused


def _in_processes(
    target: Callable[..., tuple[int, int, float]],
    first: Any,
    per_client: list[Any],
    seconds: float,
    processes: int,
) -> tuple[float, int, int]:
    """Clients spread over processes; returns (answers per second, successes, refusals)."""
    processes = max(1, min(processes, len(per_client)))
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(processes) as pool:
        shares = [per_client[n::processes] for n in range(processes)]
        results = pool.starmap(target, [(first, share, seconds) for share in shares])
    rate = sum(done / elapsed for done, _refused, elapsed in results)
    return rate, sum(r[0] for r in results), sum(r[1] for r in results)


# --- statements per unlock ------------------------------------------------------------------


def statements_per_unlock(url: str, episodes: list[int]) -> tuple[int, int]:
    """SQL statements SQLAlchemy sends for one coin unlock: in the money transaction alone, and
    for the whole HTTP request (auth included), through the app in this process."""
    from fastapi.testclient import TestClient

    from microdrama import idempotency
    from microdrama.app import create_app
    from microdrama.config import Settings
    from microdrama.db import make_engine, make_sessionmaker
    from microdrama.paywall import service as paywall

    sent: list[str] = []

    def count(*args: Any) -> None:
        sent.append(args[2])

    settings = Settings(database_url=url, environment="test", embedded_worker=False)
    ((viewer_id, token),) = make_viewers(url, 1, tokens=True)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)

    def unlock(episode_id: int) -> None:
        idempotency.run_idempotent(
            factory=factory, account_id=viewer_id, key=uuid.uuid4().hex,
            request_hash="bench", keep_hours=24, claim_first=False,  # as the route
            effect=lambda db: (200, paywall.unlock_with_coins(
                db=db, settings=settings, viewer_id=viewer_id, episode_id=episode_id)),
        )  # fmt: skip

    unlock(episodes[-1])  # warm up
    event.listen(Engine, "before_cursor_execute", count)
    try:
        unlock(episodes[-2])
        in_service = len(sent)
        sent.clear()
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                database_url=url, environment="test", embedded_worker=False, data_dir=Path(tmp)
            )
            with TestClient(create_app(settings)) as client:
                for episode_id in episodes[-4:-2]:
                    sent.clear()
                    answer = client.post(
                        f"/api/episodes/{episode_id}/unlock",
                        json={"method": "coins"},
                        headers={
                            "Authorization": f"Bearer {token}",
                            "Idempotency-Key": uuid.uuid4().hex,
                        },
                    )
                    assert answer.status_code == 200 and answer.json()["charged_coins"] > 0
        in_route = len(sent)
    finally:
        event.remove(Engine, "before_cursor_execute", count)
        engine.dispose()
    return in_service, in_route


# --- the run -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=8, help="per workload and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--series", type=int, default=1, help="series (one creator each)")
    parser.add_argument(
        "--http-workers", type=int, default=2, help="uvicorn workers (0: skip the HTTP figure)"
    )
    add_database_option(parser)
    args = parser.parse_args()
    require_tool("pgbench", "sudo apt-get install postgresql-client")
    from microdrama.db import make_engine, make_sessionmaker, upgrade_database
    from microdrama.wallet import ledger

    admin = create_engine(args.database, isolation_level="AUTOCOMMIT")
    suffix = uuid.uuid4().hex[:8]
    ours, theirs = f"bench_unlocks_{suffix}", f"bench_pgbench_{suffix}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{ours}"'))
        conn.execute(text(f'CREATE SCHEMA "{theirs}"'))
    url = _schema_url(args.database, ours)
    tps: list[float] = []
    service: list[float] = []
    over_http: list[float] = []
    answered = refused = unread = 0
    try:
        engine = make_engine(url)
        upgrade_database(engine)
        engine.dispose()
        shows = seed_series(url, args.series)
        per_viewer = [shows[n % len(shows)] for n in range(args.clients)]
        in_service, in_route = statements_per_unlock(url, shows[0])
        port = free_port()
        server = [
            PYTHON, "-m", "uvicorn", "microdrama.app:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.http_workers),
            "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="microdrama-bench-unlocks-") as tmp:
            env = {
                "MICRODRAMA_DATABASE_URL": url,
                "MICRODRAMA_DATA_DIR": tmp,
                "MICRODRAMA_EMBEDDED_WORKER": "false",
                "MICRODRAMA_ENVIRONMENT": "test",
            }
            with (
                running(server, ready_url=f"http://127.0.0.1:{port}/", env=env)
                if args.http_workers
                else nullcontext()
            ):
                for round_ in range(args.rounds):
                    print(f"round {round_ + 1}/{args.rounds}: {args.clients} clients, "
                          f"{args.seconds} s each", flush=True)  # fmt: skip
                    tps.append(
                        pgbench_tps(
                            args.database, theirs, args.clients, args.seconds, init=round_ == 0
                        )
                    )
                    viewers = make_viewers(url, args.clients, tokens=False)
                    rate, ok, no = _in_processes(
                        _service_process,
                        url,
                        [
                            (v, episodes)
                            for (v, _), episodes in zip(viewers, per_viewer, strict=True)
                        ],
                        args.seconds,
                        args.processes,
                    )
                    service.append(rate)
                    answered, refused = answered + ok, refused + no
                    if args.http_workers:
                        viewers = make_viewers(url, args.clients, tokens=True)
                        rate, ok, no = _http_wrk(
                            port,
                            [(t, n % len(shows)) for n, (_, t) in enumerate(viewers)],
                            shows,
                            args.seconds,
                            threads=args.processes,
                        )
                        over_http.append(rate)
                        answered, refused = answered + ok, refused + no
                        # wrk stops at its deadline without reading the answers in flight:
                        # those unlocks are posted and not counted (one per connection at most).
                        unread += args.clients
                    print(
                        f"  pgbench {tps[-1]:.0f} tps, service {service[-1]:.0f} unlocks/s"
                        + (f", HTTP {over_http[-1]:.0f} unlocks/s" if over_http else ""),
                        flush=True,
                    )
        engine = make_engine(url)
        with make_sessionmaker(engine)() as db:
            violations = len(ledger.verify(db=db))
            posted = db.scalar(
                text("select count(*) from ledger_transactions where kind = 'unlock'")
            )
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{ours}" CASCADE'))
            conn.execute(text(f'DROP SCHEMA "{theirs}" CASCADE'))
        admin.dispose()
    # The statement counting and the warm-up unlocked 4 episodes outside the rounds.
    consistent = answered + 4 <= posted <= answered + 4 + unread

    base = statistics.median(tps)
    ours_rate = statistics.median(service)
    http_rate = statistics.median(over_http) if over_http else 0.0
    load = os.getloadavg()[0]
    print(f"{'pgbench TPC-B':<26}{base:>8.0f} tps   (median of {args.rounds})")
    print(f"{'coin unlocks (service)':<26}{ours_rate:>8.0f} /s    ratio {ours_rate / base:.2f} "
          f"(target >= {RATIO_TARGET})")  # fmt: skip
    if over_http:
        print(f"{'coin unlocks (HTTP)':<26}{http_rate:>8.0f} /s    ratio {http_rate / base:.2f} "
              f"({args.http_workers} uvicorn workers)")  # fmt: skip
    print(f"{'statements per unlock':<26}{in_service:>8d}      "
          f"({in_route} for the whole HTTP request)")  # fmt: skip
    print(f"{'ledger violations':<26}{violations:>8d}      (must be 0); refused: {refused}; "
          f"posted = answered: {consistent}; load average {load:.1f}")  # fmt: skip
    emit_json(
        "unlocks",
        pgbench_tps=round(base, 1),
        unlocks_per_s=round(ours_rate, 1),
        ratio=round(ours_rate / base, 3),
        http_unlocks_per_s=round(http_rate, 1),
        http_ratio=round(http_rate / base, 3),
        statements_per_unlock=in_service,
        statements_per_http_unlock=in_route,
        ledger_violations=violations,
        posted_equals_answered=consistent,
        rounds=args.rounds,
        clients=args.clients,
        seconds=args.seconds,
        load_average=round(load, 2),
    )
    if violations or not consistent:
        sys.exit(1)


if __name__ == "__main__":
    main()
