"""Analytics builders: one player event as the player batches them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any


def event(episode_id: int, kind: str = "progress", position_ms: int = 0, **extra: Any) -> dict:
    return {
        "event_id": uuid.uuid4().hex,
        "kind": kind,
        "episode_id": episode_id,
        "session_id": "s1",
        "position_ms": position_ms,
        "occurred_at": datetime.now(UTC).isoformat(),
        **extra,
    }
