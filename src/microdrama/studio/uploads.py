"""Resumable episode uploads: the tus 1.0 core protocol with the creation and termination
extensions (https://tus.io/protocols/resumable-upload), served by any process.

The bytes go to data_dir/uploads/{id} (outside the public media folder); the offset lives in
the database, so a PATCH may land on any process, and a process that restarts forgets
nothing. A PATCH holds an exclusive flock on the file while it writes, so two requests for one
upload never interleave (the second gets 423 and tus clients retry). When the last byte
arrives the file goes down the same path as any upload: ffprobe, an episode (or a replacement
video for one), a transcode job.

We wrote this rather than use tuspyserver: that router keeps each upload's state in a JSON file
beside it and has no notion of an upload's owner (anyone authenticated who knows the URL could
append to or delete someone else's upload); here the owner is checked on every request.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from microdrama.accounts.models import Account
from microdrama.catalog import videos
from microdrama.catalog.models import Episode
from microdrama.config import Settings
from microdrama.db import begin_immediate, utcnow
from microdrama.errors import Conflict, DomainError, NotFound, PayloadTooLarge
from microdrama.storage import Storage
from microdrama.studio import episodes
from microdrama.studio import service as studio
from microdrama.studio.models import Upload, UploadState
from microdrama.studio.schemas import UploadRead
from microdrama.types import read_row

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination"
UPLOADS_URL = "/api/studio/uploads"
# Incomplete uploads nobody touched for this long are deleted by housekeeping.
STALE_AFTER = timedelta(days=3)


class TusError(DomainError, code="bad_upload", status_code=400): ...


class UnsupportedTusVersion(DomainError, code="unsupported_tus_version", status_code=412): ...


class OffsetMismatch(DomainError, code="offset_mismatch", status_code=409): ...


class UploadBusy(DomainError, code="upload_busy", status_code=423): ...


class WrongContentType(DomainError, code="wrong_content_type", status_code=415): ...


def upload_dir(settings: Settings) -> Path:
    path = settings.data_dir / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def upload_path(settings: Settings, upload_id: str) -> Path:
    return upload_dir(settings) / upload_id


def parse_metadata(header: str | None) -> dict[str, str]:
    """`Upload-Metadata: key base64,key2 base64`; a clear 400 when it is not that."""
    result: dict[str, str] = {}
    for pair in (header or "").split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, _, encoded = pair.partition(" ")
        try:
            value = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise TusError(f"Upload-Metadata: the value of {key!r} is not base64 UTF-8.") from exc
        result[key] = value
    return result


def check_version(header: str | None) -> None:
    if header != TUS_VERSION:
        raise UnsupportedTusVersion(
            f"Send `Tus-Resumable: {TUS_VERSION}` (this server speaks tus {TUS_VERSION}).",
            tus_version=TUS_VERSION,
        )


def _positive_int(meta: dict[str, str], key: str) -> int | None:
    raw = meta.get(key, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise TusError(f"Upload-Metadata: {key} must be a whole number.")
    return int(raw)


def create_upload(
    *,
    db: Session,
    settings: Settings,
    owner: Account,
    length_header: str | None,
    metadata_header: str | None,
) -> Upload:
    """Start an upload into one of the creator's series (metadata `series_id`, `filename`,
    optional `title`, and `replaces_episode_id` to replace that episode's video)."""
    if length_header is None:
        raise TusError("Send Upload-Length (deferred lengths are not supported).")
    if not length_header.isdigit():
        raise TusError("Upload-Length must be a whole number of bytes.")
    length = int(length_header)
    if length == 0:
        raise TusError("The file is empty.")
    if length > settings.max_upload_bytes:
        raise PayloadTooLarge(
            f"The file is larger than the {settings.max_upload_bytes} byte upload limit.",
            max_bytes=settings.max_upload_bytes,
        )
    meta = parse_metadata(metadata_header)
    series_id = _positive_int(meta, "series_id")
    if series_id is None:
        raise TusError("Upload-Metadata must name the series: series_id.")
    series = studio.get_own_series(db=db, series_id=series_id, account=owner)
    replaces = _positive_int(meta, "replaces_episode_id")
    if replaces is not None:
        episodes.episode_for_replacement(series=series, episode_id=replaces)
    upload = Upload(
        id=secrets.token_hex(16),
        owner_id=owner.id,
        series_id=series.id,
        replaces_episode_id=replaces,
        filename=Path(meta.get("filename", "") or "upload").name[:300],
        title=meta.get("title", "").strip()[:200],
        length_bytes=length,
        offset_bytes=0,
        received_bytes=0,
        state=UploadState.receiving,
    )
    db.add(upload)
    db.flush()
    upload_path(settings, upload.id).touch()
    return upload


def get_own_upload(*, db: Session, upload_id: str, account: Account) -> Upload:
    """The account's upload; anyone else's (or an unknown id) is 404, as tus clients expect."""
    upload = db.get(Upload, upload_id) if len(upload_id) <= 32 else None
    if upload is None or not account.manages(upload.owner_id):
        raise NotFound("No such upload.", upload_id=upload_id)
    return upload


def upload_read(upload: Upload) -> UploadRead:
    return read_row(UploadRead, upload, url=f"{UPLOADS_URL}/{upload.id}")


