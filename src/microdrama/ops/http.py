"""Every HTTP request: its request id (kept from a well-formed X-Request-ID, else new, and sent
back), its count and duration by route template, and one log line.

Plain ASGI, not BaseHTTPMiddleware: no extra task per request, and the request id's context
variable is the endpoint's own (jobs it queues take it). Routes are labelled by template
(`/api/series/{series_id}`), mounts by their prefix (`/media/{path}`), and a path that matched
nothing as "unmatched": the labels stay as few as the routes, whatever clients send.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from microdrama.logs import get_logger, request_id_from, reset_request_id, set_request_id
from microdrama.ops.metrics import http_metrics

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
UNMATCHED = "unmatched"
WEBHOOK_ROUTE = "/api/payments/webhooks/{provider}"
WEBHOOK_PROVIDERS = frozenset({"sandbox", "stripe"})
# Probes and scrapes come every few seconds: counted, but not logged line by line.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def route_label(scope: Scope) -> str:
    """The route template the request matched, the mount it fell into, or UNMATCHED."""
    route = scope.get("route")
    path_format = getattr(route, "path_format", None)
    if isinstance(path_format, str):
        return path_format
    if "endpoint" in scope and scope.get("root_path"):  # a Mount (static files, media)
        return f"{scope['root_path']}/{{path}}"
    return UNMATCHED


class RequestTelemetry:
    def __init__(self, app: ASGIApp, *, access_log: bool) -> None:
        self.app = app
        self.access_log = access_log
        self.metrics = http_metrics()
        self.metrics.process_up.set(1)
        self.log = get_logger("microdrama.http")
        # (method, route, status class) -> the labelled counter and histogram: labels() takes
        # a lock and builds a key, once per combination instead of once per request.
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_from(_header(scope, b"x-request-id"))
        token = set_request_id(request_id)
        raw_id = request_id.encode()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", raw_id)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            reset_request_id(token)
            self._record(scope, status, started, request_id)

    def _record(self, scope: Scope, status: int, started: float, request_id: str) -> None:
        elapsed_s = time.perf_counter() - started
        method = scope["method"] if scope["method"] in METHODS else "other"
        route = route_label(scope)
        status_class = STATUS_CLASSES[min(max(status // 100, 1), 5) - 1]
        key = (method, route, status_class)
        children = self._children.get(key)
        if children is None:
            children = (
                self.metrics.requests.labels(*key),
                self.metrics.duration.labels(*key),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(elapsed_s)
        if route == WEBHOOK_ROUTE and status >= 400:
            provider = scope.get("path_params", {}).get("provider")
            self.metrics.webhook_failures.labels(
                provider if provider in WEBHOOK_PROVIDERS else "other", status_class
            ).inc()
        if self.access_log and scope["path"] not in QUIET_PATHS:
            self.log.info(
                "request",
                method=scope["method"],
                route=route,
                path=scope["path"][:200],
                status=status,
                duration_ms=round(elapsed_s * 1000, 2),
                request_id=request_id,
            )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None
