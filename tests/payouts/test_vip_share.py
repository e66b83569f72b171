"""VIP income shared with creators: a month's pool, split by VIP watch time on paid episodes,
credited through the ledger once, and shown on the dashboard, the statement and in payouts."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from microdrama.cli import app as cli
from microdrama.config import Settings
from microdrama.db import utcnow
from microdrama.housekeeping import run_once
from microdrama.payouts import vip_share
from microdrama.payouts.service import Month
from microdrama.wallet import ledger
from microdrama.wallet.models import Currency, LedgerAccountKind, LedgerTransaction
from tests.support.factories import make_series
from tests.support.payments import viewer
from tests.support.vip import a_month_of_vip_viewing, buy_vip, move_everything_to, watch

K = LedgerAccountKind


def _usd_earnings(factory: sessionmaker[Session], owner_id: int) -> int:
    with factory() as db:
        account = ledger.ledger_account(
            db=db, kind=K.creator_earnings, currency=Currency.usd, owner_id=owner_id
        )
        return account.balance


def _platform_cash_usd(factory: sessionmaker[Session]) -> int:
    with factory() as db:
        account = ledger.ledger_account(db=db, kind=K.platform_cash, currency=Currency.usd)
        return ledger.account_balance(db=db, account=account)


def _shares_posted(factory: sessionmaker[Session]) -> int:
    with factory() as db:
        return int(
            db.scalar(
                select(func.count())
                .select_from(LedgerTransaction)
                .where(LedgerTransaction.kind == "vip_share")
            )
            or 0
        )


def _verify(factory: sessionmaker[Session]) -> list[str]:
    with factory() as db:
        return ledger.verify(db=db)


def _key(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Idempotency-Key": uuid.uuid4().hex}


def test_the_month_pool_is_split_by_vip_watch_time_and_credited_to_each_creator_once(
    app: FastAPI, client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    month = Month.of(utcnow())
    scene = a_month_of_vip_viewing(app, db_factory, settings)
    # The operator sets the creators' share to 50 % before the month is settled.
    answer = client.put(
        "/api/admin/settings", json={"creator_revenue_share_percent": 50}, headers=scene.admin
    )
    assert answer.status_code == 200, answer.text
    revenue_before = _platform_cash_usd(db_factory)
    # The operator can watch the month so far; creators cannot.
    so_far = client.get(f"/api/admin/vip-share/{month}", headers=scene.admin).json()
    assert (so_far["settled"], so_far["month_over"], so_far["pool_cents"]) == (False, False, 3998)
    assert [(s["series_id"], s["amount_cents"], s["transaction_id"]) for s in so_far["shares"]] == [
        (scene.bride, 2132, None),
        (scene.heir, 1866, None),
    ]
    assert [s["creator_name"] for s in so_far["shares"]] == ["Studio Nova", "Heir Co"]
    assert client.get(f"/api/admin/vip-share/{month}", headers=scene.nova).status_code == 403

    with pytest.raises(vip_share.MonthNotOver):
        vip_share.settle(factory=db_factory, settings=settings, month=month, now=utcnow())
    result = vip_share.settle(factory=db_factory, settings=settings, month=month, now=month.ends_at)

    # Pool: 50 % of $79.97 net VIP income, rounded down = $39.98. Contract Bride has 80 s of the
    # 150 s of VIP watch: 2,132.27 cents; Midnight Heir 70 s: 1,865.73. The cent left over goes
    # to the larger remainder (Midnight Heir).
    assert (result.vip_income_cents, result.share_percent, result.pool_cents) == (7997, 50, 3998)
    assert result.total_watch_ms == 150_000
    assert [(s.series_id, s.watch_ms, s.amount_cents) for s in result.shares] == [
        (scene.bride, 80_000, 2132),
        (scene.heir, 70_000, 1866),
    ]
    assert _usd_earnings(db_factory, scene.nova_id) == 2132
    assert _usd_earnings(db_factory, scene.heir_studio_id) == 1866
    assert revenue_before - _platform_cash_usd(db_factory) == 3998  # the pool, to the cent
    assert _verify(db_factory) == []
    with db_factory() as db:
        posting = db.scalars(
            select(LedgerTransaction).where(
                LedgerTransaction.reference == f"vip_share:{month}:series:{scene.bride}"
            )
        ).one()
        assert posting.kind == "vip_share" and posting.actor_id == scene.nova_id
        assert {k: posting.details[k] for k in ("month", "series_id", "watch_ms")} == {
            "month": str(month),
            "series_id": scene.bride,
            "watch_ms": 80_000,
        }
        assert (posting.details["total_watch_ms"], posting.details["pool"]) == (150_000, 3998)
        assert posting.details["share_percent"] == 50

    # Settling again posts nothing and says what was settled.
    again = vip_share.settle(factory=db_factory, settings=settings, month=month, now=month.ends_at)
    assert again.settled_before and again.posted == 0
    assert [(s.series_id, s.amount_cents) for s in again.shares] == [
        (scene.bride, 2132),
        (scene.heir, 1866),
    ]
    assert _shares_posted(db_factory) == 2
    assert _usd_earnings(db_factory, scene.nova_id) == 2132
    settled = client.get(f"/api/admin/vip-share/{month}", headers=scene.admin).json()
    assert settled["settled"] and settled["share_percent"] == 50
    assert [s["transaction_id"] for s in settled["shares"]] == [
        s.transaction_id for s in result.shares
    ]

    # The creator sees it on the series dashboard (in dollars) and on the month's statement.
    report = client.get(f"/api/studio/series/{scene.bride}/analytics", headers=scene.nova).json()
    row = {r["source"]: r for r in report["revenue"]}["vip_share"]
    assert (row["currency"], row["amount"]) == ("USD", 2132)
    other = client.get(
        f"/api/studio/series/{scene.heir}/analytics", headers=scene.heir_studio
    ).json()
    assert {r["source"]: r["amount"] for r in other["revenue"]}["vip_share"] == 1866
    statement = client.get(f"/api/studio/statements/{month}", headers=scene.nova).json()
    (dollars,) = [c for c in statement["currencies"] if c["currency"] == "USD"]
    assert [(li["category"], li["label"], li["amount"]) for li in dollars["lines"]] == [
        ("vip_share", "VIP share", 2132)
    ]
    assert dollars["closing_balance"] == 2132

    # And it is paid out like any dollar earnings.
    payout = client.post(
        "/api/studio/payouts", json={"currency": "USD", "amount": 2132}, headers=_key(scene.nova)
    )
    assert payout.status_code == 201, payout.text
    for step in ("approve", "paid"):
        done = client.post(
            f"/api/admin/payouts/{payout.json()['id']}/{step}", headers=_key(scene.admin)
        )
        assert done.status_code == 200, done.text
    assert _usd_earnings(db_factory, scene.nova_id) == 0
    assert _verify(db_factory) == []


def test_a_month_without_vip_watch_on_paid_episodes_or_without_net_income_posts_nothing(
    app: FastAPI, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    month = Month.of(utcnow())
    with db_factory() as db:
        series = make_series(db, free_episodes=1)
        free_episode = series.episodes[0].id
        db.commit()
    fan, _ = viewer(app)
    buy_vip(fan, "weekly")
    watch(fan, free_episode)  # VIP money came in, but only a free episode was watched

    result = vip_share.settle(factory=db_factory, settings=settings, month=month, now=month.ends_at)

    assert (result.pool_cents, result.total_watch_ms, result.shares) == (1199, 0, [])
    assert result.nothing_to_share == f"no VIP watch time on paid episodes in {month}"
    assert _shares_posted(db_factory) == 0
    assert _verify(db_factory) == []

    empty = vip_share.settle(
        factory=db_factory, settings=settings, month=Month.of(month.starts_at - timedelta(days=1)),
        now=month.ends_at,
    )  # fmt: skip
    assert empty.pool_cents == 0 and empty.nothing_to_share.startswith("no pool")


def test_the_command_settles_last_month_once_and_refuses_the_current_one(
    cli_env: None, app: FastAPI, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    scene = a_month_of_vip_viewing(app, db_factory, settings)
    last_month = vip_share.previous_month(utcnow())
    move_everything_to(db_factory, last_month.starts_at + timedelta(days=14, hours=12))
    runner = CliRunner()

    current = runner.invoke(cli, ["vip-share", "settle", "--month", str(Month.of(utcnow()))])
    assert current.exit_code == 1
    assert "has not ended yet" in current.output
    assert _shares_posted(db_factory) == 0

    settled = runner.invoke(cli, ["vip-share", "settle"])  # the previous month by default
    assert settled.exit_code == 0, settled.output
    # Default share, 60 %: a pool of $47.98; Contract Bride 2,558.93 -> 2,559, Midnight Heir
    # 2,239.07 -> 2,239.
    assert f"VIP share of {last_month}: net VIP income $79.97" in settled.output
    assert "creators' share 60 % -> pool $47.98" in settled.output
    assert f"series {scene.bride} 'Contract Bride'" in settled.output
    assert "80.0 s of 150.0 s VIP watch -> $25.59" in settled.output
    assert "70.0 s of 150.0 s VIP watch -> $22.39" in settled.output
    assert "2 series credited, $47.98 in all" in settled.output
    assert _usd_earnings(db_factory, scene.nova_id) == 2559
    assert _usd_earnings(db_factory, scene.heir_studio_id) == 2239

    rerun = runner.invoke(cli, ["vip-share", "settle", "--month", str(last_month)])
    assert rerun.exit_code == 0, rerun.output
    assert f"{last_month} was settled before: nothing posted again" in rerun.output
    assert _shares_posted(db_factory) == 2
    assert _usd_earnings(db_factory, scene.nova_id) == 2559

    verified = runner.invoke(cli, ["ledger", "verify"])
    assert verified.exit_code == 0, verified.output


def test_housekeeping_settles_the_last_month_whose_views_are_final_once(
    app: FastAPI, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    scene = a_month_of_vip_viewing(app, db_factory, settings)
    due = vip_share.previous_month(utcnow() - vip_share.LATE_EVENTS)
    move_everything_to(db_factory, due.starts_at + timedelta(days=14, hours=12))

    first = run_once(factory=db_factory, settings=settings)
    second = run_once(factory=db_factory, settings=settings)

    assert (first.vip_share_month, first.vip_share_posted) == (str(due), 2)
    assert (second.vip_share_month, second.vip_share_posted) == ("", 0)  # remembered: no query
    assert _usd_earnings(db_factory, scene.nova_id) == 2559
    assert _usd_earnings(db_factory, scene.heir_studio_id) == 2239
    # Another process (nothing remembered) finds the month settled and posts nothing.
    vip_share.forget_final_months()
    third = run_once(factory=db_factory, settings=settings)
    assert (third.vip_share_month, third.vip_share_posted) == (str(due), 0)
    assert _shares_posted(db_factory) == 2
    assert _verify(db_factory) == []


def test_settlements_racing_each_other_post_the_month_once(
    app: FastAPI, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    scene = a_month_of_vip_viewing(app, db_factory, settings)
    month = Month.of(utcnow())
    start = threading.Barrier(4)

    def settle(_: int) -> vip_share.Settlement:
        start.wait()  # four housekeeping processes waking up at once
        return vip_share.settle(
            factory=db_factory, settings=settings, month=month, now=month.ends_at
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(settle, range(4)))

    assert sorted(r.posted for r in results) == [0, 0, 0, 2]
    for result in results:
        assert [(s.series_id, s.amount_cents) for s in result.shares] == [
            (scene.bride, 2559),
            (scene.heir, 2239),
        ]
    assert _shares_posted(db_factory) == 2
    assert _usd_earnings(db_factory, scene.nova_id) == 2559
    assert _verify(db_factory) == []
