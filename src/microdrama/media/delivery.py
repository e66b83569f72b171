"""Sending stored objects to browsers from any store: media under the media URL prefix when the
store has no local folder to serve (a bucket), and an original upload to the operator who
reviews it. Ranges, ETags, content types and cache headers as the local delivery has them.

Served through the app rather than by a redirect to a presigned URL: the URLs stay stable (a
segment is cached once by the browser and any proxy, where a presigned URL changes with every
signature), the bucket stays private and needs no CORS rules for the player, and a segment
costs one round trip, not two (bench/storage.py measures both). A CDN or the bucket itself
serves them instead when MICRODRAMA_MEDIA_URL_PREFIX points at it.
"""

from __future__ import annotations

from datetime import UTC
from email.utils import format_datetime
from pathlib import PurePosixPath

from starlette.background import BackgroundTask
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route, Router

from microdrama.storage import (
    RangeNotSatisfiable,
    Storage,
    cache_control,
    media_type,
    parse_range,
)

# Objects up to this size are read whole in one thread hop (segments, posters, thumbnails);
# larger ones (an original upload) are streamed in chunks.
READ_WHOLE_BYTES = 4 * 1024 * 1024


def is_public(key: str) -> bool:
    """Whether the media URL may hand out this key: original uploads and half-written files
    never; nor playlists, which only the gated episode routes hand out (with the key URL)."""
    path = PurePosixPath(key)
    return "source" not in path.parts[:-1] and path.suffix.lower() not in {".part", ".m3u8"}


def answer_stored(
    storage: Storage, key: str, *, headers: Headers, method: str, cache: str
) -> Response:
    """The object under key as an HTTP answer (200, 206, 304, 404 or 416), for a request with
    these headers; blocks while the store answers (call it from a worker thread)."""
    try:
        found = storage.open_object(
            key,
            byte_range=parse_range(headers.get("range")),
            if_none_match=headers.get("if-none-match"),
        )
    except (FileNotFoundError, ValueError):
        raise HTTPException(status_code=404) from None
    except RangeNotSatisfiable as exc:
        return Response(status_code=416, headers={"content-range": f"bytes */{exc.size}"})
    answer = {"cache-control": cache, "etag": found.etag, "accept-ranges": "bytes"}
    # format_datetime wants the stdlib's UTC (botocore's times carry dateutil's).
    answer["last-modified"] = format_datetime(found.modified_at.astimezone(UTC), usegmt=True)
    if found.not_modified:
        return Response(status_code=304, headers=answer)
    status = 206 if found.partial else 200
    if found.partial:
        answer["content-range"] = f"bytes {found.first}-{found.last}/{found.size}"
    if method == "HEAD" or found.length <= READ_WHOLE_BYTES:
        try:
            body = b"" if method == "HEAD" else b"".join(found.chunks)
        finally:
            found.close()
        answer["content-length"] = str(found.length)
        return Response(body, status_code=status, headers=answer, media_type=media_type(key))
    answer["content-length"] = str(found.length)
    return StreamingResponse(
        iterate_in_threadpool(found.chunks),
        status_code=status,
        headers=answer,
        media_type=media_type(key),
        background=BackgroundTask(found.close),
    )


def stored_media_app(storage: Storage) -> Router:
    """The media URL prefix served from the store (mounted when it has no local folder)."""

    async def serve(request: Request) -> Response:
        key = request.path_params["key"]
        if not is_public(key):
            raise HTTPException(status_code=404)
        return await run_in_threadpool(
            answer_stored,
            storage,
            key,
            headers=request.headers,
            method=request.method,
            cache=cache_control(key),
        )

    return Router(routes=[Route("/{key:path}", serve, methods=["GET", "HEAD"])])
