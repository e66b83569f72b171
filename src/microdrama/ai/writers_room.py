"""The writers' room: a creator's projects, their versioned parts (bible, arc, cards, scripts),
generation as AI jobs, and "create the series" (a draft studio series from the cards).

A new project gets the beat engine's complete plan at once (the template's wording); the model
then rewrites parts in an AI job (`run_job`). Every change of a part (the model's, an edit, a
restore) adds a version; the current one is the highest.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from microdrama.accounts.models import Account
from microdrama.ai.beats import (
    TEMPLATES,
    InvalidSeasonShape,
    SeasonSkeleton,
    Trope,
    build_skeleton,
    check_shape,
)
from microdrama.ai.jobs import JobContext, JobFailed
from microdrama.ai.llm import llm_from_settings
from microdrama.ai.plans import Bible, Character, EpisodeCard, Script, SeasonArc
from microdrama.ai.writers_room_models import PlanVersion, WritersRoomProject
from microdrama.ai.writers_room_schemas import (
    ArcEdit,
    BibleEdit,
    CardEdit,
    PartHistory,
    ProjectCreate,
    ProjectRead,
    ProjectSummary,
    ScriptEdit,
    VersionRead,
)
from microdrama.ai.writers_room_writing import (
    Brief,
    Plan,
    fallback_plan,
    rewrite_cliffhanger,
    write_bible,
    write_card,
    write_script,
)
from microdrama.db import session_scope, utcnow
from microdrama.errors import Conflict, DomainError, NotFound
from microdrama.studio import service as studio
from microdrama.studio.schemas import StudioSeriesCreate

BIBLE, ARC = "bible", "arc"


class InvalidSeason(DomainError, code="invalid_season", status_code=422): ...


class SeriesAlreadyCreated(Conflict, code="series_already_created"): ...


def card_part(episode: int) -> str:
    return f"card:{episode}"


def script_part(episode: int) -> str:
    return f"script:{episode}"


# Projects -----------------------------------------------------------------------------------


def create_project(*, db: Session, owner: Account, data: ProjectCreate) -> WritersRoomProject:
    """A new project with the engine's whole plan in the template's wording (version 1 of
    every part), ready to edit before the model writes anything."""
    try:
        check_shape(
            episode_count=data.episode_count,
            free_episodes=data.free_episodes,
            episode_seconds=data.episode_seconds,
        )
    except InvalidSeasonShape as exc:
        field = "episode_count" if "episodes run" in str(exc) else "free_episodes"
        if "seconds" in str(exc):
            field = "episode_seconds"
        raise InvalidSeason(str(exc), field=field) from exc
    project = WritersRoomProject(
        owner_id=owner.id,
        premise=data.premise,
        trope=data.trope.value,
        tone=data.tone,
        episode_count=data.episode_count,
        free_episodes=data.free_episodes,
        episode_seconds=data.episode_seconds,
        seed=random.SystemRandom().randrange(1, 2**31 - 1),
        title="",
    )
    skeleton = skeleton_of(project)
    plan = fallback_plan(skeleton, brief_of(project))
    project.title = plan.bible.title
    db.add(project)
    db.flush()
    save_plan(db=db, project=project, plan=plan, source="engine")
    return project


def skeleton_of(project: WritersRoomProject) -> SeasonSkeleton:
    return build_skeleton(
        trope=Trope(project.trope),
        episode_count=project.episode_count,
        free_episodes=project.free_episodes,
        episode_seconds=project.episode_seconds,
        seed=project.seed,
    )


def brief_of(project: WritersRoomProject) -> Brief:
    return Brief(premise=project.premise, tone=project.tone)


def list_projects(*, db: Session, owner: Account) -> list[WritersRoomProject]:
    """The creator's projects, the most recently changed first."""
    return list(
        db.scalars(
            select(WritersRoomProject)
            .where(WritersRoomProject.owner_id == owner.id)
            .order_by(WritersRoomProject.updated_at.desc(), WritersRoomProject.id.desc())
        )
    )