def list_uploads(*, db: Session, account: Account, series_id: int) -> list[Upload]:
    """The account's uploads into a series, newest first (the page offers to resume these)."""
    return list(
        db.scalars(
            select(Upload)
            .where(Upload.owner_id == account.id, Upload.series_id == series_id)
            .order_by(Upload.created_at.desc())
        )
    )


@dataclass(frozen=True)
class PatchStart:
    upload_id: str
    offset: int
    length: int


def begin_patch(
    *, db: Session, account: Account, upload_id: str, offset_header: str | None
) -> PatchStart:
    """Check a PATCH against the stored offset before reading its body."""
    upload = get_own_upload(db=db, upload_id=upload_id, account=account)
    if upload.state != UploadState.receiving:
        raise Conflict(
            f"This upload is already {upload.state.value}; start a new one to send more.",
            state=upload.state.value,
        )
    if offset_header is None or not offset_header.isdigit():
        raise TusError("Send Upload-Offset with the byte position this chunk starts at.")
    if int(offset_header) != upload.offset_bytes:
        raise OffsetMismatch(
            f"This upload continues at byte {upload.offset_bytes}, not {offset_header}.",
            offset=upload.offset_bytes,
        )
    return PatchStart(upload_id=upload.id, offset=upload.offset_bytes, length=upload.length_bytes)


@contextmanager
def locked_file(path: Path) -> Iterator[IO[bytes]]:
    """The upload's file open for writing, held exclusively by this request."""
    try:
        out = path.open("r+b")
    except FileNotFoundError as exc:
        raise NotFound("This upload's data is gone; start a new upload.") from exc
    try:
        try:
            fcntl.flock(out.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise UploadBusy("Another request is writing to this upload; retry shortly.") from exc
        yield out
    finally:
        out.close()  # releases the lock


def record_patch(*, db: Session, start: PatchStart, written: int) -> Upload:
    """Store the new offset after a PATCH wrote `written` bytes from start.offset."""
    upload = db.scalar(select(Upload).where(Upload.id == start.upload_id).with_for_update())
    if upload is None or upload.offset_bytes != start.offset:
        # Deleted meanwhile, or (flock lost across hosts) someone else moved it: keep theirs.
        raise OffsetMismatch("The upload changed while this chunk was sent; ask for its offset.")
    upload.offset_bytes = start.offset + written
    upload.received_bytes += written
    upload.updated_at = utcnow()
    db.flush()
    return upload


def complete_upload(*, db: Session, storage: Storage, settings: Settings, upload_id: str) -> Upload:
    """All bytes are in: ingest the file as a new episode, or as an episode's new video."""
    begin_immediate(db.connection())  # SQLite: take the write lock before reading numbers
    upload = db.scalar(select(Upload).where(Upload.id == upload_id).with_for_update())
    if upload is None or upload.state != UploadState.receiving:
        raise Conflict("This upload was already completed or deleted.")
    owner = db.get(Account, upload.owner_id)
    assert owner is not None
    # Locking the series serialises completions, so concurrent uploads get distinct numbers.
    series = studio.get_own_series(db=db, series_id=upload.series_id, account=owner, lock=True)
    path = upload_path(settings, upload.id)
    with path.open("r+b") as data:
        data.truncate(upload.length_bytes)
    replaces = None
    if upload.replaces_episode_id is not None:
        replaces = db.get(Episode, upload.replaces_episode_id)
        if replaces is None or replaces.series_id != series.id:
            raise NotFound("The episode this upload replaces no longer exists.")
    episode, _asset, _job = videos.upload_episode(
        db=db,
        storage=storage,
        settings=settings,
        series=series,
        owner=owner,
        filename=upload.filename,
        source=path,
        title=upload.title,
        replaces=replaces,
    )
    upload.state = UploadState.done
    upload.episode_id = episode.id
    upload.updated_at = utcnow()
    db.flush()
    return upload


def fail_upload(*, db: Session, settings: Settings, upload_id: str, reason: str) -> None:
    """The bytes arrived but are no episode: keep the reason, drop the bytes."""
    upload = db.get(Upload, upload_id)
    if upload is not None:
        upload.state = UploadState.failed
        upload.error = reason
        upload.updated_at = utcnow()
        db.flush()
    upload_path(settings, upload_id).unlink(missing_ok=True)


def finished_cleanup(*, settings: Settings, upload_id: str) -> None:
    """After ingest the source lives in storage; the upload's own copy can go."""
    upload_path(settings, upload_id).unlink(missing_ok=True)


def terminate_upload(*, db: Session, settings: Settings, upload: Upload) -> None:
    """tus termination: forget an upload and its bytes (a finished one keeps its episode)."""
    db.delete(upload)
    db.flush()
    upload_path(settings, upload.id).unlink(missing_ok=True)


def purge_stale_uploads(*, db: Session, settings: Settings) -> int:
    """Delete incomplete uploads untouched for STALE_AFTER (housekeeping)."""
    cutoff = utcnow() - STALE_AFTER
    stale = db.scalars(
        select(Upload).where(Upload.state != UploadState.done, Upload.updated_at < cutoff)
    ).all()
    for upload in stale:
        terminate_upload(db=db, settings=settings, upload=upload)
    return len(stale)


def write_chunk(out: IO[bytes], *, position: int, data: bytes) -> None:
    """Write the bytes at position, straight to the file (no buffer left to flush later: a
    full disk fails here, with the chunk, and not when the file is closed)."""
    view = memoryview(data)
    while view:
        done = os.pwrite(out.fileno(), view, position)
        view, position = view[done:], position + done
