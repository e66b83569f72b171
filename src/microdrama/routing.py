"""Routes joined as they were built: one flat list, not FastAPI's included routers.

FastAPI (since 0.137) keeps an included router as a lazy node: every app builds its own copy of
each route it includes (signatures, dependencies, response models) on its first request, about
0.3 s for our 190 routes, and every request walks the nodes (a third of the framework's time on
`/api/me`, docs/performance.md). The routes below are built once, when their module is imported,
and an app matches them in one list, in the order they were added, as Starlette does.

What it costs: a route's dependency overrides come from the router it was declared on (none), so
`app.dependency_overrides` does not reach these routes; tests replace a dependency's function
with `monkeypatch` instead. A router added here keeps its own prefix and tags and takes none from
the router it is added to.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

_PLAIN = (APIRoute, Route, Mount, WebSocketRoute)


def add_routes(target: APIRouter, source: APIRouter) -> None:
    """Append the source router's routes, as built, to the target (an app's router or a module's
    router that groups several)."""
    nested: list[BaseRoute] = [route for route in source.routes if not isinstance(route, _PLAIN)]
    if nested:
        raise TypeError(
            f"{source!r} holds routes that are not plain ({nested[0]!r}): add sub-routers "
            "with add_routes, not include_router"
        )
    if source.on_startup or source.on_shutdown:
        raise TypeError(f"{source!r} has event handlers: the app's lifespan runs them instead")
    target.routes.extend(source.routes)
