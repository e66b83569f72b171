"""Studio API: a creator's series, resumable uploads (tus), episodes, and the review queue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect

from microdrama.accounts.deps import (
    CurrentAccount,
    CurrentAdmin,
    CurrentCreator,
    signed_in_account,
)
from microdrama.accounts.errors import SignInRequired
from microdrama.accounts.models import Account, Role
from microdrama.accounts.schemas import MeRead
from microdrama.cache import PublicCache, TTLCache
from microdrama.config import AppSettings
from microdrama.db import DbSession, SessionFactory, session_scope
from microdrama.errors import DomainError, Forbidden
from microdrama.media.delivery import answer_stored
from microdrama.storage import AppStorage, Storage, StorageFull, disk_full_refused
from microdrama.studio import episodes, review, service, uploads
from microdrama.studio.schemas import (
    Approval,
    EpisodeOrder,
    EpisodeReviewItem,
    EpisodeUpdate,
    Rejection,
    ReviewItem,
    SeriesUpdate,
    StudioSeriesCreate,
    StudioSeriesRead,
    UploadRead,
)
from microdrama.types import Id, PathId, PathKey

router = APIRouter(tags=["studio"])

MIB = 1024 * 1024
TUS_HEADERS = {"Tus-Resumable": uploads.TUS_VERSION, "Cache-Control": "no-store"}


@dataclass(frozen=True)
class SeriesAnswer:
    """What the studio's routes answer: the series as `account` sees it after their change."""

    db: Session
    storage: Storage
    public_cache: TTLCache[bytes]
    account: Account

    def read(self, series_id: int) -> StudioSeriesRead:
        self.db.flush()
        self.db.expire_all()
        series = service.get_own_series(db=self.db, series_id=series_id, account=self.account)
        return service.series_read(storage=self.storage, series=series)

    def changed(self, series_id: int) -> StudioSeriesRead:
        """`read` after a change viewers see: the feed and series pages are cached for a
        moment, and a studio change shows at once."""
        self.public_cache.clear()
        return self.read(series_id)


def creator_answer(
    db: DbSession, storage: AppStorage, cache: PublicCache, creator: CurrentCreator
) -> SeriesAnswer:
    return SeriesAnswer(db, storage, cache, creator)


def admin_answer(
    db: DbSession, storage: AppStorage, cache: PublicCache, admin: CurrentAdmin
) -> SeriesAnswer:
    return SeriesAnswer(db, storage, cache, admin)


CreatorAnswer = Annotated[SeriesAnswer, Depends(creator_answer)]
AdminAnswer = Annotated[SeriesAnswer, Depends(admin_answer)]


# Series ------------------------------------------------------------------------------------


@router.post("/api/studio/join")
def join(db: DbSession, account: CurrentAccount) -> MeRead:
    """Open a studio: a signed-in viewer becomes a creator (brands and admins stay as they are)."""
    service.become_creator(db=db, account=account)
    return MeRead.model_validate(account, from_attributes=True)


@router.get("/api/studio/series")
def list_series(
    db: DbSession, creator: CurrentCreator, storage: AppStorage
) -> list[StudioSeriesRead]:
    """The creator's series with their episodes and review status."""
    return [
        service.series_read(storage=storage, series=s)
        for s in service.list_own_series(db=db, owner=creator)
    ]


@router.post("/api/studio/series", status_code=201)
def create_series(
    data: StudioSeriesCreate, db: DbSession, creator: CurrentCreator, answer: CreatorAnswer
) -> StudioSeriesRead:
    """Create a draft series owned by the creator."""
    series = service.create_series(db=db, owner=creator, data=data)
    return answer.read(series.id)


@router.get("/api/studio/series/{series_id}")
def get_series(series_id: PathId, answer: CreatorAnswer) -> StudioSeriesRead:
    """One of the creator's series: every episode in every state, with transcode progress."""
    return answer.read(series_id)


@router.patch("/api/studio/series/{series_id}")
def update_series(
    series_id: PathId,
    data: SeriesUpdate,
    db: DbSession,
    creator: CurrentCreator,
    answer: CreatorAnswer,
) -> StudioSeriesRead:
    """Change metadata and prices (the cap price is checked against the episodes)."""
    series = service.get_own_series(db=db, series_id=series_id, account=creator, lock=True)
    service.update_series(db=db, series=series, data=data)
    return answer.changed(series_id)


