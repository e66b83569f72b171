"""A serving app keeps what it was built from out of the garbage collector's full passes.

Under load the collector's full pass walked every object the process had (≈ 230,000: modules,
routes, mappers, schemas) every few seconds and held every request for ≈ 140 ms meanwhile
(docs/performance.md); the app freezes them when it starts, and gives them back when it stops,
so an app made and stopped in a long-lived process (a test run, an embedding) leaves nothing
pinned.
"""

from __future__ import annotations

import gc

from fastapi import FastAPI
from fastapi.testclient import TestClient


def _walked_by_a_full_pass(thing: object) -> bool:
    """Whether the collector still tracks `thing` in one of its generations (frozen objects
    are in none of them)."""
    return any(obj is thing for obj in gc.get_objects())


def test_the_apps_routes_are_left_out_of_full_collections_while_it_serves(app: FastAPI) -> None:
    routes = app.router.routes
    assert _walked_by_a_full_pass(routes)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert not _walked_by_a_full_pass(routes)
        assert gc.get_freeze_count() > 0
    assert _walked_by_a_full_pass(routes)  # stopped: nothing stays pinned
