"""Subtitles API: the tracks a player offers, and the creator's upload and cue editor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Request, Response, UploadFile

from microdrama.accounts.deps import CurrentCreator, known_viewer
from microdrama.catalog.models import Episode
from microdrama.config import AppSettings
from microdrama.db import DbSession
from microdrama.errors import PayloadTooLarge
from microdrama.routing import add_routes
from microdrama.storage import AppStorage, Storage
from microdrama.subtitles import service
from microdrama.subtitles.models import SubtitleTrack
from microdrama.subtitles.pages import router as pages_router
from microdrama.subtitles.schemas import CueData, CuesRead, CuesWrite, TrackRead
from microdrama.subtitles.service import LANGUAGE_PATTERN
from microdrama.types import Line, PathId, read_row

router = APIRouter(tags=["subtitles"])
add_routes(router, pages_router)

Language = Annotated[str, Path(pattern=LANGUAGE_PATTERN, max_length=16)]


def track_read(storage: Storage, track: SubtitleTrack) -> TrackRead:
    return read_row(TrackRead, track, url=storage.url(track.storage_key))


def cues_read(storage: Storage, track: SubtitleTrack) -> CuesRead:
    return CuesRead(
        language=track.language,
        label=track.label,
        url=storage.url(track.storage_key),
        draft=track.draft,
        cues=[CueData(**c.__dict__) for c in service.read_cues(storage=storage, track=track)],
    )


@router.get("/api/episodes/{episode_id}/subtitles", response_model=list[TrackRead])
def episode_tracks(
    episode_id: PathId,
    request: Request,
    db: DbSession,
    settings: AppSettings,
    storage: AppStorage,
) -> list[TrackRead]:
    """The subtitle tracks the player offers for an episode it may play (WebVTT URLs)."""
    viewer = known_viewer(request, db)
    tracks = service.playable_tracks(db=db, settings=settings, episode_id=episode_id, viewer=viewer)
    return [track_read(storage, t) for t in tracks]


def editable_episode(episode_id: PathId, db: DbSession, creator: CurrentCreator) -> Episode:
    """The episode in the path, whose subtitles the signed-in creator may edit."""
    return service.editable_episode(db=db, episode_id=episode_id, account=creator)


EditableEpisode = Annotated[Episode, Depends(editable_episode)]


def editable_track(episode: EditableEpisode, language: Language, db: DbSession) -> SubtitleTrack:
    """The track in the path's language of an editable episode (404 when it has none)."""
    return service.get_track(db=db, episode=episode, language=language)


EditableTrack = Annotated[SubtitleTrack, Depends(editable_track)]


@router.get("/api/studio/episodes/{episode_id}/subtitles", response_model=list[TrackRead])
def studio_tracks(episode: EditableEpisode, db: DbSession, storage: AppStorage) -> list[TrackRead]:
    """The episode's tracks, for its creator (drafts included)."""
    return [track_read(storage, t) for t in service.tracks(db=db, episode_id=episode.id)]


@router.post(
    "/api/studio/episodes/{episode_id}/subtitles/{language}",
    response_model=CuesRead,
    status_code=201,
)
async def upload_track(
    episode_id: PathId,
    language: Language,
    db: DbSession,
    creator: CurrentCreator,
    settings: AppSettings,
    storage: AppStorage,
    file: Annotated[UploadFile, File(description="A WebVTT (.vtt) or SubRip (.srt) file")],
    label: Annotated[Line | None, Form(max_length=80)] = None,
) -> CuesRead:
    """Upload a WebVTT or SRT file as the episode's track in that language (replacing it,
    published); SRT is converted to WebVTT. A file that does not parse is a 422 naming the
    line."""
    limit = settings.max_subtitle_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"Subtitle files may be at most {limit // 1024} KiB.", limit=limit)
    episode = service.editable_episode(db=db, episode_id=episode_id, account=creator)
    cues = service.parse(data, filename=file.filename or "")
    track = service.save_track(
        db=db,
        storage=storage,
        episode=episode,
        language=language,
        label=(label or "").strip() or None,
        cues=cues,
        draft=False,
    )
    return cues_read(storage, track)


@router.get("/api/studio/episodes/{episode_id}/subtitles/{language}", response_model=CuesRead)
def get_cues(track: EditableTrack, storage: AppStorage) -> CuesRead:
    """The track's cues as JSON, for editing."""
    return cues_read(storage, track)


@router.put("/api/studio/episodes/{episode_id}/subtitles/{language}", response_model=CuesRead)
def put_cues(
    episode_id: PathId,
    language: Language,
    body: CuesWrite,
    db: DbSession,
    creator: CurrentCreator,
    storage: AppStorage,
) -> CuesRead:
    """Replace the track's cues (creating the track in that language if it is new); a draft
    stays a draft until it is published."""
    episode = service.editable_episode(db=db, episode_id=episode_id, account=creator)
    track = service.save_track(
        db=db,
        storage=storage,
        episode=episode,
        language=language,
        label=body.label,
        cues=[service.Cue(c.start_ms, c.end_ms, c.text) for c in body.cues],
    )
    return cues_read(storage, track)


@router.post(
    "/api/studio/episodes/{episode_id}/subtitles/{language}/publish", response_model=CuesRead
)
def publish_cues(track: EditableTrack, db: DbSession, storage: AppStorage) -> CuesRead:
    """Offer a draft track (generated captions, a translation) to the episode's viewers."""
    return cues_read(storage, service.publish_track(db=db, track=track))


@router.delete("/api/studio/episodes/{episode_id}/subtitles/{language}", status_code=204)
def delete_cues(track: EditableTrack, db: DbSession, storage: AppStorage) -> Response:
    """Remove the track in that language."""
    service.delete_track(db=db, storage=storage, track=track)
    return Response(status_code=204)
