"""Media builders: the shape of the fixture that runs the next transcode job, as a worker would."""

from __future__ import annotations

from collections.abc import Callable

# run_job(**kwargs) -> whether a job was run (the media and studio folders each provide one).
RunJob = Callable[..., bool]
