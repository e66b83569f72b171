"""Route dependencies that FastAPI calls in the event loop instead of its thread pool.

FastAPI runs every `def` dependency in anyio's worker threads: a trip there and back (a lock,
a queue, two thread switches) for each, on every request, even for a dependency that only reads
`request.app.state`. `in_event_loop(fn)` is `fn` as an `async def` with the same signature, for
dependencies that never wait on I/O; the plain function stays callable from code as before.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


def in_event_loop(dependency: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """The dependency as a coroutine function (FastAPI reads the parameters through
    `__wrapped__`); only for dependencies that do no I/O."""

    @functools.wraps(dependency)
    async def call(*args: P.args, **kwargs: P.kwargs) -> T:
        return dependency(*args, **kwargs)

    return call