@router.post("/api/studio/series/{series_id}/poster")
async def upload_poster(
    series_id: PathId,
    request: Request,
    db: DbSession,
    creator: CurrentCreator,
    answer: CreatorAnswer,
) -> StudioSeriesRead:
    """A poster image (multipart `file`): stored as a 9:16 poster and a thumbnail."""
    series = await run_in_threadpool(
        service.get_own_series, db=db, series_id=series_id, account=creator
    )
    declared = request.headers.get("content-length", "")
    # Refuse a declared oversize body before reading a byte of it.
    if declared.isdigit() and int(declared) > service.MAX_POSTER_BYTES + 64 * 1024:
        raise service.InvalidImage(
            f"The poster is larger than {service.MAX_POSTER_BYTES // MIB} MB.",
            max_bytes=service.MAX_POSTER_BYTES,
        )
    try:
        form = await request.form(max_files=1, max_fields=5)
    except Exception as exc:  # Starlette's MultiPartException and parser errors
        raise service.InvalidImage("Send the poster as multipart/form-data with a `file`.") from exc
    file = form.get("file")
    if not isinstance(file, UploadFile):
        raise service.InvalidImage("Send the poster as multipart/form-data with a `file`.")
    data = await file.read(service.MAX_POSTER_BYTES + 1)
    await run_in_threadpool(
        service.save_poster, db=db, storage=answer.storage, series=series, data=data
    )
    return await run_in_threadpool(answer.changed, series_id)


# Episodes ----------------------------------------------------------------------------------


@router.put("/api/studio/series/{series_id}/episodes/order")
def reorder_episodes(
    series_id: PathId,
    data: EpisodeOrder,
    db: DbSession,
    creator: CurrentCreator,
    answer: CreatorAnswer,
) -> StudioSeriesRead:
    """Put the episodes in a new order (every episode id once); numbers stay 1..n."""
    series = service.get_own_series(db=db, series_id=series_id, account=creator, lock=True)
    episodes.reorder_episodes(db=db, series=series, episode_ids=data.episode_ids)
    return answer.changed(series_id)


@router.patch("/api/studio/series/{series_id}/episodes/{episode_id}")
def rename_episode(
    series_id: PathId,
    episode_id: PathId,
    data: EpisodeUpdate,
    db: DbSession,
    creator: CurrentCreator,
    answer: CreatorAnswer,
) -> StudioSeriesRead:
    """Change an episode's title."""
    series = service.get_own_series(db=db, series_id=series_id, account=creator)
    episodes.rename_episode(db=db, series=series, episode_id=episode_id, title=data.title)
    return answer.changed(series_id)


@router.delete("/api/studio/series/{series_id}/episodes/{episode_id}")
def delete_episode(
    series_id: PathId,
    episode_id: PathId,
    db: DbSession,
    creator: CurrentCreator,
    answer: CreatorAnswer,
) -> StudioSeriesRead:
    """Delete a draft episode; the episodes after it move up one number."""
    series = service.get_own_series(db=db, series_id=series_id, account=creator, lock=True)
    episodes.delete_episode(db=db, storage=answer.storage, series=series, episode_id=episode_id)
    return answer.changed(series_id)


# Review ------------------------------------------------------------------------------------


@router.post("/api/studio/series/{series_id}/submit")
def submit_for_review(
    series_id: PathId, db: DbSession, creator: CurrentCreator, answer: CreatorAnswer
) -> StudioSeriesRead:
    """Send the series to the moderation queue (needs a ready episode and valid prices)."""
    series = service.get_own_series(db=db, series_id=series_id, account=creator, lock=True)
    review.submit_for_review(db=db, series=series)
    return answer.read(series_id)


@router.get("/api/admin/moderation")
def moderation_queue(db: DbSession, admin: CurrentAdmin, storage: AppStorage) -> list[ReviewItem]:
    """Series waiting for review, oldest first."""
    return review.moderation_queue(db=db, storage=storage)


@router.post("/api/admin/moderation/{series_id}/approve")
def approve(
    series_id: PathId, data: Approval, db: DbSession, answer: AdminAnswer
) -> StudioSeriesRead:
    """Publish now, or schedule for `publish_at`."""
    review.approve(db=db, series_id=series_id, publish_at=data.publish_at)
    return answer.changed(series_id)