def get_own_project(
    *, db: Session, project_id: int, account: Account, lock: bool = False
) -> WritersRoomProject:
    """The creator's project (any for an admin); someone else's is NotFound."""
    query = select(WritersRoomProject).where(WritersRoomProject.id == project_id)
    if lock:
        query = query.with_for_update()
    project = db.scalar(query)
    if project is None or not account.manages(project.owner_id):
        raise NotFound("No such project in your writers' room.", project_id=project_id)
    return project


# Versions -----------------------------------------------------------------------------------


def save_part(
    *,
    db: Session,
    project: WritersRoomProject,
    part: str,
    content: BaseModel,
    source: str,
    note: str = "",
) -> PlanVersion:
    """Add the part's next version."""
    latest = db.scalar(
        select(func.max(PlanVersion.number)).where(
            PlanVersion.project_id == project.id, PlanVersion.part == part
        )
    )
    version = PlanVersion(
        project_id=project.id,
        part=part,
        number=(latest or 0) + 1,
        content=content.model_dump(mode="json"),
        source=source,
        note=note[:120],
    )
    db.add(version)
    project.updated_at = utcnow()
    if part == BIBLE and isinstance(content, Bible):
        project.title = content.title[:120]
    db.flush()
    return version


def save_plan(*, db: Session, project: WritersRoomProject, plan: Plan, source: str) -> None:
    save_part(db=db, project=project, part=BIBLE, content=plan.bible, source=source)
    save_part(db=db, project=project, part=ARC, content=plan.arc, source=source)
    for card in plan.cards:
        save_part(db=db, project=project, part=card_part(card.number), content=card, source=source)


def current_versions(*, db: Session, project_id: int) -> dict[str, PlanVersion]:
    """Each part's current (highest) version."""
    latest = (
        select(PlanVersion.part, func.max(PlanVersion.number).label("number"))
        .where(PlanVersion.project_id == project_id)
        .group_by(PlanVersion.part)
        .subquery()
    )
    rows = db.scalars(
        select(PlanVersion)
        .join(
            latest,
            (PlanVersion.part == latest.c.part) & (PlanVersion.number == latest.c.number),
        )
        .where(PlanVersion.project_id == project_id)
    )
    return {row.part: row for row in rows}


def _current(db: Session, project: WritersRoomProject, part: str) -> PlanVersion:
    version = db.scalar(
        select(PlanVersion)
        .where(PlanVersion.project_id == project.id, PlanVersion.part == part)
        .order_by(PlanVersion.number.desc())
        .limit(1)
    )
    if version is None:
        raise NotFound(f"This project has no {describe_part(part)} yet.", part=part)
    return version


def describe_part(part: str) -> str:
    kind, _, episode = part.partition(":")
    return {"card": f"card for episode {episode}", "script": f"script for episode {episode}"}.get(
        kind, kind
    )


def current_plan(*, db: Session, project: WritersRoomProject) -> Plan:
    versions = current_versions(db=db, project_id=project.id)
    return Plan(
        bible=Bible.model_validate(versions[BIBLE].content),
        arc=SeasonArc.model_validate(versions[ARC].content),
        cards=[
            EpisodeCard.model_validate(versions[card_part(n)].content)
            for n in range(1, project.episode_count + 1)
        ],
    )


def check_part(project: WritersRoomProject, part: str) -> str:
    """The part's name if this project has such a part, else NotFound."""
    kind, _, episode = part.partition(":")
    if part in (BIBLE, ARC):
        return part
    if (
        kind in ("card", "script")
        and episode.isdigit()
        and 1 <= int(episode) <= project.episode_count
    ):
        return part
    raise NotFound(
        f"This project has no part {part!r}: bible, arc, card:N or script:N with N from 1 to "
        f"{project.episode_count}.",
        part=part,
    )


