"""The same events sent three times, shuffled, by eight clients at once: each stored once."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from microdrama.accounts.models import Account
from microdrama.accounts.service import hash_device_token, new_device_token
from microdrama.analytics import service
from microdrama.analytics.models import EpisodeView, PlaybackEvent
from tests.support.factories import make_series
from tests.support.servers import running_servers, server_env

EVENTS = 10_000
CLIENTS = 8
BATCH = 500


def test_ten_thousand_events_sent_three_times_by_eight_clients_are_stored_once(
    database_url: str, tmp_path: Path, db: Session
) -> None:
    series = make_series(db, episodes=4, duration_ms=60_000)
    token = new_device_token()
    viewer = Account(device_token_hash=hash_device_token(token))
    db.add(viewer)
    db.commit()
    rng = random.Random(10)
    start = datetime.now(UTC) - timedelta(hours=2)
    episodes = [e.id for e in series.episodes]
    events = [
        {
            "event_id": f"ev-{n}",
            "kind": rng.choice(["progress", "progress", "start", "pause", "complete"]),
            "episode_id": episodes[n % 4],
            "session_id": f"session-{n // 400}",
            "position_ms": rng.randrange(0, 60_000),
            "occurred_at": (start + timedelta(milliseconds=n)).isoformat(),
        }
        for n in range(EVENTS)
    ]
    copies = events * 3
    rng.shuffle(copies)
    batches = [copies[i : i + BATCH] for i in range(0, len(copies), BATCH)]

    env = server_env(database_url=database_url, data_dir=tmp_path / "data")
    with ExitStack() as stack:
        logs = [tmp_path / f"server{n}.log" for n in (1, 2)]
        servers = stack.enter_context(running_servers(env, logs))

        def send(client_number: int) -> tuple[int, int]:
            accepted = duplicates = 0
            base_url = servers[client_number % 2]
            cookies = {"md_device": token}
            with httpx.Client(base_url=base_url, cookies=cookies, timeout=60) as client:
                for batch in batches[client_number::CLIENTS]:
                    answer = client.post("/api/events", json={"events": batch})
                    assert answer.status_code == 200, answer.text
                    body = answer.json()
                    assert body["rejected"] == []
                    accepted += body["accepted"]
                    duplicates += body["duplicates"]
            return accepted, duplicates

        with ThreadPoolExecutor(CLIENTS) as pool:
            results = list(pool.map(send, range(CLIENTS)))

    assert sum(a for a, _ in results) == EVENTS
    assert sum(d for _, d in results) == 2 * EVENTS
    stored = db.scalar(select(func.count()).select_from(PlaybackEvent))
    assert stored == EVENTS
    assert db.scalar(select(func.count(func.distinct(PlaybackEvent.account_id)))) == 1
    # The views maintained under that concurrency equal the ones rebuilt from the events.
    service.fold_new_events(db.get_bind())  # type: ignore[arg-type]  # SQLite: the rest
    views = sorted(
        (v.session_id, v.episode_id, v.furthest_ms, v.completed, v.started_at, v.last_at)
        for v in db.scalars(select(EpisodeView))
    )
    service.rebuild_views(db=db)
    db.flush()
    db.expire_all()
    rebuilt = sorted(
        (v.session_id, v.episode_id, v.furthest_ms, v.completed, v.started_at, v.last_at)
        for v in db.scalars(select(EpisodeView))
    )
    assert views == rebuilt
    assert len(views) == 25 * 4
    db.rollback()
