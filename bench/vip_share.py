"""Settling a month's VIP share on a busy month: how long the pool and split take to compute
(what /admin's VIP share section and housekeeping's check cost) and to post, on SQLite and
PostgreSQL.

    .venv/bin/python bench/vip_share.py [--views 1000000] [--viewers 20000] [--series 50]
        [--filler-transactions 500000] [--backends sqlite,postgresql]

The month (the previous one, UTC) has `--views` episode views spread over `--series` series of
30 episodes (5 free), by `--viewers` viewers of whom half hold a VIP pass bought that month
(one `vip` ledger posting each, from the real postings' shape); the ledger also holds
`--filler-transactions` other transactions (unlocks), which the "already settled?" check and
the income query must not be slowed by much. Rows are bulk-inserted; then:

- plan: `preview_month` (net VIP income, VIP watch time per series, the split), median of 3;
- settle: `settle_month` posting one transaction per series, in one money transaction;
- settled: `preview_month` again, now reading the postings back (what a rerun costs).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from datetime import timedelta
from typing import Any

from common import ROOT, add_database_option, bench_database, emit_json, median, seed_catalog_rows
from sqlalchemy import insert, select

sys.path.insert(0, str(ROOT / "src"))

CHUNK = 20_000


def _chunks(rows: list[dict[str, Any]]) -> Any:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def build_month(url: str, *, views: int, viewers: int, series: int, filler: int) -> Any:
    """Bulk-insert the month; returns it (a payouts Month)."""
    import microdrama.models  # noqa: F401
    from microdrama.accounts.models import Account
    from microdrama.analytics.models import EpisodeView
    from microdrama.catalog.models import Episode
    from microdrama.db import make_engine, make_sessionmaker, session_scope, utcnow
    from microdrama.payments import catalog as store_catalog
    from microdrama.payments.models import Purchase, PurchaseKind, PurchaseStatus, VipPass
    from microdrama.payouts.vip_share import previous_month
    from microdrama.wallet import ledger
    from microdrama.wallet.models import Currency, LedgerAccountKind, LedgerEntry
    from microdrama.wallet.models import LedgerTransaction as Tx

    month = previous_month(utcnow())
    start = month.starts_at
    seconds = int((month.ends_at - start).total_seconds()) - 3600
    rng = random.Random(7)
    series_ids = seed_catalog_rows(url, series=series, episodes=30)
    engine = make_engine(url)
    with session_scope(make_sessionmaker(engine)) as db:
        store_catalog.ensure_default_catalog(db=db)
        plan = store_catalog.catalog(db=db)[1][0]
        episodes = db.execute(
            select(Episode.id, Episode.series_id).where(Episode.series_id.in_(series_ids))
        ).all()
        clearing = ledger.ledger_account(
            db=db, kind=LedgerAccountKind.payment_clearing, currency=Currency.usd
        )
        cash = ledger.ledger_account(
            db=db, kind=LedgerAccountKind.platform_cash, currency=Currency.usd
        )
        db.flush()
        conn = db.connection()
        first_viewer = int(
            conn.execute(
                insert(Account).returning(Account.id), [{"display_name": "Bench viewer"}]
            ).scalar_one()
        )
        conn.execute(insert(Account), [{"display_name": "Bench viewer"}] * (viewers - 1))
        viewer_ids = list(range(first_viewer, first_viewer + viewers))
        vips = viewer_ids[: viewers // 2]
        bought = [start + timedelta(seconds=rng.randrange(seconds // 2)) for _ in vips]
        purchases = [
            {"account_id": v, "kind": PurchaseKind.vip, "vip_plan_id": plan.id,
             "amount_cents": plan.price_cents, "provider": "sandbox",
             "status": PurchaseStatus.paid, "paid_at": at, "created_at": at}
            for v, at in zip(vips, bought, strict=True)
        ]  # fmt: skip
        ordered = {"sort_by_parameter_order": True}
        new_purchases = insert(Purchase).returning(Purchase.id, **ordered)
        purchase_ids = [int(i) for i in conn.execute(new_purchases, purchases).scalars()]
        conn.execute(
            insert(VipPass),
            [
                {"account_id": v, "plan_id": plan.id, "purchase_id": p, "starts_at": at,
                 "ends_at": at + timedelta(days=30), "auto_renew": False}
                for v, p, at in zip(vips, purchase_ids, bought, strict=True)
            ],
        )  # fmt: skip
        transactions = [
            {"kind": "vip", "reference": f"purchase:{p}", "actor_id": v, "memo": "VIP pass",
             "details": {"purchase_id": p}, "created_at": at}
            for v, p, at in zip(vips, purchase_ids, bought, strict=True)
        ]  # fmt: skip
        new_transactions = insert(Tx).returning(Tx.id, **ordered)
        tx_ids = [int(i) for i in conn.execute(new_transactions, transactions).scalars()]
        conn.execute(
            insert(LedgerEntry),
            [
                {"transaction_id": t, "ledger_account_id": a, "amount": amount}
                for t in tx_ids
                for a, amount in ((clearing.id, -plan.price_cents), (cash.id, plan.price_cents))
            ],
        )
        for rows in _chunks(
            [
                {"kind": "unlock", "reference": f"bench-unlock:{n}", "actor_id": first_viewer,
                 "memo": "Unlocked", "details": {},
                 "created_at": start + timedelta(seconds=rng.randrange(seconds))}
                for n in range(filler)
            ]
        ):  # fmt: skip
            conn.execute(insert(Tx), rows)
        view_rows = []
        for n in range(views):
            episode_id, series_id = episodes[rng.randrange(len(episodes))]
            at = start + timedelta(seconds=rng.randrange(seconds))
            view_rows.append(
                {"account_id": viewer_ids[rng.randrange(viewers)], "session_id": f"s{n}",
                 "episode_id": episode_id, "series_id": series_id, "started_at": at,
                 "last_at": at + timedelta(seconds=60), "played": True,
                 "furthest_ms": rng.randrange(90_000), "completed": False, "swiped_away": False,
                 "unlocked": False}
            )  # fmt: skip
        for rows in _chunks(view_rows):
            conn.execute(insert(EpisodeView), rows)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return month


def measure(url: str, month: Any) -> dict[str, Any]:
    from microdrama.config import Settings
    from microdrama.db import make_engine, make_sessionmaker, utcnow
    from microdrama.payouts import vip_share
    from microdrama.wallet import ledger

    settings = Settings(environment="test", database_url=url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)

    def timed_preview() -> tuple[float, Any]:
        with factory() as db:
            began = time.perf_counter()
            result = vip_share.preview_month(db=db, settings=settings, month=month)
            return time.perf_counter() - began, result

    plans = [timed_preview() for _ in range(3)]
    began = time.perf_counter()
    settled = vip_share.settle(factory=factory, settings=settings, month=month, now=utcnow())
    settle_s = time.perf_counter() - began
    reread_s, reread = timed_preview()
    with factory() as db:
        problems = ledger.verify(db=db)
    engine.dispose()
    assert reread.settled_before and not problems, problems
    return {
        "plan_s": round(median([s for s, _ in plans]), 3),
        "settle_s": round(settle_s, 3),
        "settled_reread_s": round(reread_s, 3),
        "series_credited": settled.posted,
        "pool_cents": settled.pool_cents,
        "vip_watch_ms": settled.total_watch_ms,
        "credited_cents": sum(s.amount_cents for s in settled.shares),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--views", type=int, default=1_000_000)
    parser.add_argument("--viewers", type=int, default=20_000)
    parser.add_argument("--series", type=int, default=50)
    parser.add_argument("--filler-transactions", type=int, default=500_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    add_database_option(parser)
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    for backend in args.backends.split(","):
        with bench_database(backend, args.database, "md_bench_vip_share") as url:
            began = time.perf_counter()
            month = build_month(
                url, views=args.views, viewers=args.viewers, series=args.series,
                filler=args.filler_transactions,
            )  # fmt: skip
            print(f"{backend}: month {month} built in {time.perf_counter() - began:.0f} s")
            result = measure(url, month)
            assert result["credited_cents"] == result["pool_cents"]
            print(
                f"{backend}: plan {result['plan_s']} s, settle {result['settle_s']} s "
                f"({result['series_credited']} series), rerun {result['settled_reread_s']} s"
            )
            figures[backend] = result
    emit_json("vip_share", views=args.views, run=uuid.uuid4().hex[:6], **figures)


if __name__ == "__main__":
    main()
