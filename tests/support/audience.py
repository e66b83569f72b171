"""A simulated audience: thousands of viewing sessions with known drop-off and continuation
rates, sent as the player would send them (batched events) through the real ingestion endpoint.

The outcomes are allocated by quota (exactly `share * viewers` leave at each planned second,
in shuffled order), so the truth is known exactly and the dashboard must reproduce it; the
tests allow the 1 % the issue asks for. Reused by bench/events.py.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

PROGRESS_EVERY_MS = 5_000

Post = Callable[[list[dict[str, Any]]], Any]  # sends one batch for the current viewer


@dataclass(frozen=True)
class EpisodePlan:
    episode_id: int
    duration_ms: int
    # second -> share of the viewers who start the episode and leave at that second
    drop_offs: dict[int, float]
    # share of those who finish it who go on to the next episode in the same session
    continuation: float


@dataclass
class Truth:
    """What actually happened, per episode id."""

    views: dict[int, int] = field(default_factory=dict)
    completed: dict[int, int] = field(default_factory=dict)
    continued: dict[int, int] = field(default_factory=dict)
    left_at: dict[int, list[int]] = field(default_factory=dict)  # one drop second per leaver

    def retention(self, episode_id: int, duration_s: int) -> list[float]:
        views = self.views[episode_id]
        left = self.left_at.get(episode_id, [])
        return [
            (views - sum(1 for s in left if s < second)) / views for second in range(duration_s + 1)
        ]

    def continuation(self, episode_id: int) -> float:
        return self.continued.get(episode_id, 0) / self.completed[episode_id]


def _quota(count: int, shares: dict[Any, float], rest: Any) -> list[Any]:
    """`count` outcomes with exactly round(share * count) of each, the rest `rest`."""
    outcomes: list[Any] = []
    for outcome, share in shares.items():
        outcomes += [outcome] * round(share * count)
    assert len(outcomes) <= count
    return outcomes + [rest] * (count - len(outcomes))


@dataclass
class Session:
    viewer: int
    session_id: str
    views: list[tuple[EpisodePlan, int | None]]  # (episode, second left at; None = finished)


def plan_sessions(
    plans: list[EpisodePlan], *, sessions: int, viewers: int, seed: int
) -> tuple[list[Session], Truth]:
    """Every session starts at the first episode and goes on episode by episode, by quota."""
    rng = random.Random(seed)
    truth = Truth()
    everyone = [
        Session(viewer=i % viewers, session_id=f"sim-{seed}-{i}", views=[]) for i in range(sessions)
    ]
    live = everyone
    for index, plan in enumerate(plans):
        outcomes = _quota(len(live), plan.drop_offs, None)
        rng.shuffle(outcomes)
        truth.views[plan.episode_id] = len(live)
        truth.left_at[plan.episode_id] = [o for o in outcomes if o is not None]
        finishers = []
        for session, left_at in zip(live, outcomes, strict=True):
            session.views.append((plan, left_at))
            if left_at is None:
                finishers.append(session)
        truth.completed[plan.episode_id] = len(finishers)
        if index + 1 == len(plans):
            break
        goes_on = _quota(len(finishers), {True: plan.continuation}, False)
        rng.shuffle(goes_on)
        live = [s for s, go in zip(finishers, goes_on, strict=True) if go]
        truth.continued[plan.episode_id] = len(live)
    return everyone, truth


def session_events(
    session: Session, *, started: datetime, rng: random.Random
) -> list[dict[str, Any]]:
    """The events the player sends for one session: start, progress every 5 s, a pause and a
    seek back now and then, and a swipe-away where the viewer leaves or complete at the end."""
    events: list[dict[str, Any]] = []
    clock = started

    def emit(kind: str, episode_id: int, position_ms: int) -> None:
        events.append(
            {
                "event_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                "kind": kind,
                "episode_id": episode_id,
                "session_id": session.session_id,
                "position_ms": position_ms,
                "occurred_at": (clock + timedelta(milliseconds=position_ms)).isoformat(),
            }
        )

    for plan, left_at in session.views:
        end_ms = plan.duration_ms if left_at is None else left_at * 1000
        emit("start", plan.episode_id, 0)
        for position in range(PROGRESS_EVERY_MS, end_ms, PROGRESS_EVERY_MS):
            emit("progress", plan.episode_id, position)
            if rng.random() < 0.05:
                emit("pause", plan.episode_id, position)
            if rng.random() < 0.05:
                emit("seek", plan.episode_id, max(0, position - 3_000))  # a rewatch, backwards
        if left_at is None:
            emit("complete", plan.episode_id, plan.duration_ms)
        else:
            emit("swipe_away", plan.episode_id, end_ms)
        clock += timedelta(milliseconds=end_ms + 500)
    return events


def batches_by_viewer(
    sessions: list[Session], *, seed: int, batch_size: int = 200
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """(viewer, batch) pairs: each viewer's events in batches of up to `batch_size`, the way a
    device's queue sends them (its sessions one after the other)."""
    rng = random.Random(seed)
    started = datetime.now(UTC) - timedelta(days=1)  # sessions 40 min apart, all in the past
    by_viewer: dict[int, list[Session]] = {}
    for session in sessions:
        by_viewer.setdefault(session.viewer, []).append(session)
    for viewer, own in sorted(by_viewer.items()):
        events: list[dict[str, Any]] = []
        for n, session in enumerate(own):
            events += session_events(session, started=started + timedelta(minutes=40 * n), rng=rng)
        for first in range(0, len(events), batch_size):
            yield viewer, events[first : first + batch_size]


def drive(sessions: list[Session], *, new_viewer: Callable[[], Post], seed: int) -> int:
    """Send every session's events, one device per simulated viewer; returns the events sent."""
    sent = 0
    current: int | None = None
    post: Post | None = None
    for viewer, batch in batches_by_viewer(sessions, seed=seed):
        if viewer != current or post is None:
            current, post = viewer, new_viewer()
        post(batch)
        sent += len(batch)
    return sent
