"""/metrics in Prometheus' text format: requests by route template (never the raw path), the
transcode and AI queues, unlocks, purchases, orders, webhook failures and the events' rollup;
served to the operator's network or with its token only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker

from microdrama.ai.models import AIJob, AIJobKind, AIJobState
from microdrama.analytics.models import PlaybackEvent
from microdrama.config import Settings
from microdrama.db import session_scope, utcnow
from microdrama.media.models import JobState, TranscodeJob
from microdrama.paywall.models import Unlock, UnlockMethod
from tests.support.factories import make_series

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: TestClient) -> Samples:
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_requests_are_counted_and_timed_by_route_template(local_client: TestClient) -> None:
    before = scrape(local_client)
    for series_id in (424242, 737373):
        assert local_client.get(f"/api/series/{series_id}").status_code == 404
    assert local_client.get("/healthz").status_code == 200
    assert local_client.get("/no/such/page/a1b2c3").status_code == 404
    after = scrape(local_client)

    route = {"method": "GET", "route": "/api/series/{series_id}", "status": "4xx"}
    counted = "microdrama_http_requests_total"
    assert value(after, counted, **route) - value(before, counted, **route) == 2
    timed = "microdrama_http_request_duration_seconds_count"
    assert value(after, timed, **route) - value(before, timed, **route) == 2
    health = {"method": "GET", "route": "/healthz", "status": "2xx"}
    assert value(after, counted, **health) - value(before, counted, **health) == 1
    unmatched = {"method": "GET", "route": "unmatched", "status": "4xx"}
    assert value(after, counted, **unmatched) - value(before, counted, **unmatched) == 1
    # Raw paths never become labels: as many label values as routes, whatever clients ask.
    routes = {dict(labels).get("route") for _name, labels in after}
    assert not any(r and ("424242" in r or "a1b2c3" in r) for r in routes)


def test_every_answer_carries_a_request_id(local_client: TestClient) -> None:
    mine = local_client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.9"})
    assert mine.headers["X-Request-ID"] == "lb-7f3a.9"
    ours = local_client.get("/api/series/1", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert ours.headers["X-Request-ID"] != "<script>alert(1)</script>"
    assert len(ours.headers["X-Request-ID"]) == 32  # a new one instead


def test_metrics_are_refused_outside_the_operators_network(
    app: FastAPI, settings: Settings
) -> None:
    with TestClient(app, client=("203.0.113.9", 40_000)) as outsider:
        refused = outsider.get("/metrics")
        assert refused.status_code == 403
        assert refused.json()["error"] == "forbidden"
        settings.metrics_token = "s3cret-scrape-token"  # the app shares this settings object
        assert (
            outsider.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
        )
        allowed = outsider.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})
        assert allowed.status_code == 200
    with TestClient(app, client=("10.1.2.3", 40_000)) as inside:  # a private network
        assert inside.get("/metrics").status_code == 200


def test_webhook_failures_are_counted(local_client: TestClient) -> None:
    labels = {"provider": "sandbox", "status": "4xx"}
    name = "microdrama_payment_webhook_failures_total"
    before = value(scrape(local_client), name, **labels)
    refused = local_client.post(
        "/api/payments/webhooks/sandbox", content=b"{}", headers={"Stripe-Signature": "t=1,v1=x"}
    )
    assert refused.status_code == 400
    assert value(scrape(local_client), name, **labels) - before == 1


def test_queues_unlocks_and_the_events_rollup_are_read_from_the_database(
    app: FastAPI, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    now = utcnow()
    with session_scope(db_factory) as db:
        series = make_series(db, episodes=2)
        asset_id = series.episodes[0].media_asset_id
        assert asset_id is not None
        db.add_all(
            [
                TranscodeJob(
                    asset_id=asset_id, state=JobState.queued, created_at=now - timedelta(minutes=3)
                ),
                TranscodeJob(
                    asset_id=asset_id,
                    state=JobState.done,
                    started_at=now - timedelta(seconds=40),
                    finished_at=now - timedelta(seconds=20),
                ),
                TranscodeJob(
                    asset_id=asset_id,
                    state=JobState.failed,
                    error="ffmpeg: moov atom not found",
                    started_at=now - timedelta(seconds=9),
                    finished_at=now - timedelta(seconds=5),
                ),
                AIJob(kind=AIJobKind.captions, owner_id=series.owner_id, state=AIJobState.queued),
                Unlock(
                    account_id=series.owner_id,
                    episode_id=series.episodes[1].id,
                    series_id=series.id,
                    method=UnlockMethod.coins,
                    price_coins=60,
                ),
                PlaybackEvent(
                    account_id=series.owner_id,
                    event_id="e-1",
                    kind="start",
                    series_id=series.id,
                    episode_id=series.episodes[0].id,
                    session_id="s-1",
                    occurred_at=now - timedelta(seconds=30),
                    received_at=now - timedelta(seconds=30),
                ),
            ]
        )
    with TestClient(app, client=("127.0.0.1", 50_000)) as client:
        samples = scrape(client)
    assert value(samples, "microdrama_transcode_jobs", state="queued") == 1
    assert value(samples, "microdrama_transcode_jobs", state="failed") == 1
    assert value(samples, "microdrama_transcode_oldest_queued_seconds") >= 170
    histogram = "microdrama_transcode_job_duration_seconds"
    assert value(samples, histogram + "_count", state="done") == 1
    assert value(samples, histogram + "_bucket", state="done", le="10.0") == 0
    assert value(samples, histogram + "_bucket", state="done", le="30.0") == 1
    assert value(samples, histogram + "_sum", state="done") == pytest.approx(20.0, abs=0.5)
    assert value(samples, "microdrama_ai_jobs", kind="captions", state="queued") == 1
    assert value(samples, "microdrama_unlocks_total", method="coins") == 1
    assert value(samples, "microdrama_shop_orders_total") == 0
    # PostgreSQL folds events into the rollup as it stores them; SQLite a moment later, and
    # this event was written around the ingestion, so it waits.
    if settings.effective_database_url.startswith("sqlite"):
        assert value(samples, "microdrama_playback_events_unrolled") == 1
        assert value(samples, "microdrama_playback_events_rollup_lag_seconds") >= 25
    else:
        assert value(samples, "microdrama_playback_events_unrolled") == 0
    assert value(samples, "microdrama_playback_events_last_received_seconds") >= 25
