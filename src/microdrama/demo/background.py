"""The demo seed as a background thread of `microdrama serve`, so the app answers at once.

Why a thread of the server process and not a second process started by dev.sh: one process
means one Ctrl-C stops both (a non-interactive shell's background job ignores SIGINT and would
go on rendering after the server is gone), the seed's clips are transcoded by the server's
embedded worker next to the seed's own, and nothing is left behind to clean up. Its progress
reaches the feed through the status file (`microdrama.demo.status`), which works for any
number of web processes.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from microdrama.config import Settings
from microdrama.demo.seed import SeedResult, seed_demo
from microdrama.demo.status import SeedProgress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoSize:
    """How much demo to make (the defaults are the demo people see; tests make a tiny one)."""

    series: int = 3
    episodes: int = 8
    seconds: float = 15.0
    width: int = 720
    height: int = 1280
    # None: seed_demo's defaults (the short series and the audience come with the full demo).
    short_series: int | None = None
    audience_viewers: int | None = None


class BackgroundSeed:
    """Seeds the demo on first run (no series of anyone else yet) while the server runs."""

    def __init__(
        self,
        *,
        settings: Settings,
        progress: SeedProgress | None = None,
        size: DemoSize | None = None,
        transcode_workers: int = 1,
    ) -> None:
        self.settings = settings
        self.progress = progress
        self.size = size or DemoSize()
        # The server's embedded worker transcodes too: with one thread of the seed's own, two
        # episodes are encoded at a time while two more are rendered.
        self.transcode_workers = transcode_workers
        self.result: SeedResult | None = None
        self.error: Exception | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="demo-seed", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.result = seed_demo(
                settings=self.settings,
                series_count=self.size.series,
                episodes_per_series=self.size.episodes,
                seconds=self.size.seconds,
                width=self.size.width,
                height=self.size.height,
                short_series=self.size.short_series,
                audience_viewers=self.size.audience_viewers,
                if_empty=True,
                transcode_workers=self.transcode_workers,
                progress=self.progress,
                stop=self._stop,
            )
        except Exception as error:  # the server keeps serving; the next start resumes
            self.error = error
            if not self._stop.is_set():
                log.exception("demo seed failed")

    def join(self, timeout_s: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout_s)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout_s: float = 20.0) -> None:
        """Ask the seed to end early (the next start resumes it) and wait for it a while."""
        self._stop.set()
        self.join(timeout_s)
