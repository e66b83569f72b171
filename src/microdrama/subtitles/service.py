"""Subtitles: WebVTT (or SRT, converted) per episode and language, edited as a list of cues.

The WebVTT file in media storage is the track: the player loads it as a <track>, the studio
reads and writes its cues as JSON. webvtt-py reads, converts and writes the files; a first
pass here names the line of the first problem so the creator can fix it.
"""

from __future__ import annotations

import io
import re
import secrets
from dataclasses import dataclass

import webvtt
from sqlalchemy import select
from sqlalchemy.orm import Session
from webvtt.errors import MalformedCaptionError, MalformedFileError

from microdrama.accounts.models import Account
from microdrama.catalog import service as catalog
from microdrama.catalog.models import Episode
from microdrama.config import Settings
from microdrama.db import utcnow
from microdrama.errors import DomainError, NotFound
from microdrama.paywall.entitlement import entitlement, episode_locked_error
from microdrama.storage import Storage
from microdrama.subtitles.models import SubtitleTrack

LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
MAX_CUES = 5000
MAX_CUE_MS = 24 * 3600 * 1000
_TIMING = re.compile(
    r"^\s*(?P<start>(\d+:)?\d{1,2}:\d{2}[.,]\d{3})\s+-->\s+(?P<end>(\d+:)?\d{1,2}:\d{2}[.,]\d{3})"
)


class InvalidSubtitles(DomainError, code="invalid_subtitles", status_code=422): ...


class TrackNotFound(NotFound, code="subtitle_track_not_found"): ...


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    text: str


# --- reading and writing WebVTT -------------------------------------------------------------


def _ms(stamp: str) -> int:
    parts = stamp.replace(",", ".").split(":")
    seconds = float(parts[-1])
    minutes = int(parts[-2])
    hours = int(parts[-3]) if len(parts) == 3 else 0
    return (hours * 3600 + minutes * 60) * 1000 + round(seconds * 1000)


