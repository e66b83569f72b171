"""An AI worker in a process of its own, for tests that kill it: settings and handlers as
JSON on stdin; runs until SIGTERM (or SIGKILL, which is the point)."""

from __future__ import annotations

import json
import signal
import sys
import threading

from microdrama.ai.jobs import AIWorker
from microdrama.ai.models import AIJobKind
from microdrama.config import Settings
from microdrama.db import make_engine, make_sessionmaker


def main() -> None:
    order = json.loads(sys.stdin.read())
    settings = Settings(**order["settings"])
    engine = make_engine(settings.effective_database_url)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    worker = AIWorker(
        sessions=make_sessionmaker(engine),
        settings=settings,
        handlers={AIJobKind(k): v for k, v in order["handlers"].items()},
    )
    worker.run(stop=stop, poll_seconds=0.1)
    engine.dispose()


if __name__ == "__main__":
    main()
