"""A creator plans a series in the writers' room (API, both databases): the engine's complete
plan at once, edits that keep every version, restore, and a draft series from the cards."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.ai import writers_room as room
from microdrama.ai.plans import EpisodeCard
from microdrama.db import session_scope
from tests.support.studio import open_studio

API = "/api/studio/writers-room"
PREMISE = "A florist marries a cold CEO for one year to save her father's shop."


def new_project(client: TestClient, **fields: Any) -> dict[str, Any]:
    body = {
        "premise": PREMISE,
        "trope": "contract_marriage",
        "tone": "romantic, tense",
        "episode_count": 24,
        "free_episodes": 6,
        "episode_seconds": 90,
        **fields,
    }
    response = client.post(API, json=body)
    assert response.status_code == 201, response.text
    project: dict[str, Any] = response.json()
    return project


def test_a_new_project_has_a_complete_plan_with_the_paywall_on_the_last_free_episode(
    client: TestClient,
) -> None:
    open_studio(client)
    project = new_project(client)
    assert project["url"] == f"/studio/writers-room/{project['id']}"
    assert len(project["bible"]["characters"]) == 5
    assert all(c["want"] and c["secret"] for c in project["bible"]["characters"])
    assert [c["number"] for c in project["cards"]] == list(range(1, 25))
    beats = {b["kind"]: b["episode"] for b in project["arc"]["beats"]}
    assert beats["hook"] == 1 and beats["paywall_cliffhanger"] == 6
    assert beats["resolution"] == 24
    paywall = project["cards"][5]
    assert paywall["beat"] == "paywall_cliffhanger" and paywall["cliffhanger_kind"] == "reveal"
    assert paywall["intensity"] == max(c["intensity"] for c in project["cards"])
    assert all(v == 1 for v in project["versions"].values())
    listed = client.get(API).json()
    assert [p["id"] for p in listed] == [project["id"]]


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"episode_count": 5}, "episode_count", "at least 20"),
        ({"episode_count": 500}, "episode_count", "at most 80"),
        ({"free_episodes": 24}, "free_episodes", "nothing is paid"),
        ({"free_episodes": 30}, "free_episodes", "nothing is paid"),
        ({"premise": "   "}, "premise", ""),
        ({"trope": "space_opera"}, "trope", ""),
        ({"episode_seconds": 300}, "episode_seconds", ""),
    ],
)
def test_a_season_out_of_shape_is_refused_with_a_clear_message(
    client: TestClient, fields: dict[str, Any], field: str, words: str
) -> None:
    open_studio(client)
    body = {"premise": PREMISE, "trope": "revenge", "episode_count": 24, "free_episodes": 6}
    response = client.post(API, json={**body, **fields})
    assert response.status_code == 422, response.text
    answer = response.json()
    assert field in {p["field"] for p in answer["problems"]}
    assert words in answer["message"] or any(words in p["message"] for p in answer["problems"])


def test_editing_a_card_keeps_every_version_and_an_old_one_can_be_restored(
    client: TestClient,
) -> None:
    open_studio(client)
    project = new_project(client)
    url = f"{API}/{project['id']}"
    original = project["cards"][2]
    edited = client.patch(
        f"{url}/cards/3", json={"title": "The Clause", "cliffhanger_line": "Read page nine."}
    )
    assert edited.status_code == 200, edited.text
    card = edited.json()["cards"][2]
    assert (card["title"], card["cliffhanger_line"]) == ("The Clause", "Read page nine.")
    # The engine's structure is not the creator's to change by an edit.
    assert card["cliffhanger_kind"] == original["cliffhanger_kind"]
    assert edited.json()["versions"]["card:3"] == 2
    history = client.get(f"{url}/history/card:3").json()
    assert [v["number"] for v in history["versions"]] == [2, 1]
    assert history["versions"][1]["content"]["title"] == original["title"]
    restored = client.post(f"{url}/history/card:3/1/restore")
    assert restored.status_code == 200, restored.text
    assert restored.json()["cards"][2]["title"] == original["title"]
    assert restored.json()["versions"]["card:3"] == 3
    sources = [v["source"] for v in client.get(f"{url}/history/card:3").json()["versions"]]
    assert sources == ["restore", "edit", "engine"]


def test_edits_that_break_the_plan_are_refused(client: TestClient) -> None:
    open_studio(client)
    url = f"{API}/{new_project(client)['id']}"
    assert client.patch(f"{url}/cards/3", json={}).status_code == 422
    assert client.patch(f"{url}/cards/3", json={"title": ""}).status_code == 422
    assert client.patch(f"{url}/cards/3", json={"cliffhanger_kind": "threat"}).status_code == 422
    assert client.patch(f"{url}/cards/25", json={"title": "Too far"}).status_code == 404
    assert client.patch(f"{url}/bible", json={"characters": []}).status_code == 422
    assert (
        client.patch(f"{url}/arc", json={"beats": [{"episode": 4, "summary": "x"}]}).json()["error"]
        == "not_found"
    )
    assert client.get(f"{url}/history/card:99").status_code == 404
    assert client.get(f"{url}/history/nonsense").status_code == 404
    assert client.post(f"{url}/history/card:3/7/restore").status_code == 404
    assert client.get(f"{url}/scripts/3").status_code == 404
    generate = client.post(f"{url}/generate", json={"what": "script"})
    assert generate.status_code == 422 and "episode" in generate.json()["message"]


def test_the_bible_and_arc_are_edited_and_versioned(client: TestClient) -> None:
    open_studio(client)
    project = new_project(client)
    url = f"{API}/{project['id']}"
    cast = project["bible"]["characters"]
    cast[0]["secret"] = "She has read the contract after all."
    bible = client.patch(f"{url}/bible", json={"title": "One Year Yours", "characters": cast})
    assert bible.status_code == 200, bible.text
    assert bible.json()["title"] == "One Year Yours"  # the project takes the bible's title
    assert bible.json()["bible"]["characters"][0]["secret"] == cast[0]["secret"]
    arc = client.patch(
        f"{url}/arc", json={"beats": [{"episode": 6, "summary": "She is pregnant."}]}
    )
    assert arc.status_code == 200, arc.text
    paywall = next(b for b in arc.json()["arc"]["beats"] if b["episode"] == 6)
    assert paywall == {**paywall, "kind": "paywall_cliffhanger", "summary": "She is pregnant."}
    assert arc.json()["versions"]["arc"] == 2


def test_a_script_written_by_the_creator_is_versioned_and_read_back(
    client: TestClient, db_factory: sessionmaker[Session]
) -> None:
    open_studio(client)
    project = new_project(client)
    lines = [
        {"kind": "scene", "text": "INT. FLOWER SHOP - NIGHT"},
        {"kind": "dialogue", "character": "Ava", "text": "You bought the shop?"},
        {"kind": "dialogue", "character": "Damian", "text": "I bought the street."},
    ]
    put = client.put(f"{API}/{project['id']}/scripts/4", json={"lines": lines})
    assert put.status_code == 200, put.text
    assert put.json()["version"] == 1 and put.json()["script"]["target_seconds"] == 90
    with session_scope(db_factory) as db:
        script = room.episode_script(db, project_id=project["id"], episode=4)
        assert script is not None
        assert [line.text for line in script.lines][1] == "You bought the shop?"
        assert room.episode_script(db, project_id=project["id"], episode=5) is None
    assert client.get(f"{API}/{project['id']}").json()["scripts"] == [4]
    bad = client.put(f"{API}/{project['id']}/scripts/4", json={"lines": [{"kind": "song"}]})
    assert bad.status_code == 422


def test_create_the_series_makes_a_draft_with_the_plan_and_its_cliffhanger_lines(
    client: TestClient, db_factory: sessionmaker[Session]
) -> None:
    open_studio(client)
    project = new_project(client, free_episodes=7)
    client.patch(f"{API}/{project['id']}/cards/7", json={"cliffhanger_line": "She's mine."})
    created = client.post(f"{API}/{project['id']}/series")
    assert created.status_code == 201, created.text
    series_id = created.json()["series_id"]
    assert created.json() == {
        "series_id": series_id,
        "url": f"/studio/series/{series_id}",
        "episodes": 24,
    }
    series = client.get(f"/api/studio/series/{series_id}").json()
    assert series["status"] == "draft" and series["free_episodes"] == 7
    assert series["title"] == project["bible"]["title"]
    assert project["bible"]["logline"] in series["synopsis"]
    assert f"7. {project['cards'][6]['title']}" in series["synopsis"]
    again = client.post(f"{API}/{project['id']}/series")
    assert again.status_code == 409 and again.json()["series_id"] == series_id
    with session_scope(db_factory) as db:
        lines = room.cliffhanger_lines(db, series_id=series_id)
        planned = room.planned_episodes(db, series_id=series_id)
        assert room.cliffhanger_lines(db, series_id=series_id + 1000) == {}
    assert sorted(lines) == list(range(1, 25))
    assert lines[7] == room.CliffhangerLine("She's mine.", "reveal", project["id"])
    assert [p.title for p in planned] == [c["title"] for c in project["cards"]]
    assert (
        client.get(f"{API}/{project['id']}").json()["series_url"] == f"/studio/series/{series_id}"
    )


def test_another_creator_sees_no_project_of_yours(app: Any, client: TestClient) -> None:
    open_studio(client)
    project = new_project(client)
    other = TestClient(app)
    open_studio(other, email="rival@example.com")
    url = f"{API}/{project['id']}"
    for response in (
        other.get(url),
        other.patch(f"{url}/cards/1", json={"title": "Mine now"}),
        other.get(f"{url}/history/bible"),
        other.post(f"{url}/series"),
        other.post(f"{url}/generate", json={"what": "plan"}),
        other.get(f"/studio/writers-room/{project['id']}"),
    ):
        assert response.status_code == 404, response.text
    assert other.get(API).json() == []
    assert client.get(f"{API}/2147483648").status_code == 404


def test_a_viewer_must_open_a_studio_first(client: TestClient) -> None:
    client.post("/api/auth/signup", json={"email": "v@example.com", "password": "correct horse 42"})
    assert client.post(API, json={"premise": PREMISE, "trope": "revenge"}).status_code == 403


def test_the_pages_show_the_plan_and_open_on_a_weak_ending(client: TestClient) -> None:
    open_studio(client)
    project = new_project(client)
    home = client.get("/studio/writers-room")
    assert home.status_code == 200 and project["bible"]["title"] in home.text
    page = client.get(f"/studio/writers-room/{project['id']}?episode=9&rewrite=cliffhanger")
    assert page.status_code == 200
    assert 'data-testid="rewrite-offer"' in page.text
    assert page.text.count('data-testid="card"') == 24
    assert 'data-testid="paywall-tick"' in page.text
    plain = client.get(f"/studio/writers-room/{project['id']}?episode=99&rewrite=cliffhanger")
    assert 'data-testid="rewrite-offer"' not in plain.text


def test_generation_is_queued_as_an_ai_job_for_the_worker(
    client: TestClient, db_factory: sessionmaker[Session]
) -> None:
    open_studio(client)
    project = new_project(client)
    started = client.post(f"{API}/{project['id']}/generate", json={"what": "script", "episode": 6})
    assert started.status_code == 202, started.text
    job = client.get(f"/api/studio/ai-jobs/{started.json()['job_id']}").json()
    assert job["kind"] == "writers_room" and job["state"] == "queued"
    assert job["subject"] == f"project:{project['id']}"
    with session_scope(db_factory) as db:
        card = EpisodeCard.model_validate(
            room.current_versions(db=db, project_id=project["id"])["card:6"].content
        )
    assert card.number == 6
