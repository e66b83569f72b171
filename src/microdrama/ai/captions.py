"""Captions from an episode's audio: ffmpeg extracts it, faster-whisper (the packaged Whisper
base model) transcribes it with word times, the cue cutter makes readable cues, and they
become a draft subtitle track the creator reviews in the cue editor before viewers see it.

Runs in the AI worker's job process (`run_job`); the model is loaded once per process.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from microdrama.ai import languages
from microdrama.ai.cue_cutter import Word, cut_cues
from microdrama.ai.draft_tracks import owned_episode, save_draft
from microdrama.ai.jobs import JobContext
from microdrama.ai.packaged import require_runtime, whisper_base_dir
from microdrama.catalog import service as catalog
from microdrama.catalog.models import Episode
from microdrama.config import Settings
from microdrama.db import session_scope
from microdrama.errors import DomainError, InvalidMedia
from microdrama.media.probe import probe
from microdrama.storage import Storage
from microdrama.subtitles import service as subtitles

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000  # what Whisper listens at
EXTRACT_TIMEOUT_S = 300
# A word shorter than this is stretched by the cutter anyway; Whisper sometimes gives
# zero-length words at segment edges.
_MIN_WORD_MS = 20

Progress = Callable[[float, str], None]


class NoVideo(DomainError, code="episode_has_no_video", status_code=409): ...


class NoAudio(DomainError, code="episode_has_no_audio", status_code=422): ...


class NoSpeech(DomainError, code="no_speech_heard", status_code=422): ...


@dataclass(frozen=True)
class Transcript:
    language: str  # Whisper's code: "en", "pt"
    language_probability: float
    audio_ms: int
    words: list[Word]


@dataclass(frozen=True)
class CaptionsResult:
    episode_id: int
    language: str
    cue_count: int
    audio_ms: int
    transcribe_seconds: float
    text: str  # everything heard, for the job's result and for checking it

    def as_dict(self) -> dict[str, Any]:
        return {
            "episode_id": self.episode_id,
            "language": self.language,
            "cue_count": self.cue_count,
            "audio_seconds": round(self.audio_ms / 1000, 2),
            "transcribe_seconds": round(self.transcribe_seconds, 2),
        }


# --- the model --------------------------------------------------------------------------------

_model: Any = None
_model_lock = threading.Lock()


def whisper_model(*, data_dir: Path, threads: int) -> Any:
    """The Whisper base model (faster-whisper, int8 on the CPU), loaded once per process:
    later calls get the same one whatever their arguments."""
    global _model
    with _model_lock:
        if _model is None:
            require_runtime("faster_whisper", "faster-whisper")
            from faster_whisper import WhisperModel  # the `ai` extra: only where it is used

            started = time.perf_counter()
            _model = WhisperModel(
                str(whisper_base_dir(data_dir)),
                device="cpu",
                compute_type="int8",
                local_files_only=True,
                cpu_threads=threads,
            )
            log.info("Whisper base loaded in %.1f s", time.perf_counter() - started)
        return _model


# --- audio and transcription ------------------------------------------------------------------


def samples(audio: Path, *, ffmpeg_bin: str = "ffmpeg") -> Any:
    """The first audio stream of a file as Whisper hears it: 16 kHz mono float samples,
    decoded by ffmpeg. faster-whisper's own decoder (PyAV) runs a full garbage collection for
    every file, which took seconds in a process holding the models and the app (py-spy: a
    fifth of a test worker's time while it captioned)."""
    import numpy

    command = [
        ffmpeg_bin, "-hide_banner", "-nostdin", "-loglevel", "error",
        "-i", str(audio), "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(SAMPLE_RATE),
        "-f", "f32le", "pipe:1",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, timeout=EXTRACT_TIMEOUT_S, check=False)
    if result.returncode != 0:
        log.warning("ffmpeg could not decode %s: %s", audio, result.stderr[-500:])
        raise NoAudio("The sound of this episode's video could not be read.")
    return numpy.frombuffer(result.stdout, dtype=numpy.float32)


def extract_audio(*, settings: Settings, source: Path) -> Any:
    """The video's sound as Whisper's samples (`samples`); NoAudio when it is silent or
    unreadable."""
    try:
        info = probe(source, settings=settings)
    except InvalidMedia as exc:
        raise NoAudio(f"The episode's video can't be read: {exc.message}") from exc
    if not info.has_audio:
        raise NoAudio("This episode's video has no sound to caption.")
    return samples(source, ffmpeg_bin=settings.ffmpeg_bin)


def _words(segments: list[Any]) -> list[Word]:
    """Whisper's words as the cutter's: stripped, in ms; punctuation Whisper gives as a word
    of its own is joined to the word before."""
    words: list[Word] = []
    for segment in segments:
        for item in segment.words or []:
            text = str(item.word)
            start_ms = round(float(item.start) * 1000)
            end_ms = max(round(float(item.end) * 1000), start_ms + _MIN_WORD_MS)
            stripped = text.strip()
            if not stripped:
                continue
            if words and not text[:1].isspace() and not any(c.isalnum() for c in stripped):
                last = words[-1]
                words[-1] = Word(last.text + stripped, last.start_ms, max(last.end_ms, end_ms))
                continue
            words.append(Word(stripped, start_ms, end_ms))
    return words


def transcribe(
    model: Any,
    audio: Path | Any,
    *,
    language: str | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> Transcript:
    """The words spoken in the audio with their times (the VAD filter skips silence and
    music without speech); language None lets Whisper detect it. `audio` is a file, or its
    samples already decoded (`extract_audio`)."""
    segments, info = model.transcribe(
        samples(audio) if isinstance(audio, Path) else audio,
        language=language,
        word_timestamps=True,
        vad_filter=True,
        beam_size=5,
        condition_on_previous_text=False,
    )
    duration_s = float(info.duration) or 1.0
    heard = []
    for segment in segments:  # a generator: the decoding happens as it is read
        heard.append(segment)
        if on_progress is not None:
            on_progress(min(1.0, float(segment.end) / duration_s))
    return Transcript(
        language=str(info.language),
        language_probability=float(info.language_probability),
        audio_ms=round(duration_s * 1000),
        words=_words(heard),
    )


def track_language(spoken: str, series_language: str) -> str:
    """The track's code: the series' own (with its region, "pt-BR") when Whisper heard that
    language, else Whisper's."""
    return series_language if languages.same_language(spoken, series_language) else spoken


# --- the job ----------------------------------------------------------------------------------


def captionable_episode(*, db: Session, episode_id: int, owner_id: int) -> Episode:
    """The owner's episode with an uploaded video to caption (404 for anyone else's)."""
    episode = owned_episode(db=db, episode_id=episode_id, owner_id=owner_id)
    asset = episode.media_asset
    if asset is None or not asset.source_key:
        raise NoVideo(
            "Upload this episode's video before generating subtitles.", episode_id=episode_id
        )
    return episode


def _series_language(db: Session, episode: Episode) -> str:
    series = catalog.get(db=db, series_id=episode.series_id)
    return series.language if series is not None else "en"


def generate_captions(
    *,
    sessions: sessionmaker[Session],
    storage: Storage,
    settings: Settings,
    episode_id: int,
    owner_id: int,
    progress: Progress,
) -> CaptionsResult:
    """Transcribe the episode's audio into a draft track in the language spoken."""
    with session_scope(sessions) as db:
        episode = captionable_episode(db=db, episode_id=episode_id, owner_id=owner_id)
        assert episode.media_asset is not None  # checked by captionable_episode
        source_key = episode.media_asset.source_key
        series_language = _series_language(db, episode)
    progress(0.01, "Loading the speech model")
    model = whisper_model(data_dir=settings.data_dir, threads=settings.ai_threads)
    progress(0.05, "Extracting the audio")
    with storage.local_copy(source_key) as source:
        audio = extract_audio(settings=settings, source=source)
        progress(0.1, "Transcribing 0 %")
        started = time.perf_counter()
        transcript = transcribe(
            model,
            audio,
            on_progress=lambda done: progress(
                0.1 + 0.8 * done, f"Transcribing {round(done * 100)} %"
            ),
        )
        seconds = time.perf_counter() - started
    progress(0.92, "Cutting cues")
    cues = cut_cues(transcript.words)
    if not cues:
        raise NoSpeech("No speech was heard in this episode's audio.", episode_id=episode_id)
    language = track_language(transcript.language, series_language)
    with session_scope(sessions) as db:
        episode = captionable_episode(db=db, episode_id=episode_id, owner_id=owner_id)
        save_draft(
            db=db,
            storage=storage,
            episode=episode,
            language=language,
            cues=[subtitles.Cue(c.start_ms, c.end_ms, c.text) for c in cues],
        )
    progress(1.0, f"{len(cues)} cues in {languages.name(language)}, ready to review")
    return CaptionsResult(
        episode_id=episode_id,
        language=language,
        cue_count=len(cues),
        audio_ms=transcript.audio_ms,
        transcribe_seconds=seconds,
        text=" ".join(w.text for w in transcript.words),
    )


def run_job(ctx: JobContext) -> dict[str, Any]:
    """The captions job: payload {"episode_id"}."""
    return generate_captions(
        sessions=ctx.sessions,
        storage=ctx.storage,
        settings=ctx.settings,
        episode_id=int(ctx.payload["episode_id"]),
        owner_id=ctx.owner_id,
        progress=ctx.progress,
    ).as_dict()
