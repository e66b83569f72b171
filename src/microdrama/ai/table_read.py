"""Table read: an episode's script spoken in its characters' voices, made into an animatic and
sent through the studio's upload → transcode path as an episode of the creator's draft series,
which the creator plays in the player to judge the pacing and where the cliffhanger lands.

How the script becomes time: a dialogue line lasts as long as its voice says it, plus a short
breath; a scene line is a title beat; an action line is a silent beat as long as it takes to
read. The lines tile the timeline, so the read's length is the sum of its lines' and each
line's start is where it is heard in the episode.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts import service as accounts_service
from microdrama.accounts.models import Account
from microdrama.ai import voices, writers_room
from microdrama.ai.animatic import SPEAKER_COLOURS, Card, Frame, render_animatic
from microdrama.ai.jobs import JobContext
from microdrama.catalog import videos
from microdrama.catalog.models import SeriesStatus
from microdrama.config import Settings
from microdrama.db import session_scope
from microdrama.errors import Conflict, DomainError, NotFound
from microdrama.storage import Storage
from microdrama.studio import service as studio
from microdrama.types import Id, Line, Text

SCENE_BEAT_S = 1.6
ACTION_SECONDS_PER_WORD = 0.3
ACTION_MIN_S, ACTION_MAX_S = 1.2, 3.5
BREATH_AFTER_DIALOGUE_S = 0.35
MAX_LINES = 200
MAX_LINE_CHARS = 600


class ScriptLineLike(Protocol):
    """A line of a script (the writers' room's ScriptLine has this shape)."""

    @property
    def kind(self) -> str: ...
    @property
    def character(self) -> str | None: ...
    @property
    def text(self) -> str: ...


class ScriptLineIn(BaseModel):
    """A script line as a job's payload carries it."""

    kind: Literal["scene", "action", "dialogue"]
    character: Line | None = Field(default=None, max_length=80)
    text: Text = Field(min_length=1, max_length=MAX_LINE_CHARS)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a line needs words")
        return value


class TableReadRequest(BaseModel):
    """What a table-read job is asked: which episode of which series, and its script; or a
    writers'-room project's episode (its current script, the series made from the project,
    the bible's voices)."""

    series_id: Id | None = None
    project_id: Id | None = None
    episode: int = Field(ge=1, le=999)
    lines: list[ScriptLineIn] = Field(default_factory=list, max_length=MAX_LINES)
    # The characters' chosen voices (the series bible's `voice`), by name.
    voices: dict[Line, Line | None] = Field(default_factory=dict, max_length=MAX_LINES)
    title: Line = Field(default="", max_length=200)


class BadScript(DomainError, code="bad_script", status_code=422): ...


class SeriesNotDraft(Conflict, code="series_not_draft"): ...


@dataclass(frozen=True)
class TimedLine:
    """A line placed on the read's timeline (the next line starts at `end_ms`)."""

    index: int
    kind: str
    character: str | None
    text: str
    voice: str | None
    start_ms: int
    end_ms: int
    # How long the voice speaks (dialogue), within start..end.
    speech_ms: int = 0


@dataclass
class TableRead:
    """A performed script: its timeline, its audio and who spoke with which voice."""

    lines: list[TimedLine]
    samples: voices.Samples
    cast: dict[str, str] = field(default_factory=dict)
    tts_seconds: float = 0.0

    @property
    def duration_s(self) -> float:
        return self.samples.size / voices.SAMPLE_RATE

    @property
    def speech_seconds(self) -> float:
        return sum(line.speech_ms for line in self.lines) / 1000

    @property
    def cliffhanger(self) -> TimedLine | None:
        """The last line of dialogue: where a micro-drama episode puts its cliffhanger."""
        spoken = [line for line in self.lines if line.kind == "dialogue"]
        return spoken[-1] if spoken else None


def _action_seconds(text: str) -> float:
    words = len(text.split())
    return min(ACTION_MAX_S, max(ACTION_MIN_S, words * ACTION_SECONDS_PER_WORD))


def characters_in_order(lines: Iterable[ScriptLineLike]) -> list[str]:
    """The speaking characters, in the order they first speak."""
    seen: dict[str, None] = {}
    for line in lines:
        if line.kind == "dialogue" and line.character and line.character.strip():
            seen.setdefault(line.character.strip(), None)
    return list(seen)