def history(*, db: Session, project: WritersRoomProject, part: str) -> PartHistory:
    """Every version of one part, newest first."""
    check_part(project, part)
    versions = list(
        db.scalars(
            select(PlanVersion)
            .where(PlanVersion.project_id == project.id, PlanVersion.part == part)
            .order_by(PlanVersion.number.desc())
        )
    )
    if not versions:
        raise NotFound(f"This project has no {describe_part(part)} yet.", part=part)
    return PartHistory(
        part=part,
        current=versions[0].number,
        versions=[
            VersionRead(
                number=v.number,
                source=v.source,
                note=v.note,
                created_at=v.created_at,
                content=v.content,
            )
            for v in versions
        ],
    )


def restore(*, db: Session, project: WritersRoomProject, part: str, number: int) -> PlanVersion:
    """Make an earlier version current again, as a new version (the history stays whole)."""
    check_part(project, part)
    old = db.scalar(
        select(PlanVersion).where(
            PlanVersion.project_id == project.id,
            PlanVersion.part == part,
            PlanVersion.number == number,
        )
    )
    if old is None:
        raise NotFound(f"The {describe_part(part)} has no version {number}.", number=number)
    model = _part_schema(part).model_validate(old.content)
    return save_part(
        db=db,
        project=project,
        part=part,
        content=model,
        source="restore",
        note=f"version {number} restored",
    )


def _part_schema(part: str) -> type[BaseModel]:
    kind = part.partition(":")[0]
    schemas: dict[str, type[BaseModel]] = {
        "bible": Bible,
        "arc": SeasonArc,
        "card": EpisodeCard,
        "script": Script,
    }
    return schemas[kind]


# Edits --------------------------------------------------------------------------------------


def edit_bible(*, db: Session, project: WritersRoomProject, data: BibleEdit) -> PlanVersion:
    bible = Bible.model_validate(_current(db, project, BIBLE).content)
    changes: dict[str, Any] = {
        name: getattr(data, name) for name in data.model_fields_set if name != "characters"
    }
    if data.characters is not None:
        changes["characters"] = [Character(**c.model_dump()) for c in data.characters]
    edited = Bible.model_validate({**bible.model_dump(), **changes})
    return save_part(db=db, project=project, part=BIBLE, content=edited, source="edit")


def edit_arc(*, db: Session, project: WritersRoomProject, data: ArcEdit) -> PlanVersion:
    arc = SeasonArc.model_validate(_current(db, project, ARC).content)
    by_episode = {b.episode: b for b in arc.beats}
    for change in data.beats:
        if change.episode not in by_episode:
            raise NotFound(
                f"No beat falls on episode {change.episode}; beats fall on episodes "
                f"{', '.join(str(e) for e in sorted(by_episode))}.",
                field="beats",
            )
        by_episode[change.episode] = by_episode[change.episode].model_copy(
            update={"summary": change.summary}
        )
    edited = arc.model_copy(update={"beats": [by_episode[b.episode] for b in arc.beats]})
    return save_part(db=db, project=project, part=ARC, content=edited, source="edit")


def edit_card(
    *, db: Session, project: WritersRoomProject, episode: int, data: CardEdit
) -> PlanVersion:
    part = check_part(project, card_part(episode))
    card = EpisodeCard.model_validate(_current(db, project, part).content)
    changes = {name: getattr(data, name) for name in data.model_fields_set}
    return save_part(
        db=db,
        project=project,
        part=part,
        content=card.model_copy(update=changes),
        source="edit",
    )


def edit_script(
    *, db: Session, project: WritersRoomProject, episode: int, data: ScriptEdit
) -> PlanVersion:
    part = check_part(project, script_part(episode))
    script = Script(episode=episode, target_seconds=project.episode_seconds, lines=data.lines)
    return save_part(db=db, project=project, part=part, content=script, source="edit")


# Reads for pages, the table read (S) and the cliffhanger scores (K) ------------------------


def project_summary(project: WritersRoomProject) -> ProjectSummary:
    return ProjectSummary(
        id=project.id,
        title=project.title,
        premise=project.premise,
        trope=project.trope,
        trope_label=TEMPLATES[Trope(project.trope)].label,
        tone=project.tone,
        episode_count=project.episode_count,
        free_episodes=project.free_episodes,
        episode_seconds=project.episode_seconds,
        series_id=project.series_id,
        created_at=project.created_at,
        updated_at=project.updated_at,
        url=f"/studio/writers-room/{project.id}",
    )


