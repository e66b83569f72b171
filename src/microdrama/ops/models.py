"""Workers' heartbeats: every worker process says it is alive, busy or idle."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from microdrama.db import Base


class WorkerHeartbeat(Base):
    """One running worker (transcode or AI), renewed every HEARTBEAT_SECONDS while it runs and
    deleted when it stops; a row not renewed for a while is a worker that died."""

    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    queue: Mapped[str] = mapped_column(String(20))  # transcode, ai
    started_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