def perform(
    lines: Sequence[ScriptLineLike],
    *,
    cast: voices.Cast | None = None,
    on_line: Callable[[int, int], None] | None = None,
) -> TableRead:
    """Voice the script's dialogue and lay every line on one timeline (see the module notes).
    `on_line(k, n)` is called before line k of n is worked on."""
    if not lines:
        raise BadScript("The script has no lines to read.")
    if len(lines) > MAX_LINES:
        raise BadScript(f"A table read takes at most {MAX_LINES} lines.", max_lines=MAX_LINES)
    cast = cast or voices.Cast.of(characters_in_order(lines))
    parts: list[voices.Samples] = []
    timed: list[TimedLine] = []
    at = 0
    tts_seconds = 0.0
    for index, line in enumerate(lines):
        if on_line is not None:
            on_line(index, len(lines))
        text = " ".join(line.text.split())
        voice: voices.Voice | None = None
        speech = 0
        if line.kind == "dialogue":
            character = (line.character or "").strip()
            voice = cast.voice_for(character) if character else voices.NARRATOR
            started = time.perf_counter()
            spoken = voices.synthesize(text, voice)
            tts_seconds += time.perf_counter() - started
            speech = spoken.size
            part = np.concatenate([spoken, voices.silence(BREATH_AFTER_DIALOGUE_S)])
        elif line.kind == "scene":
            part = voices.silence(SCENE_BEAT_S)
        elif line.kind == "action":
            part = voices.silence(_action_seconds(text))
        else:
            raise BadScript(f"Line {index + 1} is a {line.kind!r}: scene, action or dialogue.")
        parts.append(part)
        start, end = at, at + part.size
        at = end
        timed.append(
            TimedLine(
                index=index,
                kind=line.kind,
                character=(line.character or None) if line.kind == "dialogue" else None,
                text=text,
                voice=voice.name if voice else None,
                start_ms=round(start * 1000 / voices.SAMPLE_RATE),
                end_ms=round(end * 1000 / voices.SAMPLE_RATE),
                speech_ms=round(speech * 1000 / voices.SAMPLE_RATE),
            )
        )
    return TableRead(
        lines=timed,
        samples=np.concatenate(parts).astype(np.float32),
        cast={name: cast.voice_for(name).name for name in characters_in_order(lines)},
        tts_seconds=tts_seconds,
    )


def animatic_cards(read: TableRead) -> list[Card]:
    """One card per line, coloured by speaker (stable within the read)."""
    colours = {name: SPEAKER_COLOURS[i % len(SPEAKER_COLOURS)] for i, name in enumerate(read.cast)}
    cliffhanger = read.cliffhanger
    cards = []
    for line in read.lines:
        colour = "0x101018" if line.kind == "scene" else "0x22223a"
        if line.kind == "dialogue":
            colour = colours.get((line.character or "").strip(), SPEAKER_COLOURS[-1])
        cards.append(
            Card(
                kind=line.kind,
                speaker=line.character,
                text=line.text,
                start_s=line.start_ms / 1000,
                end_s=line.end_ms / 1000,
                colour=colour,
                cliffhanger=line is cliffhanger,
            )
        )
    return cards


def render(
    read: TableRead,
    *,
    output: Path,
    background: Path | None = None,
    heading: str = "",
    frame: Frame | None = None,
) -> Path:
    """The read's animatic: its cards over the poster (or colour cards), with its audio."""
    with tempfile.TemporaryDirectory(prefix="md-table-read-") as tmp:
        audio = voices.write_wav(Path(tmp) / "read.wav", read.samples)
        return render_animatic(
            animatic_cards(read),
            audio=audio,
            output=output,
            duration_s=read.duration_s,
            frame=frame,
            background=background,
            heading=heading,
        )


@dataclass(frozen=True)
class Sent:
    episode_id: int
    number: int
    job_id: int
    replaced: bool


def send_to_studio(
    *,
    db: Session,
    storage: Storage,
    settings: Settings,
    owner_id: int,
    series_id: int,
    number: int,
    title: str,
    video: Path,
) -> Sent:
    """Hand the animatic to the upload path as episode `number` of the creator's draft series
    (the new video of that episode if it exists: it takes over once transcoded). Only a draft
    series takes one: a published series' new video would go to the operators' review."""
    owner = accounts_service.get(db=db, account_id=owner_id)
    if owner is None:
        raise NotFound("The account that asked for this table read is gone.")
    series = studio.get_own_series(db=db, series_id=series_id, account=owner, lock=True)
    if series.status != SeriesStatus.draft:
        raise SeriesNotDraft(
            "Table reads go into a draft series; this one is out. Create a draft series "
            "from the writers' room to hear its episodes.",
            series_id=series_id,
        )
    existing = next((e for e in series.episodes if e.number == number), None)
    episode, _asset, job = videos.upload_episode(
        db=db,
        storage=storage,
        settings=settings,
        series=series,
        owner=owner,
        filename=f"table-read-{series.id}-{number}.mp4",
        source=video,
        title=title or f"Episode {number} (table read)",
        number=None if existing is not None else number,
        replaces=existing,
    )
    return Sent(
        episode_id=episode.id, number=episode.number, job_id=job.id, replaced=bool(existing)
    )


class Progress(Protocol):
    def __call__(self, fraction: float, message: str) -> None: ...


