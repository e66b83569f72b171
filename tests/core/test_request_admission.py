"""More requests than the connection pool serves wait at the door instead of deadlocking the
thread pool against the connection pool (db.RequestAdmission; bench/load found it)."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine

from microdrama.db import RequestAdmission, admission_limit, pool_capacity


def _counting_app() -> tuple[Any, dict[str, int]]:
    seen = {"now": 0, "most": 0, "done": 0}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen["now"] += 1
        seen["most"] = max(seen["most"], seen["now"])
        await asyncio.sleep(0.01)
        seen["now"] -= 1
        seen["done"] += 1

    return app, seen


def _requests(app: Any, paths: list[str]) -> None:
    """Send the requests at once, on an event loop of their own thread (a browser test's
    Playwright may be running a loop on this one)."""

    async def noop(*_: Any) -> Any:
        return None

    async def scenario() -> None:
        await asyncio.gather(*(app({"type": "http", "path": p}, noop, noop) for p in paths))

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, scenario()).result()


def test_requests_beyond_the_limit_wait_their_turn_and_all_are_answered() -> None:
    inner, seen = _counting_app()
    admission = RequestAdmission(inner, limit=3, exempt=re.compile(r"/media/"))

    _requests(admission, ["/api/feed"] * 40)

    assert seen == {"now": 0, "most": 3, "done": 40}


def test_media_and_static_paths_are_not_held_back() -> None:
    inner, seen = _counting_app()
    admission = RequestAdmission(inner, limit=1, exempt=re.compile(r"/static/|/media/"))

    _requests(admission, ["/media/assets/1/hls/a.ts"] * 10)

    assert seen["most"] == 10


def test_a_process_admits_two_connections_a_request_within_its_pool(engine: Engine) -> None:
    capacity = pool_capacity(engine)
    assert 2 * admission_limit(engine) <= capacity
    assert admission_limit(engine) >= 1
