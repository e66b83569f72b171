"""Media service: take in uploaded sources, queue their transcodes, record the outcome."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from microdrama.accounts.models import Account
from microdrama.accounts.ownership import OwnedRows
from microdrama.config import Settings
from microdrama.db import utcnow
from microdrama.errors import NotFound, PayloadTooLarge
from microdrama.media.models import AssetStatus, JobState, MediaAsset, TranscodeJob
from microdrama.media.probe import probe
from microdrama.media.schemas import JobRead
from microdrama.storage import Storage, disk_full_refused
from microdrama.types import read_row

COPY_CHUNK_BYTES = 1024 * 1024

_OWNED_ASSETS = OwnedRows(
    MediaAsset,
    "asset_id",
    missing="No such media asset.",
    refused="Only the uploader may see this media asset.",
)
# A job is its asset's uploader's.
_OWNED_JOBS = OwnedRows(
    TranscodeJob,
    "job_id",
    missing="No such transcode job.",
    refused="Only the uploader may follow this job.",
    owner_id=lambda job: job.asset.owner_id,
)


ASSETS = "assets"  # every asset's files are under assets/{id}/


def asset_prefix(asset_id: int) -> str:
    return f"{ASSETS}/{asset_id}"


def _source_suffix(filename: str) -> str:
    # The stored name is ours; only a short, plain extension survives from the user's name.
    suffix = Path(filename).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ".bin"


def upload_tmp_dir(settings: Settings) -> Path:
    """Where uploads are spooled before probing: inside data_dir, not on a small /tmp."""
    path = settings.data_dir / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def copy_limited(source: BinaryIO, target: BinaryIO, *, max_bytes: int) -> int:
    """Copy a stream in chunks; PayloadTooLarge as soon as it exceeds max_bytes."""
    size = 0
    while chunk := source.read(COPY_CHUNK_BYTES):
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(
                f"The file is larger than the {max_bytes} byte upload limit.", max_bytes=max_bytes
            )
        target.write(chunk)
    return size


@contextmanager
def _as_local_file(source: Path | BinaryIO, settings: Settings) -> Iterator[Path]:
    if isinstance(source, Path):
        yield source
        return
    with tempfile.TemporaryDirectory(dir=upload_tmp_dir(settings)) as tmp:
        path = Path(tmp) / "source"
        with disk_full_refused(), path.open("wb") as out:
            copy_limited(source, out, max_bytes=settings.max_upload_bytes)
        yield path


def ingest_upload(
    *,
    db: Session,
    storage: Storage,
    settings: Settings,
    owner: Account,
    filename: str,
    source: Path | BinaryIO,
) -> tuple[MediaAsset, TranscodeJob]:
    """Probe a source, store it under assets/{id}/source/ and queue its transcode job."""
    with _as_local_file(source, settings) as path:
        # Probe first: a file that is not a usable video leaves no rows and no stored bytes.
        info = probe(path, settings=settings)
        size = path.stat().st_size
        if size > settings.max_upload_bytes:
            raise PayloadTooLarge(
                f"The file is larger than the {settings.max_upload_bytes} byte upload limit.",
                max_bytes=settings.max_upload_bytes,
            )
        asset = MediaAsset(
            owner_id=owner.id,
            status=AssetStatus.uploaded,
            source_key="",
            source_filename=Path(filename).name[:300],
            source_size_bytes=size,
            source_width=info.width,
            source_height=info.height,
            duration_ms=info.duration_ms,
            renditions=[],
            thumbnails=[],
        )
        db.add(asset)
        db.flush()
        asset.source_key = f"{asset_prefix(asset.id)}/source/original{_source_suffix(filename)}"
        try:
            storage.save_file(asset.source_key, path)
            job = TranscodeJob(asset_id=asset.id, state=JobState.queued)
            db.add(job)
            db.flush()
        except BaseException:
            storage.delete_prefix(asset_prefix(asset.id))
            raise
    return asset, job


def discard_asset_files(*, storage: Storage, asset_id: int) -> None:
    """Delete every stored object of an asset (after a failed request, or on deletion)."""
    storage.delete_prefix(asset_prefix(asset_id))


def get_owned_asset(*, db: Session, asset_id: int, account: Account) -> MediaAsset:
    """The asset if the account owns it (or is an admin); NotFound/Forbidden otherwise."""
    return _OWNED_ASSETS.get(db=db, row_id=asset_id, account=account)


def get_job(*, db: Session, job_id: int) -> TranscodeJob:
    """A job by id (for workers and the command line); NotFound if there is none."""
    job = db.get(TranscodeJob, job_id)
    if job is None:
        raise NotFound("No such transcode job.", job_id=job_id)
    return job


def get_owned_job(*, db: Session, job_id: int, account: Account) -> TranscodeJob:
    """The job if the account owns its asset (or is an admin); NotFound/Forbidden otherwise."""
    return _OWNED_JOBS.get(db=db, row_id=job_id, account=account)


def public_job_error(job: TranscodeJob) -> str | None:
    """What a creator may read of a job's failure: the asset's plain reason. The job's own
    `error` keeps ffmpeg's words (paths of this server included) for operators and the log."""
    waiting = job.state == JobState.queued and job.error is not None  # postponed: see below
    return job.asset.error if job.state == JobState.failed or waiting else None


