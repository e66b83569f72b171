"""Unlock throughput on PostgreSQL against pgbench's TPC-B in the same run, and ledger checks.

    .venv/bin/python bench/unlocks.py [--seconds 10] [--clients 8]
        [--database postgresql+psycopg://postgres@127.0.0.1:5432/test]

Both workloads get a schema of their own in the given database (dropped afterwards).
Baseline: `pgbench -c N -j 2 -T S` (TPC-B-like: 3 updates, a select and an insert per
transaction). Ours: N threads each unlocking episodes with coins through exactly what the
unlock route runs (idempotency record + entitlement + wallet debit with row locks + creator
share + unlock row, one transaction). Each thread is its own viewer, so this measures the
transaction, not lock contention (the concurrency tests cover contention). Then
`ledger verify` runs over everything written: the violations must be 0.

Target (issue): unlocks/s >= 0.3 x pgbench tps.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import subprocess
import threading
import time
import uuid

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.factories

from common import emit_json, require_tool  # noqa: E402
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

RATIO_TARGET = 0.3


def _schema_url(base: str, schema: str) -> str:
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def pgbench_tps(base: str, schema: str, clients: int, seconds: int) -> float:
    url = make_url(base)
    env = {
        **os.environ,
        "PGHOST": url.host or "127.0.0.1",
        "PGPORT": str(url.port or 5432),
        "PGUSER": url.username or "postgres",
        "PGDATABASE": url.database or "postgres",
        "PGOPTIONS": f"-c search_path={schema}",
    }
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


def _client_process(
    url: str, viewer_ids: list[int], episode_ids: list[list[int]], seconds: int
) -> tuple[int, int, float]:
    """One worker process: a thread per viewer unlocking episodes until time is up."""
    from microdrama import idempotency
    from microdrama.config import Settings
    from microdrama.db import make_engine, make_sessionmaker
    from microdrama.paywall import service as paywall

    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    settings = Settings(database_url=url, environment="test")
    done = [0] * len(viewer_ids)
    refused = [0] * len(viewer_ids)
    deadline = time.monotonic() + seconds

    def client(slot: int) -> None:
        viewer_id = viewer_ids[slot]
        for episode_id in episode_ids[slot % len(episode_ids)]:
            if time.monotonic() >= deadline:
                return
            outcome, _ = idempotency.run_idempotent(
                factory=factory,
                account_id=viewer_id,
                key=uuid.uuid4().hex,
                request_hash=f"unlock {episode_id}",
                keep_hours=24,
                effect=lambda db, episode_id=episode_id: (
                    200,
                    paywall.unlock_with_coins(
                        db=db, settings=settings, viewer_id=viewer_id, episode_id=episode_id
                    ),
                ),
            )
            if outcome[0] == 200:
                done[slot] += 1
            else:
                refused[slot] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(len(viewer_ids))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    engine.dispose()
    return sum(done), sum(refused), elapsed


def unlocks_per_second(
    url: str, clients: int, seconds: int, args_processes: int, series_count: int = 1
) -> tuple[float, int, int]:
    from tests.factories import make_series

    from microdrama.accounts.models import Account
    from microdrama.config import Settings
    from microdrama.db import make_engine, make_sessionmaker, upgrade_database, utcnow
    from microdrama.payments.models import Purchase, PurchaseKind, PurchaseStatus
    from microdrama.wallet import service as wallet

    engine = make_engine(url)
    upgrade_database(engine)
    factory = make_sessionmaker(engine)
    settings = Settings(database_url=url, environment="test")
    episodes_each = 400
    with factory() as db:
        shows = [
            make_series(db, title=f"Show {n}", episodes=episodes_each, free_episodes=0)
            for n in range(series_count)
        ]
        viewers = [Account(display_name=f"bench {n}") for n in range(clients)]
        db.add_all(viewers)
        db.commit()
        episode_ids = [
            [e.id for e in sorted(show.episodes, key=lambda e: e.number)] for show in shows
        ]
        viewer_ids = [v.id for v in viewers]

    for viewer_id in viewer_ids:

        def top_up(db, viewer_id=viewer_id):  # type: ignore[no-untyped-def]
            purchase = Purchase(
                account_id=viewer_id, kind=PurchaseKind.coin_pack, amount_cents=10**6,
                coins=10**7, provider="bench", status=PurchaseStatus.paid, paid_at=utcnow(),
            )  # fmt: skip
            db.add(purchase)
            db.flush()
            wallet.credit_coin_purchase(db=db, settings=settings, purchase=purchase)

        wallet.run_money_transaction(factory, top_up)

    engine.dispose()
    # Clients run in several processes, as API workers do in production: one Python
    # process would measure its own interpreter lock rather than the database.
    processes = max(1, min(args_processes, clients))
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(processes) as pool:
        shares = [viewer_ids[n::processes] for n in range(processes)]
        results = pool.starmap(
            _client_process, [(url, share, episode_ids, seconds) for share in shares]
        )
    rate = sum(done / elapsed for done, _refused, elapsed in results)
    done = [r[0] for r in results]
    failures = [r[1] for r in results]
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with factory() as db:
        violations = len(wallet.verify(db=db))
        posted = db.scalar(text("select count(*) from ledger_transactions where kind = 'unlock'"))
        assert posted == sum(done), (posted, sum(done))
    engine.dispose()
    return rate, violations, sum(failures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--series", type=int, default=1, help="series (one creator each)")
    parser.add_argument(
        "--database",
        default=os.environ.get(
            "MICRODRAMA_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    require_tool("pgbench", "sudo apt-get install postgresql-client")
    admin = create_engine(args.database, isolation_level="AUTOCOMMIT")
    suffix = uuid.uuid4().hex[:8]
    ours, theirs = f"bench_unlocks_{suffix}", f"bench_pgbench_{suffix}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{ours}"'))
        conn.execute(text(f'CREATE SCHEMA "{theirs}"'))
    try:
        print(f"pgbench TPC-B: {args.clients} clients, {args.seconds} s ...")
        tps = pgbench_tps(args.database, theirs, args.clients, args.seconds)
        print(f"unlocks: {args.clients} clients, {args.seconds} s ...")
        unlocks, violations, refused = unlocks_per_second(
            _schema_url(args.database, ours), args.clients, args.seconds, args.processes, args.series
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{ours}" CASCADE'))
            conn.execute(text(f'DROP SCHEMA "{theirs}" CASCADE'))
        admin.dispose()
    ratio = unlocks / tps
    print(f"{'pgbench TPC-B':<22}{tps:>10.0f} tps")
    print(f"{'coin unlocks':<22}{unlocks:>10.0f} /s   ratio {ratio:.2f} (target >= {RATIO_TARGET})")
    print(
        f"{'ledger violations':<22}{violations:>10d}      (must be 0); refused unlocks: {refused}"
    )
    emit_json(
        "unlocks",
        pgbench_tps=round(tps, 1),
        unlocks_per_s=round(unlocks, 1),
        ratio=round(ratio, 3),
        ledger_violations=violations,
        clients=args.clients,
        seconds=args.seconds,
    )


if __name__ == "__main__":
    main()
