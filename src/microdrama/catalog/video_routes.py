"""Episode uploads and the uploader's view of an asset: the media API routes that need the
catalog (its series and episodes), so they sit with the catalog, above media."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from microdrama.accounts.deps import CurrentViewer
from microdrama.cache import PublicCache
from microdrama.catalog import service as catalog_service
from microdrama.catalog import videos
from microdrama.config import AppSettings
from microdrama.db import DbSession
from microdrama.media import service as media
from microdrama.media.routes import BadUpload, receive_upload
from microdrama.media.schemas import AssetRead, EpisodeUploadRead
from microdrama.storage import AppStorage
from microdrama.types import PathId

router = APIRouter(prefix="/api", tags=["media"])


def _episode_number(raw: str | None) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 10_000:
        raise BadUpload("`number` must be a whole number from 1 to 10000.")
    return int(raw)


@router.post(
    "/studio/series/{series_id}/episodes", response_model=EpisodeUploadRead, status_code=202
)
async def upload_episode(
    series_id: PathId,
    request: Request,
    db: DbSession,
    viewer: CurrentViewer,
    settings: AppSettings,
    storage: AppStorage,
    cache: PublicCache,
) -> EpisodeUploadRead:
    """Upload an episode's source video (multipart `file`, optional `title`, `number`)."""
    # Authorise before reading the body: a stranger's gigabytes are refused, not received.
    series = await run_in_threadpool(
        catalog_service.require_owner, db=db, series_id=series_id, account=viewer
    )
    with tempfile.TemporaryDirectory(dir=media.upload_tmp_dir(settings)) as tmp:
        upload = await receive_upload(
            request, Path(tmp) / "upload", max_file_bytes=settings.max_upload_bytes
        )
        title = upload.fields.get("title", "")[:200]
        number = _episode_number(upload.fields.get("number"))
        episode, asset, job = await run_in_threadpool(
            videos.upload_episode,
            db=db,
            storage=storage,
            settings=settings,
            series=series,
            owner=viewer,
            filename=upload.filename or "upload",
            source=upload.file_path,
            title=title,
            number=number,
        )
    cache.clear()
    return EpisodeUploadRead(
        episode_id=episode.id,
        episode_number=episode.number,
        asset_id=asset.id,
        job_id=job.id,
        state=job.state.value,
        duration_ms=asset.duration_ms,
        job_url=f"/api/studio/jobs/{job.id}",
        asset_url=f"/api/studio/assets/{asset.id}",
    )


@router.get("/studio/assets/{asset_id}", response_model=AssetRead)
def get_asset(
    asset_id: PathId, db: DbSession, viewer: CurrentViewer, storage: AppStorage
) -> AssetRead:
    """An uploaded asset: status, renditions, poster and thumbnails (for the uploader)."""
    asset = media.get_owned_asset(db=db, asset_id=asset_id, account=viewer)
    return videos.asset_read(db=db, storage=storage, asset=asset)
