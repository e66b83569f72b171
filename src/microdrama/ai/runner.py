"""One AI job's process: `python -m microdrama.ai.runner`, started by the AI worker.

The worker writes the order on stdin as JSON (job id, its claim, the handler, the settings:
secrets never go on a command line or into the environment). The job runs here with its
models loaded in this process only; the worker renews the lease meanwhile and kills this
process (SIGTERM, then SIGKILL) when the creator cancels. On SIGTERM the handler is stopped
where it is (finally blocks run, transactions roll back) and nothing is recorded: the worker
records the outcome.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from types import FrameType

from microdrama.ai.jobs import JobInterrupted, execute_claim
from microdrama.config import Settings
from microdrama.db import make_engine, make_sessionmaker
from microdrama.logs import configure_logging
from microdrama.media.jobs import Claim
from microdrama.object_storage import open_storage


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise JobInterrupted(signal.Signals(signum).name)


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    order = json.loads(sys.stdin.read())
    settings = Settings(**order["settings"])
    configure_logging(settings, level=order.get("log_level", logging.INFO))
    claim = Claim(job_id=order["job_id"], worker_id=order["worker_id"], attempts=order["attempts"])
    # Episodes follow their videos (a table read uploads one): the listener lives there.
    from microdrama.catalog import videos  # noqa: F401

    engine = make_engine(settings.effective_database_url)
    try:
        execute_claim(
            claim,
            sessions=make_sessionmaker(engine),
            settings=settings,
            storage=open_storage(settings),
            handler=order["handler"],
        )
    except JobInterrupted:
        return 143
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