def project_read(*, db: Session, project: WritersRoomProject) -> ProjectRead:
    versions = current_versions(db=db, project_id=project.id)
    plan = current_plan(db=db, project=project)
    return ProjectRead(
        **project_summary(project).model_dump(),
        paywall_episode=project.free_episodes,
        bible=plan.bible,
        arc=plan.arc,
        cards=plan.cards,
        scripts=sorted(int(p.partition(":")[2]) for p in versions if p.startswith("script:")),
        versions={part: v.number for part, v in versions.items()},
        series_url=f"/studio/series/{project.series_id}" if project.series_id else None,
    )


def episode_script(db: Session, *, project_id: int, episode: int) -> Script | None:
    """The current script of one episode (the table read's input), None if none is written."""
    version = db.scalar(
        select(PlanVersion)
        .where(PlanVersion.project_id == project_id, PlanVersion.part == script_part(episode))
        .order_by(PlanVersion.number.desc())
        .limit(1)
    )
    return Script.model_validate(version.content) if version is not None else None


@dataclass(frozen=True)
class CliffhangerLine:
    line: str
    kind: str  # reveal, threat, decision, arrival
    project_id: int


def cliffhanger_lines(db: Session, *, series_id: int) -> dict[int, CliffhangerLine]:
    """Episode number → its current cliffhanger line, for a series made in the writers' room
    (empty for any other series)."""
    project_id = db.scalar(
        select(WritersRoomProject.id).where(WritersRoomProject.series_id == series_id)
    )
    if project_id is None:
        return {}
    lines = {}
    for part, version in current_versions(db=db, project_id=project_id).items():
        if part.startswith("card:"):
            card = EpisodeCard.model_validate(version.content)
            lines[card.number] = CliffhangerLine(
                line=card.cliffhanger_line, kind=card.cliffhanger_kind.value, project_id=project_id
            )
    return dict(sorted(lines.items()))


@dataclass(frozen=True)
class PlannedEpisode:
    number: int
    title: str
    synopsis: str


def planned_episodes(db: Session, *, series_id: int) -> list[PlannedEpisode]:
    """A writers'-room series' episodes as the cards plan them (title and synopsis), for the
    videos still to come (a table read's animatic, an upload)."""
    project = db.scalar(select(WritersRoomProject).where(WritersRoomProject.series_id == series_id))
    if project is None:
        return []
    return [
        PlannedEpisode(number=c.number, title=c.title, synopsis=card_synopsis(c))
        for c in current_plan(db=db, project=project).cards
    ]


def card_synopsis(card: EpisodeCard) -> str:
    return f"{card.hook} {card.conflict} {card.turn}"


# Create the series --------------------------------------------------------------------------


def create_series(
    *, db: Session, project: WritersRoomProject, owner: Account
) -> tuple[int, list[PlannedEpisode]]:
    """A draft studio series from the plan: the bible's title, a synopsis of the logline and
    the cast, the free episodes of the paywall. The studio has no episode without a video, so
    each episode's title and synopsis stay on its card (`planned_episodes`) until its video
    (a table read, an upload) comes."""
    if project.series_id is not None:
        raise SeriesAlreadyCreated(
            "The series was already created from this project.",
            series_id=project.series_id,
            url=f"/studio/series/{project.series_id}",
        )
    plan = current_plan(db=db, project=project)
    template = TEMPLATES[Trope(project.trope)]
    cast = "; ".join(f"{c.name}, {c.role}" for c in plan.bible.characters)
    episodes = "\n".join(f"{c.number}. {c.title}" for c in plan.cards)
    synopsis = f"{plan.bible.logline}\n\nWith {cast}.\n\nEpisodes:\n{episodes}"
    series = studio.create_series(
        db=db,
        owner=owner,
        data=StudioSeriesCreate(
            title=plan.bible.title[:200],
            synopsis=synopsis[:4000],
            genre="drama",
            tags=[template.label.lower(), "writers room"],
            free_episodes=project.free_episodes,
        ),
    )
    project.series_id = series.id
    project.updated_at = utcnow()
    db.flush()
    return series.id, [
        PlannedEpisode(number=c.number, title=c.title, synopsis=card_synopsis(c))
        for c in plan.cards
    ]


