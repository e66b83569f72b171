"""Prometheus metrics: what each web process counts itself (HTTP requests by route template,
webhook failures), and what every process reads alike from the database (queues, job
durations, unlocks, purchases, orders, event ingestion lag) at scrape time.

Several web processes (`microdrama serve --workers N`) share one exposition through
prometheus-client's multiprocess mode: `serve` points PROMETHEUS_MULTIPROC_DIR at a folder of
its own under data_dir before any process imports prometheus_client (the mode is chosen at
that import), and each process writes its counters there. The database figures are the same
in every process and on every machine: on a dashboard, take their max() across targets, and
sum() only the HTTP counters.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from microdrama.ops.multiproc import MULTIPROC_ENV, process_alive
from microdrama.ops.snapshot import DURATION_BUCKETS_S, SystemFigures

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds: from a bare route's 0.1 ms to a slow report's seconds.
HTTP_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def multiprocess_mode() -> bool:
    """Whether this process writes its metrics to PROMETHEUS_MULTIPROC_DIR (decided when
    prometheus_client was first imported)."""
    return values.ValueClass is not values.MutexValue


class HttpMetrics:
    """The web process's own counters (one set per process: prometheus-client refuses a name
    registered twice, and the app may be built more than once in a process)."""

    def __init__(self) -> None:
        self.requests = Counter(
            "microdrama_http_requests",
            "HTTP requests answered, by method, route template and status class.",
            ["method", "route", "status"],
        )
        self.duration = Histogram(
            "microdrama_http_request_duration_seconds",
            "Time to answer an HTTP request, by method, route template and status class.",
            ["method", "route", "status"],
            buckets=HTTP_BUCKETS_S,
        )
        # One sample per live web process under `serve --workers N` (its pid a label).
        self.process_up = Gauge(
            "microdrama_web_process_up",
            "1 for each live web process.",
            multiprocess_mode="liveall",
        )
        self.webhook_failures = Counter(
            "microdrama_payment_webhook_failures",
            "Payment provider webhooks refused or failed (4xx: bad signature or payload; "
            "5xx: our error, the provider retries).",
            ["provider", "status"],
        )


_http_metrics: HttpMetrics | None = None


def http_metrics() -> HttpMetrics:
    global _http_metrics
    if _http_metrics is None:
        _http_metrics = HttpMetrics()
    return _http_metrics


# ---------------------------------------------------------------------------------------------
# Exposition


class _DatabaseFigures:
    """A collector of one SystemFigures snapshot (built for one scrape)."""

    def __init__(self, figures: SystemFigures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        return iter(database_metrics(self.figures))


def database_metrics(figures: SystemFigures) -> Iterable[Metric]:
    transcode = GaugeMetricFamily(
        "microdrama_transcode_jobs",
        "Transcode jobs by state (queued and running: the queue's depth).",
        labels=["state"],
    )
    for state, count in sorted(figures.transcode.by_state.items()):
        transcode.add_metric([state], count)
    yield transcode
    yield GaugeMetricFamily(
        "microdrama_transcode_oldest_queued_seconds",
        "Age of the oldest queued transcode job (0 when none waits).",
        value=figures.transcode.oldest_queued_s,
    )
    durations = HistogramMetricFamily(
        "microdrama_transcode_job_duration_seconds",
        "Time from a transcode job's (last) claim to its end, over finished jobs.",
        labels=["state"],
    )
    for state, histogram in sorted(figures.transcode.durations.items()):
        buckets = [
            (_le(bound), count)
            for bound, count in zip(DURATION_BUCKETS_S, histogram.buckets, strict=True)
        ]
        buckets.append(("+Inf", histogram.count))
        durations.add_metric([state], buckets, histogram.sum_s)
    yield durations
    ai = GaugeMetricFamily(
        "microdrama_ai_jobs", "AI jobs by kind and state.", labels=["kind", "state"]
    )
    for (kind, state), count in sorted(figures.ai.by_kind_state.items()):
        ai.add_metric([kind, state], count)
    yield ai
    yield GaugeMetricFamily(
        "microdrama_ai_oldest_queued_seconds",
        "Age of the oldest queued AI job (0 when none waits).",
        value=figures.ai.oldest_queued_s,
    )
    alive = GaugeMetricFamily(
        "microdrama_workers_alive",
        "Workers whose heartbeat was renewed lately (idle or busy), by queue.",
        labels=["queue"],
    )
    for queue in ("transcode", "ai"):
        alive.add_metric([queue], figures.alive(queue))
    yield alive
    workers = GaugeMetricFamily(
        "microdrama_workers_busy",
        "Workers holding a live lease on a job, by queue.",
        labels=["queue"],
    )
    workers.add_metric(["transcode"], len(figures.transcode.busy_workers))
    workers.add_metric(["ai"], len(figures.ai.busy_workers))
    yield workers
    unlocks = CounterMetricFamily(
        "microdrama_unlocks", "Episodes unlocked, by how (rows in unlocks).", labels=["method"]
    )
    for method, count in sorted(figures.business.unlocks_by_method.items()):
        unlocks.add_metric([method], count)
    yield unlocks
    purchases = CounterMetricFamily(
        "microdrama_purchases",
        "Purchases started at checkout, by kind (coin pack, VIP, shop order).",
        labels=["kind"],
    )
    paid = CounterMetricFamily(
        "microdrama_purchases_paid", "Purchases paid, by kind.", labels=["kind"]
    )
    for kind, (started, was_paid) in sorted(figures.business.purchases_by_kind.items()):
        purchases.add_metric([kind], started)
        paid.add_metric([kind], was_paid)
    yield purchases
    yield paid
    yield CounterMetricFamily(
        "microdrama_shop_orders", "Shop orders placed at checkout.", value=figures.business.orders
    )
    yield CounterMetricFamily(
        "microdrama_shop_orders_paid", "Shop orders paid.", value=figures.business.orders_paid
    )
    yield GaugeMetricFamily(
        "microdrama_playback_events_unrolled",
        "Playback events stored but not yet folded into the dashboards' rollup.",
        value=figures.events.unrolled,
    )
    yield GaugeMetricFamily(
        "microdrama_playback_events_rollup_lag_seconds",
        "Age of the oldest playback event not yet in the rollup (0: up to date).",
        value=figures.events.oldest_unrolled_s,
    )
    if figures.events.last_received_s is not None:
        yield GaugeMetricFamily(
            "microdrama_playback_events_last_received_seconds",
            "Seconds since the newest playback event was stored.",
            value=figures.events.last_received_s,
        )


def _le(bound: float) -> str:
    return f"{bound:g}" if bound != int(bound) else f"{bound:.1f}"


def forget_dead_processes(directory: str) -> None:
    """A web process that died (and was replaced by uvicorn) is no longer live: its live
    gauges go; its counters stay, or the totals would go down."""
    for file in Path(directory).glob("gauge_live*_*.db"):
        pid = int(file.stem.rsplit("_", 1)[1])
        if not process_alive(pid):
            mark_process_dead(pid, directory)


def exposition(figures: SystemFigures) -> bytes:
    """The whole /metrics answer: this server's processes' counters and the database's."""
    if multiprocess_mode():
        directory = os.environ[MULTIPROC_ENV]
        forget_dead_processes(directory)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)
        own = generate_latest(registry)
    else:
        own = generate_latest(REGISTRY)
    database = CollectorRegistry()
    database.register(_DatabaseFigures(figures))
    return own + generate_latest(database)