@router.post("/api/admin/moderation/{series_id}/reject")
def reject(
    series_id: PathId, data: Rejection, db: DbSession, answer: AdminAnswer
) -> StudioSeriesRead:
    """Send the series back to its creator with the reason."""
    review.reject(db=db, series_id=series_id, reason=data.reason)
    return answer.read(series_id)


@router.get("/api/admin/moderation/episodes")
def episode_review_queue(
    db: DbSession, admin: CurrentAdmin, storage: AppStorage
) -> list[EpisodeReviewItem]:
    """Published series' episodes whose new video waits for review, oldest first."""
    return review.episode_review_queue(db=db, storage=storage)


@router.get("/api/admin/moderation/episodes/{episode_id}/video")
def episode_review_video(
    episode_id: PathId, request: Request, db: DbSession, admin: CurrentAdmin, storage: AppStorage
) -> Response:
    """The uploaded original of the video to review (ranges supported, never cached)."""
    video = review.pending_episode_video(db=db, episode_id=episode_id)
    return answer_stored(
        storage,
        video.source_key,
        headers=request.headers,
        method=request.method,
        cache="private, no-store",
    )


@router.post("/api/admin/moderation/episodes/{episode_id}/approve")
def approve_episode(episode_id: PathId, db: DbSession, answer: AdminAnswer) -> StudioSeriesRead:
    """The new episode joins its series / the new video replaces the old; answers the series."""
    episode = review.approve_episode(db=db, storage=answer.storage, episode_id=episode_id)
    return answer.changed(episode.series_id)


@router.post("/api/admin/moderation/episodes/{episode_id}/reject")
def reject_episode(
    episode_id: PathId, data: Rejection, db: DbSession, answer: AdminAnswer
) -> StudioSeriesRead:
    """Refuse the new video with the reason its creator sees; answers the series."""
    episode = review.reject_episode(
        db=db, storage=answer.storage, episode_id=episode_id, reason=data.reason
    )
    return answer.read(episode.series_id)


# Resumable uploads (tus 1.0: core, creation, termination) ----------------------------------


def _tus_creator(request: Request, factory: sessionmaker[Session]) -> Account:
    """Who is uploading, from a short session of its own: a PATCH may stream for minutes and
    must not hold a database transaction open meanwhile."""
    with session_scope(factory) as db:
        account = signed_in_account(request, db)
        if account is None or account.is_guest:
            raise SignInRequired("Sign in to upload episodes.")
        if account.role not in {Role.creator, Role.admin}:
            raise Forbidden("Only a creator account can upload episodes.", required_role="creator")
        db.expunge(account)
        return account


def _tus(response: Response, **headers: str) -> Response:
    response.headers.update({**TUS_HEADERS, **headers})
    return response


@router.options(uploads.UPLOADS_URL)
@router.options(uploads.UPLOADS_URL + "/{upload_id}")
def tus_options(settings: AppSettings) -> Response:
    """What this tus server supports."""
    return _tus(
        Response(status_code=204),
        **{
            "Tus-Version": uploads.TUS_VERSION,
            "Tus-Extension": uploads.TUS_EXTENSIONS,
            "Tus-Max-Size": str(settings.max_upload_bytes),
        },
    )


@router.post(uploads.UPLOADS_URL, status_code=201)
def tus_create(
    request: Request, db: DbSession, creator: CurrentCreator, settings: AppSettings
) -> Response:
    """Create an upload (Upload-Length; Upload-Metadata with series_id and filename)."""
    uploads.check_version(request.headers.get("tus-resumable"))
    upload = uploads.create_upload(
        db=db,
        settings=settings,
        owner=creator,
        length_header=request.headers.get("upload-length"),
        metadata_header=request.headers.get("upload-metadata"),
    )
    return _tus(
        Response(status_code=201),
        Location=f"{uploads.UPLOADS_URL}/{upload.id}",
        **{"Upload-Offset": "0"},
    )


@router.head(uploads.UPLOADS_URL + "/{upload_id}")
def tus_head(upload_id: PathKey, db: DbSession, creator: CurrentCreator) -> Response:
    """Where an upload stands: how many bytes the server has."""
    upload = uploads.get_own_upload(db=db, upload_id=upload_id, account=creator)
    if upload.state == uploads.UploadState.failed:
        return _tus(Response(status_code=410))
    return _tus(
        Response(status_code=200),
        **{"Upload-Offset": str(upload.offset_bytes), "Upload-Length": str(upload.length_bytes)},
    )