def _stamp(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _check_lines(text: str, fmt: str) -> None:
    """Find the first malformed block and say where it is (webvtt-py only says "invalid")."""
    lines = text.split("\n")
    if fmt == "vtt" and not lines[0].lstrip("\ufeff").startswith("WEBVTT"):
        raise InvalidSubtitles("Line 1: a WebVTT file starts with WEBVTT.", line=1)
    number = 0
    in_header = fmt == "vtt"
    while number < len(lines):
        if not lines[number].strip():
            number += 1
            continue
        start = number
        block = []
        while number < len(lines) and lines[number].strip():
            block.append(lines[number])
            number += 1
        if in_header:
            in_header = False
            continue
        if fmt == "vtt" and block[0].startswith(("NOTE", "STYLE", "REGION")):
            continue
        arrow = next((i for i, line in enumerate(block[:2]) if "-->" in line), None)
        if arrow is None:
            raise InvalidSubtitles(
                f"Line {start + 1}: text without cue timings (expected "
                f"'00:00:01{',' if fmt == 'srt' else '.'}000 --> 00:00:03"
                f"{',' if fmt == 'srt' else '.'}000').",
                line=start + 1,
            )
        timing_line = start + arrow + 1
        match = _TIMING.match(block[arrow])
        if match is None:
            raise InvalidSubtitles(
                f"Line {timing_line}: cue timings are not valid: {block[arrow].strip()[:80]!r}.",
                line=timing_line,
            )
        if _ms(match["end"]) <= _ms(match["start"]):
            raise InvalidSubtitles(
                f"Line {timing_line}: the cue ends before it starts.", line=timing_line
            )


def parse(data: bytes, *, filename: str = "") -> list[Cue]:
    """The cues of a WebVTT or SRT file (told apart by the header or the name)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidSubtitles("The file is not UTF-8 text.", line=None) from exc
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    fmt = "vtt" if text.startswith("WEBVTT") or filename.lower().endswith(".vtt") else "srt"
    if not text.strip():
        raise InvalidSubtitles("The file is empty.", line=None)
    _check_lines(text, fmt)
    try:
        captions = webvtt.from_buffer(io.BytesIO(text.encode()), format=fmt).captions
    except (MalformedFileError, MalformedCaptionError) as exc:
        raise InvalidSubtitles(f"The file is not valid {fmt.upper()}: {exc}.", line=None) from exc
    if not captions:
        raise InvalidSubtitles("The file has no cues.", line=None)
    cues = [Cue(_ms(c.start), _ms(c.end), c.raw_text.strip()) for c in captions]
    return validate(cues)


def validate(cues: list[Cue]) -> list[Cue]:
    """Cues in time order, each with text and a positive duration."""
    if len(cues) > MAX_CUES:
        raise InvalidSubtitles(f"At most {MAX_CUES} cues per track.", line=None)
    for index, cue in enumerate(cues, start=1):
        if not cue.text.strip():
            raise InvalidSubtitles(f"Cue {index} has no text.", cue=index)
        if "-->" in cue.text:
            raise InvalidSubtitles(f"Cue {index}: the text may not contain '-->'.", cue=index)
        if not 0 <= cue.start_ms < cue.end_ms <= MAX_CUE_MS:
            raise InvalidSubtitles(f"Cue {index} must end after it starts.", cue=index)
    return sorted(cues, key=lambda c: (c.start_ms, c.end_ms))


def to_webvtt(cues: list[Cue]) -> str:
    """The WebVTT file of these cues (blank lines inside a cue's text are dropped: they would
    end the cue)."""
    document = webvtt.WebVTT(
        captions=[
            webvtt.Caption(
                _stamp(c.start_ms),
                _stamp(c.end_ms),
                [line for line in c.text.split("\n") if line.strip()],
            )
            for c in cues
        ]
    )
    return str(document.content)


# --- tracks ---------------------------------------------------------------------------------


def _episode_for_editor(db: Session, episode_id: int, account: Account) -> Episode:
    """The episode if the account created its series; others get the same 404 as a typo."""
    episode = db.get(Episode, episode_id)
    if episode is None:
        raise NotFound("No such episode.", episode_id=episode_id)
    series = catalog.get(db=db, series_id=episode.series_id)
    if series is None or series.owner_id != account.id:
        raise NotFound("No such episode.", episode_id=episode_id)
    return episode


def editable_episode(*, db: Session, episode_id: int, account: Account) -> Episode:
    """An episode whose subtitles this account may edit (the series' creator)."""
    return _episode_for_editor(db, episode_id, account)


def tracks(*, db: Session, episode_id: int) -> list[SubtitleTrack]:
    """An episode's subtitle tracks, by language."""
    return list(
        db.scalars(
            select(SubtitleTrack)
            .where(SubtitleTrack.episode_id == episode_id)
            .order_by(SubtitleTrack.language)
        )
    )


def playable_tracks(
    *, db: Session, settings: Settings, episode_id: int, viewer: Account | None
) -> list[SubtitleTrack]:
    """The published tracks of an episode the viewer may play (drafts stay with their
    creator): a locked episode's dialogue is as protected as its video (403
    `episode_locked`, with the price)."""
    episode = db.get(Episode, episode_id)
    if episode is None:
        raise NotFound("No such episode.", episode_id=episode_id)
    catalog.get_visible(db=db, series_id=episode.series_id, viewer=viewer)
    if not entitlement(db=db, viewer=viewer, episode=episode).allowed:
        raise episode_locked_error(settings=settings, episode=episode)
    return [t for t in tracks(db=db, episode_id=episode_id) if not t.draft]


def get_track(*, db: Session, episode: Episode, language: str) -> SubtitleTrack:
    track = db.scalar(
        select(SubtitleTrack).where(
            SubtitleTrack.episode_id == episode.id, SubtitleTrack.language == language
        )
    )
    if track is None:
        raise TrackNotFound(
            f"Episode {episode.number} has no {language!r} subtitles.", language=language
        )
    return track


def read_cues(*, storage: Storage, track: SubtitleTrack) -> list[Cue]:
    """The cues of a stored track."""
    data = storage.read_bytes(track.storage_key)
    captions = webvtt.from_buffer(io.BytesIO(data)).captions
    return [Cue(_ms(c.start), _ms(c.end), c.raw_text.strip()) for c in captions]


def save_track(
    *,
    db: Session,
    storage: Storage,
    episode: Episode,
    language: str,
    label: str | None,
    cues: list[Cue],
    draft: bool | None = None,
) -> SubtitleTrack:
    """Store the cues as the episode's track in that language (created or replaced).

    `draft` True keeps the track from players until `publish_track`, False publishes it, None
    keeps the state it had (a new track is published)."""
    cues = validate(cues)
    track = db.scalar(
        select(SubtitleTrack)
        .where(SubtitleTrack.episode_id == episode.id, SubtitleTrack.language == language)
        .with_for_update()
    )
    revision = (track.revision + 1) if track is not None else 1
    key = f"subtitles/episode-{episode.id}/{language}-r{revision}-{secrets.token_hex(8)}.vtt"
    storage.save(key, io.BytesIO(to_webvtt(cues).encode()))
    if track is None:
        track = SubtitleTrack(
            episode_id=episode.id,
            language=language,
            label=label or language,
            storage_key=key,
            revision=revision,
            cue_count=len(cues),
            draft=bool(draft),
        )
        db.add(track)
    else:
        # The file before stays (this transaction may still roll back, a player may be
        # reading it); the one before that goes.
        if track.previous_storage_key:
            storage.delete_prefix(track.previous_storage_key)
        track.previous_storage_key = track.storage_key
        track.storage_key, track.revision, track.cue_count = key, revision, len(cues)
        track.label = label or track.label
        track.draft = track.draft if draft is None else draft
        track.updated_at = utcnow()
    db.flush()
    return track


def publish_track(*, db: Session, track: SubtitleTrack) -> SubtitleTrack:
    """Offer a draft track to the episode's viewers."""
    track.draft = False
    track.updated_at = utcnow()
    db.flush()
    return track


def delete_track(*, db: Session, storage: Storage, track: SubtitleTrack) -> None:
    """Remove a track and its file."""
    for key in (track.storage_key, track.previous_storage_key):
        if key:
            storage.delete_prefix(key)
    db.delete(track)
    db.flush()