# Generation (the AI job) --------------------------------------------------------------------


def job_payload(*, project: WritersRoomProject, what: str, episode: int | None) -> dict[str, Any]:
    """What the job writes; refused here (in the request) rather than in the worker."""
    if what in ("card", "script", "cliffhanger"):
        if episode is None:
            raise InvalidSeason(f"Say which episode's {what} to write.", field="episode")
        check_part(project, card_part(episode))
    elif episode is not None:
        raise InvalidSeason(f"Writing the {what} takes no episode.", field="episode")
    return {"project_id": project.id, "what": what, "episode": episode}


def run_job(ctx: JobContext) -> dict[str, Any]:
    """The AI job's handler: write the whole plan, the bible, one card, one script or a
    stronger ending with the configured model, each part saved as a new version as soon as
    it is written (a plan's cards one by one: "card 12/30")."""
    project_id = int(ctx.payload["project_id"])
    what = str(ctx.payload["what"])
    episode = ctx.payload.get("episode")
    with session_scope(ctx.sessions) as db:
        project = db.get(WritersRoomProject, project_id)
        if project is None or project.owner_id != ctx.owner_id:
            raise JobFailed("The project was deleted.")
        db.expunge(project)
    skeleton = skeleton_of(project)
    brief = brief_of(project)
    llm = llm_from_settings(ctx.settings)

    def save(part: str, content: BaseModel, note: str = "") -> int:
        with session_scope(ctx.sessions) as db:
            row = db.get(WritersRoomProject, project_id)
            if row is None:
                raise JobFailed("The project was deleted.")
            return save_part(
                db=db, project=row, part=part, content=content, source="model", note=note
            ).number

    seed = random.SystemRandom().randrange(1, 2**31 - 1)
    ctx.progress(0.0, f"Writing with {llm.name}")
    if what == "plan":
        bible = write_bible(llm, skeleton, brief, seed=seed)
        save(BIBLE, bible)
        for slot in skeleton.cards:
            ctx.progress(
                slot.number / (skeleton.episode_count + 1),
                f"card {slot.number}/{skeleton.episode_count}",
            )
            save(
                card_part(slot.number),
                write_card(llm, skeleton, brief, slot, seed=seed + slot.number),
            )
    elif what == "bible":
        save(BIBLE, write_bible(llm, skeleton, brief, seed=seed))
    elif what == "card":
        assert episode is not None
        save(
            card_part(episode),
            write_card(llm, skeleton, brief, skeleton.cards[episode - 1], seed=seed),
        )
    elif what in ("script", "cliffhanger"):
        assert episode is not None
        with session_scope(ctx.sessions) as db:
            row = db.get(WritersRoomProject, project_id)
            assert row is not None
            card = EpisodeCard.model_validate(_current(db, row, card_part(episode)).content)
        if what == "script":
            script = write_script(llm, skeleton, brief, card, seed=seed, progress=ctx.progress)
            save(script_part(episode), script)
        else:
            save(
                card_part(episode),
                rewrite_cliffhanger(llm, skeleton, brief, card, seed=seed),
                note="stronger ending",
            )
    else:
        raise JobFailed(f"Unknown writers'-room job {what!r}.")
    ctx.progress(1.0, "Written")
    usage = llm.usage
    return {
        "project_id": project_id,
        "what": what,
        "episode": episode,
        "url": f"/studio/writers-room/{project_id}" + (f"?episode={episode}" if episode else ""),
        "completion_tokens": usage.completion_tokens,
        "seconds": round(usage.seconds, 2),
    }
