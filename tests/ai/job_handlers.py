"""Tiny AI-job handlers for the job system's tests (no model: the platform is what is tested)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from microdrama.ai.jobs import JobContext, JobFailed

HERE = "tests.ai.job_handlers"


def steps(ctx: JobContext) -> dict[str, Any]:
    """`steps` steps of `sleep` seconds, reporting each; returns which process ran it."""
    count = int(ctx.payload.get("steps", 3))
    for i in range(count):
        ctx.progress(i / count, f"Step {i + 1} of {count}")
        time.sleep(float(ctx.payload.get("sleep", 0.0)))
    ctx.progress(1.0, "All steps done")
    return {"steps": count, "pid": os.getpid()}


def stubborn(ctx: JobContext) -> dict[str, Any]:
    """Says where it runs, then works for a long time without looking at progress (as a model
    deep in native code does): only a kill stops it. Writes its output only at the very end."""
    ctx.progress(0.1, "Working hard")
    ctx.flush()
    Path(ctx.payload["pid_file"]).write_text(str(os.getpid()))
    deadline = time.monotonic() + float(ctx.payload.get("seconds", 60))
    while time.monotonic() < deadline:
        time.sleep(0.05)
    Path(ctx.payload["out"]).write_text("finished")
    return {"finished": True}


def gives_up(ctx: JobContext) -> dict[str, Any]:
    raise JobFailed("The premise is empty: write one sentence about your series.")


def crashes(ctx: JobContext) -> dict[str, Any]:
    raise RuntimeError("internal detail: /srv/secret/path exploded")


def dies(ctx: JobContext) -> dict[str, Any]:
    """The process ends abruptly (a segfault, the out-of-memory killer)."""
    os._exit(139)
