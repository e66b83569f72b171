"""The writers' room with the real packaged model (SmolLM2 through llama-cpp-python): every
offline generation is valid against its schema, keeps the engine's structure, and a script is
sized to its episode; the AI job writes parts as new versions."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts import service as accounts
from microdrama.ai import jobs
from microdrama.ai import writers_room as room
from microdrama.ai.beats import SeasonSkeleton, Trope, build_skeleton
from microdrama.ai.llm import LocalLlama
from microdrama.ai.models import AIJobState
from microdrama.ai.packaged import smollm2_gguf
from microdrama.ai.plans import (
    LENGTH_TOLERANCE,
    Bible,
    EpisodeCard,
    Script,
    SeasonArc,
)
from microdrama.ai.writers_room_writing import (
    Brief,
    Plan,
    TokenBudget,
    fallback_card,
    fallback_plan,
    rewrite_cliffhanger,
    write_plan,
    write_script,
)
from microdrama.config import Settings
from microdrama.db import session_scope
from tests.support.studio import open_studio

BRIEF = Brief(
    premise="A florist marries a cold CEO for one year to save her father's shop.",
    tone="romantic, tense",
)


@pytest.fixture(scope="module")
def model() -> LocalLlama:
    return LocalLlama(model_path=smollm2_gguf(), threads=2)


@pytest.fixture(scope="module")
def skeleton() -> SeasonSkeleton:
    return build_skeleton(
        trope=Trope.contract_marriage,
        episode_count=20,
        free_episodes=6,
        episode_seconds=60,
        seed=11,
    )


@pytest.fixture(scope="module")
def plan(model: LocalLlama, skeleton: SeasonSkeleton) -> Plan:
    """One 20-episode plan written by the model, for the whole module, on a small budget of
    tokens (answers cut short are closed and completed: what the test is about too). A card's
    24 tokens hold its title and the start of its hook: 15 of the 20 cards get the model's
    words (5 are asked for), from 704 tokens instead of 880 at 32."""
    return write_plan(model, skeleton, BRIEF, budget=TokenBudget(bible=32, character=24, card=24))


def test_a_plan_written_offline_is_valid_and_keeps_the_engine_structure(
    plan: Plan, skeleton: SeasonSkeleton, model: LocalLlama
) -> None:
    # Round trips through the schemas: what is stored validates again.
    Bible.model_validate(plan.bible.model_dump())
    SeasonArc.model_validate(plan.arc.model_dump())
    assert len(plan.cards) == skeleton.episode_count
    for card, slot in zip(plan.cards, skeleton.cards, strict=True):
        EpisodeCard.model_validate(card.model_dump())
        assert (card.number, card.beat, card.cliffhanger_kind, card.intensity) == (
            slot.number,
            slot.beat,
            slot.cliffhanger_kind,
            slot.intensity,
        )
        for text in (card.title, card.hook, card.conflict, card.turn, card.cliffhanger_line):
            assert text.strip() and "{" not in text and "Premise" not in text
    assert [c.name for c in plan.bible.characters] == [c.name for c in skeleton.characters]
    assert model.usage.completion_tokens > 0


def test_the_model_words_fill_the_cards_where_they_are_usable(
    plan: Plan, skeleton: SeasonSkeleton
) -> None:
    fallback = fallback_plan(skeleton, BRIEF)
    written = [
        card
        for card, template in zip(plan.cards, fallback.cards, strict=True)
        if (card.title, card.hook, card.conflict, card.cliffhanger_line)
        != (template.title, template.hook, template.conflict, template.cliffhanger_line)
    ]
    assert len(written) >= skeleton.episode_count // 4


def test_a_script_is_sized_to_the_episode_and_ends_on_the_cliffhanger(
    plan: Plan, skeleton: SeasonSkeleton, model: LocalLlama
) -> None:
    card = plan.cards[skeleton.free_episodes - 1]
    script = write_script(model, skeleton, BRIEF, card, seed=5)
    Script.model_validate(script.model_dump())
    assert script.lines[0].kind == "scene"
    assert script.lines[-1].kind == "dialogue"
    # The last line is the card's cliffhanger line, spoken (without a "Name:" or quotes).
    assert script.lines[-1].text.strip('"“”…') in card.cliffhanger_line
    speakers = {line.character for line in script.lines if line.kind == "dialogue"}
    assert speakers <= {c.name for c in plan.bible.characters}
    low = skeleton.episode_seconds * (1 - LENGTH_TOLERANCE)
    high = skeleton.episode_seconds * (1 + LENGTH_TOLERANCE)
    assert low <= script.estimated_seconds <= high


def test_a_stronger_ending_changes_the_line_and_nothing_else(
    skeleton: SeasonSkeleton, model: LocalLlama
) -> None:
    card = fallback_card(skeleton, skeleton.cards[8])
    rewritten = rewrite_cliffhanger(model, skeleton, BRIEF, card, seed=3)
    assert rewritten.cliffhanger_line != card.cliffhanger_line
    assert rewritten.model_dump(exclude={"cliffhanger_line"}) == card.model_dump(
        exclude={"cliffhanger_line"}
    )


def test_the_ai_job_writes_a_card_as_a_new_version(
    client: TestClient,
    app: FastAPI,
    db_factory: sessionmaker[Session],
    settings: Settings,
    model: LocalLlama,
) -> None:
    open_studio(client)
    created = client.post(
        "/api/studio/writers-room",
        json={
            "premise": BRIEF.premise,
            "trope": "revenge",
            "episode_count": 20,
            "free_episodes": 5,
            "episode_seconds": 60,
        },
    )
    project = created.json()
    started = client.post(
        f"/api/studio/writers-room/{project['id']}/generate",
        json={"what": "cliffhanger", "episode": 5},
    )
    assert started.status_code == 202, started.text
    job = jobs.run_job_here(
        job_id=started.json()["job_id"],
        sessions=db_factory,
        settings=settings,
        storage=app.state.storage,
    )
    assert job.state == AIJobState.done, job.error
    assert job.result is not None and job.result["url"].endswith("?episode=5")
    after = client.get(f"/api/studio/writers-room/{project['id']}").json()
    assert after["versions"]["card:5"] == 2
    assert after["cards"][4]["cliffhanger_line"] != project["cards"][4]["cliffhanger_line"]
    with session_scope(db_factory) as db:
        history = room.history(
            db=db,
            project=room.get_own_project(
                db=db,
                project_id=project["id"],
                account=accounts.get(db=db, account_id=job.owner_id),
            ),
            part="card:5",
        )
    assert [v.source for v in history.versions] == ["model", "engine"]
