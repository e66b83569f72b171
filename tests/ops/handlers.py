"""An AI-job handler for the request id's test: it only says something in the log."""

from __future__ import annotations

import logging
from typing import Any

from microdrama.ai.jobs import JobContext

HERE = "tests.ops.handlers"


def says_hello(ctx: JobContext) -> dict[str, Any]:
    logging.getLogger("tests.ops.handlers").warning("hello from AI job %s", ctx.job_id)
    return {"said": "hello"}
