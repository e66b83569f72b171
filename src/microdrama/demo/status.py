"""The demo seed's progress: what receives it (`SeedProgress`), and a small file of the data
folder that the seed writes (`StatusFile`) and the feed reads (`read_progress`).

A file rather than memory because the seed may run in another process than the page that shows
it (`microdrama seed-demo` beside a running server, or `serve --workers 2`). A seed that died
without saying so stops counting as running once its file has not been touched for
`STALE_SECONDS`: the seed rewrites it at least every `HEARTBEAT_SECONDS` while it works.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from microdrama.demo.accounts import DemoLogins
from microdrama.demo.audience import AudienceResult

FILE_NAME = "demo-seed.json"
HEARTBEAT_SECONDS = 5.0
STALE_SECONDS = 30.0


class SeedCounts(BaseModel):
    """How far a seed has come."""

    episodes_ready: int = 0
    episodes_total: int = 0
    transcoding: int = 0
    series_published: int = 0
    series_total: int = 0


class DemoProgressRead(SeedCounts):
    """What the feed shows while the demo is being prepared."""

    preparing: bool


class SeedStatus(SeedCounts):
    """One snapshot of a running (or ended) seed, as stored in the file."""

    model_config = ConfigDict(extra="forbid")

    running: bool


def status_path(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def write_status(data_dir: Path, status: SeedStatus) -> None:
    """Replace the file at once (write then rename), so a reader never sees half of it."""
    path = status_path(data_dir)
    partial = path.with_name(f".{FILE_NAME}.{os.getpid()}")
    partial.write_text(status.model_dump_json())
    partial.replace(path)


def read_progress(data_dir: Path) -> DemoProgressRead:
    """The seed's progress, or `preparing=False` when no seed is running."""
    path = status_path(data_dir)
    try:
        age_seconds = time.time() - path.stat().st_mtime
        status = SeedStatus.model_validate_json(path.read_bytes())
    except (OSError, ValueError):  # no seed ever ran here, or a foreign file
        return DemoProgressRead(preparing=False)
    if not status.running or age_seconds > STALE_SECONDS:
        return DemoProgressRead(preparing=False)
    return DemoProgressRead(preparing=True, **status.model_dump(exclude={"running"}))


class SeedProgress:
    """Receives progress; the command line shows it as bars or lines, tests ignore it."""

    def start(self, *, episodes_total: int, episodes_to_render: int) -> None: ...

    def rendered(self, title: str) -> None: ...

    def transcoding(self, *, done: float, running: list[str]) -> None: ...

    def published(self, title: str) -> None: ...

    def logins(self, logins: DemoLogins) -> None:
        """The demo's logins, once they are committed (shown at once on a first run)."""

    def audience(self, result: AudienceResult) -> None:
        """What the simulated audience did, once it is stored."""

    def finish(self) -> None: ...


class StatusFile(SeedProgress):
    """Passes progress on and keeps the status file in the data folder current."""

    def __init__(self, data_dir: Path, inner: SeedProgress, *, series_total: int) -> None:
        self.data_dir = data_dir
        self.inner = inner
        self.status = SeedStatus(running=True, series_total=series_total)
        self.written: SeedStatus | None = None
        self.written_at = 0.0

    def _write(self, *, force: bool = False) -> None:
        # Only changes and a heartbeat: the feed treats a file left untouched as a dead seed.
        heartbeat_due = time.monotonic() - self.written_at >= HEARTBEAT_SECONDS
        if force or heartbeat_due or self.status != self.written:
            write_status(self.data_dir, self.status)
            self.written = self.status.model_copy()
            self.written_at = time.monotonic()

    def start(self, *, episodes_total: int, episodes_to_render: int) -> None:
        self.status.episodes_total = episodes_total
        self._write(force=True)
        self.inner.start(episodes_total=episodes_total, episodes_to_render=episodes_to_render)

    def rendered(self, title: str) -> None:
        self.inner.rendered(title)

    def transcoding(self, *, done: float, running: list[str]) -> None:
        self.status.episodes_ready = int(done)
        self.status.transcoding = len(running)
        self._write()
        self.inner.transcoding(done=done, running=running)

    def published(self, title: str) -> None:
        self.status.series_published += 1
        self._write()
        self.inner.published(title)

    def audience(self, result: AudienceResult) -> None:
        self.inner.audience(result)

    def finish(self) -> None:
        self.status.running = False
        try:
            self._write(force=True)
        finally:
            self.inner.finish()