def table_read_episode(
    *,
    sessions: sessionmaker[Session],
    storage: Storage,
    settings: Settings,
    owner_id: int,
    request: TableReadRequest,
    progress: Progress | None = None,
    frame: Frame | None = None,
) -> dict[str, Any]:
    """The whole table read of one episode: voice, render, upload; what the job returns."""
    report: Progress = progress or (lambda fraction, message: None)
    with session_scope(sessions) as db:  # fail early, before minutes of work
        owner = accounts_service.get(db=db, account_id=owner_id)
        if owner is None:
            raise NotFound("The account that asked for this table read is gone.")
        if request.project_id is not None:
            request = _from_project(db, owner, request)
        if request.series_id is None or not request.lines:
            raise BadScript("Name the series and send the script's lines, or a project.")
        series = studio.get_own_series(db=db, series_id=request.series_id, account=owner)
        if series.status != SeriesStatus.draft:
            raise SeriesNotDraft(
                "Table reads go into a draft series; this one is out.", series_id=series.id
            )
        series_title, poster_key = series.title, series.poster_key
        existing_title = next((e.title for e in series.episodes if e.number == request.episode), "")
    cast = voices.Cast.of(characters_in_order(request.lines), preferred=request.voices)
    report(0.02, "Loading the voices")

    def on_line(k: int, n: int) -> None:
        report(0.05 + 0.6 * k / n, f"Voicing line {k + 1}/{n}")

    read = perform(request.lines, cast=cast, on_line=on_line)
    report(0.66, "Rendering the animatic")
    series_id = request.series_id
    title = request.title or existing_title
    heading = f"{series_title} · Ep. {request.episode}" + (f" · {title}" if title else "")
    with tempfile.TemporaryDirectory(prefix="md-table-read-") as tmp, ExitStack() as stack:
        background = stack.enter_context(storage.local_copy(poster_key)) if poster_key else None
        started = time.perf_counter()
        video = render(
            read,
            output=Path(tmp) / "animatic.mp4",
            background=background,
            heading=f"TABLE READ · {heading}",
            frame=frame,
        )
        render_seconds = time.perf_counter() - started
        report(0.9, "Uploading the animatic")
        with session_scope(sessions) as db:
            sent = send_to_studio(
                db=db,
                storage=storage,
                settings=settings,
                owner_id=owner_id,
                series_id=series_id,
                number=request.episode,
                title=title,
                video=video,
            )
    report(1.0, "Sent to the studio: transcoding")
    cliffhanger = read.cliffhanger
    return {
        "series_id": series_id,
        "episode_id": sent.episode_id,
        "episode": sent.number,
        "transcode_job_id": sent.job_id,
        "replaced_video": sent.replaced,
        "duration_ms": round(read.duration_s * 1000),
        "cliffhanger_start_ms": cliffhanger.start_ms if cliffhanger else None,
        "voices": read.cast,
        "lines": [
            {
                "index": line.index,
                "kind": line.kind,
                "character": line.character,
                "voice": line.voice,
                "start_ms": line.start_ms,
                "end_ms": line.end_ms,
            }
            for line in read.lines
        ],
        "tts_seconds": round(read.tts_seconds, 3),
        "speech_seconds": round(read.speech_seconds, 3),
        "render_seconds": round(render_seconds, 3),
    }


def _from_project(db: Session, owner: Account, request: TableReadRequest) -> TableReadRequest:
    """The request completed from the writers'-room project: its script, series and voices."""
    assert request.project_id is not None
    project = writers_room.get_own_project(db=db, project_id=request.project_id, account=owner)
    script = writers_room.episode_script(db, project_id=project.id, episode=request.episode)
    if script is None:
        raise BadScript(
            f"Episode {request.episode} has no script yet: ask for one first.",
            episode=request.episode,
        )
    if project.series_id is None:
        raise SeriesNotDraft(
            "Create the series from this project first: the table read becomes one of its "
            "draft episodes."
        )
    bible = writers_room.current_plan(db=db, project=project).bible
    card_title = next(
        (
            c.title
            for c in writers_room.current_plan(db=db, project=project).cards
            if c.number == request.episode
        ),
        "",
    )
    return request.model_copy(
        update={
            "series_id": project.series_id,
            "lines": [
                ScriptLineIn(kind=line.kind, character=line.character, text=line.text)
                for line in script.lines
            ],
            "voices": {c.name: c.voice for c in bible.characters} | request.voices,
            "title": request.title or card_title,
        }
    )


def parse_request(payload: dict[str, Any]) -> TableReadRequest:
    """The job's payload as a request; a clear 422 when it is not one."""
    try:
        request = TableReadRequest.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadScript(f"The table read's {where}: {first['msg']}.") from exc
    if request.project_id is None and (request.series_id is None or not request.lines):
        raise BadScript("Name the series and send the script's lines, or name a project.")
    return request


def run_job(ctx: JobContext) -> dict[str, Any]:
    """The AI worker's handler for a `table_read` job."""
    return table_read_episode(
        sessions=ctx.sessions,
        storage=ctx.storage,
        settings=ctx.settings,
        owner_id=ctx.owner_id,
        request=parse_request(ctx.payload),
        progress=ctx.progress,
    )
