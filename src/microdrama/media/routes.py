"""Media API: upload sources, follow transcode jobs; and the static delivery of renditions."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import IO

from fastapi import APIRouter, FastAPI, Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

from microdrama.accounts.deps import CurrentViewer
from microdrama.config import Settings
from microdrama.db import DbSession
from microdrama.errors import DomainError, PayloadTooLarge
from microdrama.media import service
from microdrama.media.delivery import is_public, stored_media_app
from microdrama.media.schemas import JobRead
from microdrama.storage import MEDIA_TYPES, Storage, cache_control, disk_full_refused
from microdrama.types import PathId

router = APIRouter(prefix="/api", tags=["media"])

# Room for the multipart framing and the small text fields around the file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
MAX_FIELD_BYTES = 4096


class BadUpload(DomainError, code="bad_upload", status_code=400): ...


class _UploadReceiver:
    """Parses a multipart body as it arrives: the file part goes straight to disk."""

    def __init__(self, file_path: Path, *, max_file_bytes: int) -> None:
        self.file_path = file_path
        self.max_file_bytes = max_file_bytes
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.file_bytes = 0
        self._out: IO[bytes] | None = None
        self._name = ""
        self._value = bytearray()
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._in_file = False

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._part_begin,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
        }

    def _part_begin(self) -> None:
        self._disposition, self._value, self._in_file = b"", bytearray(), False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name, self._header_value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        if self._name == "file" and b"filename" in options:
            if self._out is not None:
                raise BadUpload("Send one file per upload.")
            self.filename = options[b"filename"].decode("utf-8", "replace") or "upload"
            self._out = self.file_path.open("wb")
            self._in_file = True

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            assert self._out is not None
            self.file_bytes += end - start
            if self.file_bytes > self.max_file_bytes:
                raise PayloadTooLarge(
                    f"The file is larger than the {self.max_file_bytes} byte upload limit.",
                    max_bytes=self.max_file_bytes,
                )
            # A local page-cache write of one network chunk: cheaper than a thread hop.
            self._out.write(data[start:end])
        else:
            self._value += data[start:end]
            if len(self._value) > MAX_FIELD_BYTES:
                raise BadUpload(f"The field {self._name!r} is too long.")

    def _part_end(self) -> None:
        if self._in_file:
            self._in_file = False
        elif self._name:
            self.fields[self._name] = self._value.decode("utf-8", "replace").strip()

    def close(self) -> None:
        if self._out is not None:
            self._out.close()


async def receive_upload(
    request: Request, file_path: Path, *, max_file_bytes: int
) -> _UploadReceiver:
    """Stream a multipart/form-data body to file_path without holding it in memory."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise BadUpload("Send the video as multipart/form-data with a `file` field.")
    declared = request.headers.get("content-length", "")
    # Refuse a declared oversize body before reading a byte of it.
    if declared.isdigit() and int(declared) > max_file_bytes + MULTIPART_OVERHEAD_BYTES:
        raise PayloadTooLarge(
            f"The file is larger than the {max_file_bytes} byte upload limit.",
            max_bytes=max_file_bytes,
        )
    receiver = _UploadReceiver(file_path, max_file_bytes=max_file_bytes)
    parser = MultipartParser(params[b"boundary"], receiver.callbacks())  # type: ignore[arg-type]
    with disk_full_refused():  # the spool's disk filled up: a clear 507, not a 500
        try:
            async for chunk in request.stream():
                parser.write(chunk)
            parser.finalize()
        except FormParserError as exc:
            raise BadUpload("The upload is not valid multipart/form-data.") from exc
        finally:
            receiver.close()
    if receiver.filename is None:
        raise BadUpload("The upload has no `file` field with a video in it.")
    return receiver


@router.get("/studio/jobs/{job_id}", response_model=JobRead)
def get_job(job_id: PathId, db: DbSession, viewer: CurrentViewer) -> JobRead:
    """A transcode job's state and progress (for the uploader)."""
    return service.job_read(job=service.get_owned_job(db=db, job_id=job_id, account=viewer))


class MediaFiles(StaticFiles):
    """Static delivery of renditions with HLS content types, cache headers and range support.

    FileResponse already answers `Range:` with 206 and sets ETag / Last-Modified; this adds
    the content types (the host's mime.types may disagree) and the caching policy.
    """

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        # The key as requested, relative to the storage root (the root itself may be anywhere).
        key = PurePosixPath(self.get_path(scope))
        if not is_public(key.as_posix()):
            raise HTTPException(status_code=404)
        response = FileResponse(
            full_path,
            status_code=status_code,
            stat_result=stat_result,
            media_type=MEDIA_TYPES.get(key.suffix.lower()),
            headers={"cache-control": cache_control(key.as_posix())},
        )
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response


def mount_media(app: FastAPI, settings: Settings) -> None:
    """Serve the app's storage (app.state.storage) under the media URL prefix: its folder
    from disk, or a bucket through the app. A prefix that is a URL (a CDN, the bucket itself)
    sends browsers elsewhere; the app still answers under /media."""
    storage: Storage = app.state.storage
    path = settings.media_url_prefix if settings.media_url_prefix.startswith("/") else "/media"
    folder = storage.local_folder()
    if folder is None:
        app.mount(path, stored_media_app(storage), name="media")
    else:
        app.mount(path, MediaFiles(directory=folder), name="media")
