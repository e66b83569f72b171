"""Builders for VIP share tests: a month of VIP viewers watching two creators' series, made
through the real paths (sandbox VIP purchases, an admin refund, the player's events)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts import service as accounts
from microdrama.accounts.models import Account, Role
from microdrama.analytics import service as analytics
from microdrama.analytics.models import EpisodeView, PlaybackEvent
from microdrama.analytics.service import fold_new_events
from microdrama.catalog.models import Series
from microdrama.config import Settings
from microdrama.db import session_scope, utcnow
from microdrama.payments.models import Purchase, VipPass
from microdrama.wallet.models import LedgerTransaction
from tests.support.accounts import Headers, signed_in
from tests.support.analytics import event
from tests.support.factories import make_series
from tests.support.payments import admin_headers, pay, start_purchase, viewer


@dataclass
class VipMonth:
    """Two creators' series (episode 1 free, 2 and 3 paid) and what VIP viewers watched."""

    nova: Headers  # creator of `bride`
    nova_id: int
    heir_studio: Headers  # creator of `heir`
    heir_studio_id: int
    bride: int  # series ids
    heir: int
    admin: Headers


def send(client: TestClient, *events: dict[str, Any]) -> None:
    answer = client.post("/api/events", json={"events": list(events)})
    assert answer.status_code == 200 and answer.json()["rejected"] == [], answer.text


def watch(client: TestClient, episode_id: int, ms: int | None = None) -> None:
    """A view of the episode: to its end (None) or to `ms` (a 30-second episode)."""
    session = uuid.uuid4().hex[:12]
    last = event(episode_id, "complete", session_id=session) if ms is None else None
    send(
        client,
        event(episode_id, "start", session_id=session),
        last or event(episode_id, "progress", ms, session_id=session),
    )


def buy_vip(client: TestClient, plan: str) -> int:
    """Buy a VIP plan with the sandbox's test card; returns the purchase id."""
    created = start_purchase(client, vip_plan=plan)
    assert pay(client, created["checkout_url"]).status_code == 303
    return int(created["id"])


def _episodes(factory: sessionmaker[Session], series_id: int) -> list[int]:
    with factory() as db:
        series = db.get(Series, series_id)
        assert series is not None
        return [e.id for e in series.episodes]


def a_month_of_vip_viewing(
    app: FastAPI, factory: sessionmaker[Session], settings: Settings
) -> VipMonth:
    """Net VIP income $79.97 ($19.99 + $39.99 + $19.99 kept; another $19.99 paid and refunded)
    and VIP watch time on paid episodes of 80 s for Contract Bride and 70 s for Midnight Heir.

    What must not count: a VIP's free episode, a viewer without VIP, the views of the VIP whose
    purchase was refunded (the pass is revoked), a VIP creator watching their own series."""
    nova, nova_id = signed_in(factory, settings, role=Role.creator, name="Studio Nova")
    heir_studio, heir_studio_id = signed_in(factory, settings, role=Role.creator, name="Heir Co")
    with session_scope(factory) as db:
        bride = make_series(db, title="Contract Bride", free_episodes=1, owner=_get(db, nova_id))
        heir = make_series(
            db, title="Midnight Heir", free_episodes=1, owner=_get(db, heir_studio_id)
        )
        bride_id, heir_id = bride.id, heir.id
    b1, b2, b3 = _episodes(factory, bride_id)
    _, h2, h3 = _episodes(factory, heir_id)
    admin = admin_headers(factory, settings)

    (weekly, _), (monthly, _), (refunded, _), (no_vip, _) = [viewer(app) for _ in range(4)]
    creator = TestClient(app, headers=heir_studio)  # Heir Co's own browser, a VIP too
    buy_vip(weekly, "weekly")  # $19.99
    buy_vip(monthly, "monthly")  # $39.99
    buy_vip(creator, "weekly")  # $19.99
    refunded_purchase = buy_vip(refunded, "weekly")  # $19.99, refunded below

    watch(weekly, b1)  # a free episode: 30 s that do not count
    watch(weekly, b2)  # Contract Bride 30 s
    watch(weekly, h2, 10_000)  # Midnight Heir 10 s
    watch(monthly, b3, 20_000)  # Contract Bride 20 s
    watch(monthly, h2)  # Midnight Heir 30 s
    watch(monthly, h3)  # Midnight Heir 30 s
    watch(creator, b3)  # Contract Bride 30 s (another creator's series counts)
    watch(creator, h2)  # their own series: does not count
    watch(refunded, b2)  # the pass is revoked by the refund: does not count
    watch(no_vip, b2)  # no VIP: does not count
    watch(no_vip, h3)
    answer = TestClient(app).post(
        f"/api/admin/purchases/{refunded_purchase}/refund",
        headers={**admin, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert answer.status_code == 200, answer.text
    return VipMonth(nova, nova_id, heir_studio, heir_studio_id, bride_id, heir_id, admin)


def _get(db: Session, account_id: int) -> Account:
    account = accounts.get(db=db, account_id=account_id)
    assert account is not None
    return account


def move_everything_to(factory: sessionmaker[Session], when: datetime) -> None:
    """Shift every recorded moment (views, events, passes, purchases, ledger postings) by the
    same amount so that what happened just now happened at `when` (events older than a week
    cannot be sent, so earlier months are built this way)."""
    delta: timedelta = when - utcnow()

    def shifted(value: datetime | None) -> datetime | None:
        return None if value is None else value + delta

    # SQLite: every event folded into the views first, and the app's background folder (a
    # thread of this process) kept out while everything shifts, so no view is left behind.
    fold_new_events(factory.kw["bind"])
    with analytics._SQLITE_WRITER, session_scope(factory) as db:
        for view in db.scalars(select(EpisodeView)):
            view.started_at += delta
            view.last_at += delta
            view.paywall_shown_at = shifted(view.paywall_shown_at)
        for played in db.scalars(select(PlaybackEvent)):
            played.occurred_at += delta
            played.received_at += delta
        for vip_pass in db.scalars(select(VipPass)):
            vip_pass.starts_at += delta
            vip_pass.ends_at += delta
            vip_pass.revoked_at = shifted(vip_pass.revoked_at)
        for purchase in db.scalars(select(Purchase)):
            purchase.created_at += delta
            purchase.paid_at = shifted(purchase.paid_at)
            purchase.refunded_at = shifted(purchase.refunded_at)
        for posting in db.scalars(select(LedgerTransaction)):
            posting.created_at += delta
