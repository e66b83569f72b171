"""Writers'-room API: projects, edits of any part, version history and restore, generation
as AI jobs, and "create the series"."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel

from microdrama.accounts.deps import CurrentCreator
from microdrama.ai import jobs
from microdrama.ai import writers_room as room
from microdrama.ai.beats import trope_choices
from microdrama.ai.models import AIJobKind
from microdrama.ai.writers_room_schemas import (
    ArcEdit,
    BibleEdit,
    CardEdit,
    GenerateRequest,
    GenerationStarted,
    PartHistory,
    ProjectCreate,
    ProjectRead,
    ProjectSummary,
    ScriptEdit,
    ScriptRead,
    SeriesCreated,
)
from microdrama.config import AppSettings
from microdrama.db import DbSession
from microdrama.errors import NotFound
from microdrama.types import PathId

router = APIRouter(prefix="/api/studio/writers-room", tags=["writers room"])

Episode = Annotated[int, Path(ge=1, le=80, description="The episode's number")]
Part = Annotated[str, Path(max_length=24, description="bible, arc, card:N or script:N")]
Version = Annotated[int, Path(ge=1, le=1_000_000)]


class TropeRead(BaseModel):
    value: str
    label: str
    pitch: str


@router.get("/tropes")
def tropes() -> list[TropeRead]:
    """The tropes the beat engine has templates for."""
    return [TropeRead(value=v, label=label, pitch=p) for v, label, p in trope_choices()]


@router.get("")
def list_projects(db: DbSession, creator: CurrentCreator) -> list[ProjectSummary]:
    """The creator's projects, the most recently changed first."""
    return [room.project_summary(p) for p in room.list_projects(db=db, owner=creator)]


@router.post("", status_code=201)
def create_project(data: ProjectCreate, db: DbSession, creator: CurrentCreator) -> ProjectRead:
    """A new project: the beat engine's complete plan at once, in the template's wording
    (ask `generate` with `plan` for the model's words)."""
    project = room.create_project(db=db, owner=creator, data=data)
    return room.project_read(db=db, project=project)


@router.get("/{project_id}")
def get_project(project_id: PathId, db: DbSession, creator: CurrentCreator) -> ProjectRead:
    """The plan's current version of every part."""
    project = room.get_own_project(db=db, project_id=project_id, account=creator)
    return room.project_read(db=db, project=project)


@router.patch("/{project_id}/bible")
def edit_bible(
    project_id: PathId, data: BibleEdit, db: DbSession, creator: CurrentCreator
) -> ProjectRead:
    """Change the title, logline, tone or cast (a new version of the bible)."""
    project = room.get_own_project(db=db, project_id=project_id, account=creator, lock=True)
    room.edit_bible(db=db, project=project, data=data)
    return room.project_read(db=db, project=project)


@router.patch("/{project_id}/arc")
def edit_arc(
    project_id: PathId, data: ArcEdit, db: DbSession, creator: CurrentCreator
) -> ProjectRead:
    """Rewrite beats' summaries (where beats fall is the engine's)."""
    project = room.get_own_project(db=db, project_id=project_id, account=creator, lock=True)
    room.edit_arc(db=db, project=project, data=data)
    return room.project_read(db=db, project=project)


@router.patch("/{project_id}/cards/{episode}")
def edit_card(
    project_id: PathId, episode: Episode, data: CardEdit, db: DbSession, creator: CurrentCreator
) -> ProjectRead:
    """Change a card's text (a new version of the card)."""
    project = room.get_own_project(db=db, project_id=project_id, account=creator, lock=True)
    room.edit_card(db=db, project=project, episode=episode, data=data)
    return room.project_read(db=db, project=project)


@router.get("/{project_id}/scripts/{episode}")
def get_script(
    project_id: PathId, episode: Episode, db: DbSession, creator: CurrentCreator
) -> ScriptRead:
    """An episode's current script (404 until one is written)."""
    project = room.get_own_project(db=db, project_id=project_id, account=creator)
    room.check_part(project, room.script_part(episode))
    return _script_read(db, project.id, episode)


@router.put("/{project_id}/scripts/{episode}")
def edit_script(
    project_id: PathId,
    episode: Episode,
    data: ScriptEdit,
    db: DbSession,
    creator: CurrentCreator,
) -> ScriptRead:
    """Replace an episode's script with the creator's lines (a new version)."""
    project = room.get_own_project(db=db, project_id=project_id, account=creator, lock=True)
    room.edit_script(db=db, project=project, episode=episode, data=data)
    return _script_read(db, project.id, episode)


def _script_read(db: DbSession, project_id: int, episode: int) -> ScriptRead:
    script = room.episode_script(db, project_id=project_id, episode=episode)
    if script is None:
        raise NotFound(
            f"Episode {episode} has no script yet: ask for one with “Get script”.",
            episode=episode,
        )
    versions = room.current_versions(db=db, project_id=project_id)
    return ScriptRead(
        project_id=project_id,
        episode=episode,
        version=versions[room.script_part(episode)].number,
        estimated_seconds=round(script.estimated_seconds, 1),
        script=script,
    )


@router.get("/{project_id}/history/{part}")
def part_history(
    project_id: PathId, part: Part, db: DbSession, creator: CurrentCreator
) -> PartHistory:
    """Every version of one part (bible, arc, card:N, script:N), newest first."""
    project = room.get_own_project(db=db, project_id=project_id, account=creator)
    return room.history(db=db, project=project, part=part)


@router.post("/{project_id}/history/{part}/{number}/restore")
def restore_version(
    project_id: PathId, part: Part, number: Version, db: DbSession, creator: CurrentCreator
) -> ProjectRead:
    """Make an earlier version of a part current again (as a new version)."""
    project = room.get_own_project(db=db, project_id=project_id, account=creator, lock=True)
    room.restore(db=db, project=project, part=part, number=number)
    return room.project_read(db=db, project=project)


@router.post("/{project_id}/generate", status_code=202)
def generate(
    project_id: PathId,
    data: GenerateRequest,
    db: DbSession,
    creator: CurrentCreator,
    settings: AppSettings,
) -> GenerationStarted:
    """Write with the model in an AI job: the whole plan, the bible, one card, one script or a
    stronger ending; follow it at /api/studio/ai-jobs/{job_id}."""
    project = room.get_own_project(db=db, project_id=project_id, account=creator)
    payload = room.job_payload(project=project, what=data.what, episode=data.episode)
    job = jobs.enqueue(
        db,
        settings=settings,
        kind=AIJobKind.writers_room,
        owner_id=creator.id,
        payload=payload,
        subject=f"project:{project.id}",
    )
    return GenerationStarted(job_id=job.id, what=data.what, episode=data.episode)


@router.post("/{project_id}/series", status_code=201)
def create_series(project_id: PathId, db: DbSession, creator: CurrentCreator) -> SeriesCreated:
    """Turn the plan into a draft studio series (409 if it was already created)."""
    project = room.get_own_project(db=db, project_id=project_id, account=creator, lock=True)
    series_id, episodes = room.create_series(db=db, project=project, owner=creator)
    return SeriesCreated(
        series_id=series_id, url=f"/studio/series/{series_id}", episodes=len(episodes)
    )
