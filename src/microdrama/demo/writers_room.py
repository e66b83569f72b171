"""The demo's writers'-room project: a contract-marriage season planned by the beat engine (no
model needed), with episode 1's script written out from the demo's own first episode, so a
newcomer finds a plan to edit and a script to table-read."""

from __future__ import annotations

from sqlalchemy.orm import Session

from microdrama.accounts.models import Account
from microdrama.ai import writers_room
from microdrama.ai.beats import Trope
from microdrama.ai.plans import ScriptLine
from microdrama.ai.writers_room_models import WritersRoomProject
from microdrama.ai.writers_room_schemas import ProjectCreate, ScriptEdit

PREMISE = (
    "To save her father's bakery, a pastry chef signs a one-year marriage contract with the "
    "coldest CEO in the city; neither may fall in love, and no one may know."
)
EPISODE_1 = (
    ScriptLine(kind="scene", text="Hale Tower, top floor, 11:58 p.m."),
    ScriptLine(kind="action", text="Ava drops a folder of unpaid bills on the glass desk."),
    ScriptLine(kind="dialogue", character="Ava", text="You want to buy a wife, Mr. Hale?"),
    ScriptLine(
        kind="dialogue",
        character="Lucas",
        text="One year. One ring. Then you never see me again.",
    ),
    ScriptLine(kind="action", text="He slides a pen across the desk. She doesn't take it."),
    ScriptLine(kind="dialogue", character="Ava", text="And if I say no?"),
    ScriptLine(
        kind="dialogue", character="Lucas", text="Then your father's bakery closes on Monday."
    ),
)


def seed_project(*, db: Session, creator: Account) -> WritersRoomProject:
    """The demo creator's project (made once: a rerun finds it)."""
    existing = writers_room.list_projects(db=db, owner=creator)
    if existing:
        return existing[0]
    project = writers_room.create_project(
        db=db,
        owner=creator,
        data=ProjectCreate(
            premise=PREMISE,
            trope=Trope.contract_marriage,
            tone="glossy, slow-burn",
            episode_count=30,
            free_episodes=8,
            episode_seconds=90,
        ),
    )
    writers_room.edit_script(
        db=db, project=project, episode=1, data=ScriptEdit(lines=list(EPISODE_1))
    )
    return project