@router.get(uploads.UPLOADS_URL)
def list_uploads(
    series_id: Annotated[Id, Query()], db: DbSession, creator: CurrentCreator
) -> list[UploadRead]:
    """The creator's uploads into a series (unfinished ones can be resumed)."""
    service.get_own_series(db=db, series_id=series_id, account=creator)
    return [
        uploads.upload_read(u)
        for u in uploads.list_uploads(db=db, account=creator, series_id=series_id)
    ]


@router.get(uploads.UPLOADS_URL + "/{upload_id}")
def get_upload(upload_id: PathKey, db: DbSession, creator: CurrentCreator) -> UploadRead:
    """An upload as JSON: offset, bytes received, and the episode it became."""
    return uploads.upload_read(uploads.get_own_upload(db=db, upload_id=upload_id, account=creator))


@router.patch(uploads.UPLOADS_URL + "/{upload_id}")
async def tus_patch(
    upload_id: PathKey,
    request: Request,
    factory: SessionFactory,
    settings: AppSettings,
    storage: AppStorage,
    cache: PublicCache,
) -> Response:
    """Append bytes at Upload-Offset; the last chunk turns the file into an episode."""
    uploads.check_version(request.headers.get("tus-resumable"))
    if request.headers.get("content-type") != "application/offset+octet-stream":
        raise uploads.WrongContentType("Send chunks as application/offset+octet-stream.")
    creator = await run_in_threadpool(_tus_creator, request, factory)

    def begin() -> uploads.PatchStart:
        with session_scope(factory) as db:
            return uploads.begin_patch(
                db=db,
                account=creator,
                upload_id=upload_id,
                offset_header=request.headers.get("upload-offset"),
            )

    start = await run_in_threadpool(begin)
    room = start.length - start.offset
    written = 0
    too_long = False
    with uploads.locked_file(uploads.upload_path(settings, start.upload_id)) as out:
        try:
            with disk_full_refused():
                async for chunk in request.stream():
                    if not chunk:
                        continue
                    if written + len(chunk) > room:
                        chunk = chunk[: room - written]
                        too_long = True
                    # A local page-cache write of one network chunk: cheaper than a thread hop.
                    uploads.write_chunk(out, position=start.offset + written, data=chunk)
                    written += len(chunk)
                    if too_long:
                        break
        except ClientDisconnect:
            pass  # the connection dropped: keep what arrived, the client resumes from there
        except StorageFull:
            # Refused whole (the offset stays), the space the chunk took given back.
            out.truncate(start.offset)
            raise

    if too_long:
        # Refused whole: the offset stays where it was (what was written is overwritten later).
        raise uploads.TusError(
            f"The chunk runs past the declared Upload-Length ({start.length} bytes).",
            offset=start.offset,
        )

    def record() -> uploads.Upload:
        with session_scope(factory) as db:
            return uploads.record_patch(db=db, start=start, written=written)

    def complete() -> None:
        try:
            with session_scope(factory) as db:
                uploads.complete_upload(
                    db=db, storage=storage, settings=settings, upload_id=upload.id
                )
        except DomainError as exc:
            with session_scope(factory) as db:
                uploads.fail_upload(
                    db=db, settings=settings, upload_id=upload.id, reason=exc.message
                )
            raise
        uploads.finished_cleanup(settings=settings, upload_id=upload.id)
        cache.clear()

    upload = await run_in_threadpool(record)
    if upload.offset_bytes == upload.length_bytes:
        await run_in_threadpool(complete)
    return _tus(Response(status_code=204), **{"Upload-Offset": str(upload.offset_bytes)})


@router.delete(uploads.UPLOADS_URL + "/{upload_id}")
def tus_delete(
    upload_id: PathKey,
    request: Request,
    db: DbSession,
    creator: CurrentCreator,
    settings: AppSettings,
) -> Response:
    """Abandon an upload and its bytes (tus termination)."""
    uploads.check_version(request.headers.get("tus-resumable"))
    upload = uploads.get_own_upload(db=db, upload_id=upload_id, account=creator)
    uploads.terminate_upload(db=db, settings=settings, upload=upload)
    return _tus(Response(status_code=204))
