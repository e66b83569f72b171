"""The demo seed's progress in a small file of the data folder: the seed writes, the feed reads.

A file rather than memory because the seed may run in another process than the page that shows
it (`microdrama seed-demo` beside a running server, or `serve --workers 2`). A seed that died
without saying so stops counting as running once its file has not been touched for
`STALE_SECONDS`: the seed rewrites it at least every `HEARTBEAT_SECONDS` while it works.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from pydantic import BaseModel

FILE_NAME = "demo-seed.json"
HEARTBEAT_SECONDS = 5.0
STALE_SECONDS = 30.0


class DemoProgressRead(BaseModel):
    """What the feed shows while the demo is being prepared."""

    preparing: bool
    episodes_ready: int = 0
    episodes_total: int = 0
    transcoding: int = 0
    series_published: int = 0
    series_total: int = 0


@dataclass
class SeedStatus:
    """One snapshot of a running (or ended) seed, as stored in the file."""

    running: bool
    episodes_ready: int = 0
    episodes_total: int = 0
    transcoding: int = 0
    series_published: int = 0
    series_total: int = 0


def status_path(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def write_status(data_dir: Path, status: SeedStatus) -> None:
    """Replace the file at once (write then rename), so a reader never sees half of it."""
    path = status_path(data_dir)
    partial = path.with_name(f".{FILE_NAME}.{os.getpid()}")
    partial.write_text(json.dumps(asdict(status)))
    partial.replace(path)


def read_progress(data_dir: Path) -> DemoProgressRead:
    """The seed's progress, or `preparing=False` when no seed is running."""
    path = status_path(data_dir)
    try:
        age_seconds = time.time() - path.stat().st_mtime
        stored = json.loads(path.read_text())
        status = SeedStatus(**stored)
    except (OSError, ValueError, TypeError):  # no seed ever ran here, or a foreign file
        return DemoProgressRead(preparing=False)
    if not status.running or age_seconds > STALE_SECONDS:
        return DemoProgressRead(preparing=False)
    return DemoProgressRead(
        preparing=True,
        episodes_ready=status.episodes_ready,
        episodes_total=status.episodes_total,
        transcoding=status.transcoding,
        series_published=status.series_published,
        series_total=status.series_total,
    )