def job_read(*, job: TranscodeJob) -> JobRead:
    """The job as the API shows it."""
    return read_row(JobRead, job, progress=round(job.progress, 4), error=public_job_error(job))


class AssetOutcomeListener(Protocol):
    """A function told of an asset's new status (keyword arguments `db` and `asset`)."""

    def __call__(self, *, db: Session, asset: MediaAsset) -> None: ...


# What an asset's outcome means above media (catalog/videos.py moves the episodes that use it
# along): those modules register here, so media never imports them.
_outcome_listeners: list[AssetOutcomeListener] = []


def on_asset_outcome(listener: AssetOutcomeListener) -> None:
    """Call `listener(db=..., asset=...)` whenever an asset starts processing, is ready or
    fails, in the same transaction."""
    if listener not in _outcome_listeners:
        _outcome_listeners.append(listener)


def _asset_changed(*, db: Session, asset: MediaAsset) -> None:
    for listener in _outcome_listeners:
        listener(db=db, asset=asset)


def mark_asset_processing(*, db: Session, asset: MediaAsset) -> None:
    """A worker has started on the asset; its episodes show "processing"."""
    asset.status = AssetStatus.processing
    asset.error = None
    _asset_changed(db=db, asset=asset)
    db.flush()


def mark_asset_ready(
    *,
    db: Session,
    job: TranscodeJob,
    master_playlist_key: str,
    poster_key: str,
    renditions: list[dict[str, Any]],
    thumbnails: list[dict[str, Any]],
    duration_ms: int,
    aes_key: bytes | None,
) -> None:
    """The job is done: the asset gets its renditions and its episodes become playable."""
    asset = job.asset
    asset.aes_key = aes_key
    asset.status = AssetStatus.ready
    asset.error = None
    asset.master_playlist_key = master_playlist_key
    asset.poster_key = poster_key
    asset.renditions = renditions
    asset.thumbnails = thumbnails
    asset.duration_ms = duration_ms
    job.state = JobState.done
    job.progress = 1.0
    job.error = None
    job.lease_expires_at = None
    job.finished_at = utcnow()
    _asset_changed(db=db, asset=asset)
    db.flush()


def mark_job_failed(
    *, db: Session, job: TranscodeJob, reason: str, public_reason: str | None = None
) -> None:
    """The job failed for good, episodes fail: the job keeps the technical reason, the asset
    (what its creator reads in the studio) the plain one when they differ."""
    job.state = JobState.failed
    job.error = reason
    job.lease_expires_at = None
    job.finished_at = utcnow()
    job.asset.status = AssetStatus.failed
    job.asset.error = public_reason or reason
    _asset_changed(db=db, asset=job.asset)
    db.flush()


# What a creator reads while a job waits for the storage to answer again.
STORAGE_WAIT = (
    "The media storage couldn't be reached; the video will be converted again in a moment."
)


def postpone_job(*, db: Session, job: TranscodeJob, reason: str, retry_at: datetime) -> None:
    """The job's try could not reach the storage: back to the queue, claimable again from
    `retry_at` (jobs.claim_next_job), the try not counted; the job keeps the reason for
    operators and the asset the plain one for its creator until the next try starts."""
    job.state = JobState.queued
    job.worker_id = None
    job.attempts -= 1
    job.lease_expires_at = retry_at
    job.progress = 0.0
    job.error = reason
    job.asset.error = STORAGE_WAIT
    db.flush()


# Objects under assets/{id}/ with no such asset are left by a request or a worker that died
# between storing bytes and committing (or by a deletion whose files could not go): after this
# long nothing in flight can still be about to commit them.
ORPHAN_GRACE = timedelta(days=1)


def sweep_orphan_files(*, db: Session, storage: Storage, now: datetime | None = None) -> int:
    """Delete the stored files of assets that have no row, untouched for ORPHAN_GRACE
    (housekeeping); returns how many assets' files went."""
    names = storage.list_children(ASSETS)
    ids = [int(name) for name in names if name.isdigit() and len(name) < 19]
    known: set[int] = set()
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        known.update(db.scalars(select(MediaAsset.id).where(MediaAsset.id.in_(chunk))))
    cutoff = (now or utcnow()) - ORPHAN_GRACE
    swept = 0
    for asset_id in ids:
        if asset_id in known:
            continue
        prefix = asset_prefix(asset_id)
        newest = max((k.modified_at for k in storage.list_keys(prefix)), default=None)
        if newest is None or newest < cutoff:
            storage.delete_prefix(prefix)
            swept += 1
    return swept
