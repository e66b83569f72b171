"""Captions from the audio: a Piper-voiced episode becomes a draft subtitle track whose cues
hold the spoken words (word error rate at most 10 %) and read well; viewers see it once the
creator publishes it. Real ffmpeg, the packaged Whisper base model, a real database."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts import service as accounts
from microdrama.accounts.models import Role
from microdrama.ai import captions
from microdrama.ai.cue_cutter import CONJUNCTIONS, MAX_CUE_MS, MAX_LINE_CHARS, MAX_LINES, MIN_CUE_MS
from microdrama.ai.jobs import run_job_here
from microdrama.catalog.models import Episode
from microdrama.config import Settings
from microdrama.db import session_scope
from microdrama.storage import LocalStorage
from microdrama.subtitles import service as subtitles
from tests.ai.captions_support import (
    SCRIPT,
    normalised_words,
    spoken_clip,
    transcribe_once,
    whisper,
    word_error_rate,
)
from tests.support.accounts import signed_in
from tests.support.clips import cached_clip
from tests.support.factories import make_series

Headers = dict[str, str]


@pytest.fixture(scope="module", autouse=True)
def _whisper_loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Whisper loads once for the module (the process keeps it); the clip is made once, and
    heard once: the tests after the first get the words Whisper heard in it then."""
    whisper(tmp_path_factory.mktemp("models"))
    spoken_clip()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(captions, "transcribe", transcribe_once)
        yield


def _storage(settings: Settings) -> LocalStorage:
    return LocalStorage(settings.media_dir, settings.media_url_prefix)


def _creator_episode(
    factory: sessionmaker[Session], settings: Settings, *, clip: Path | None, name: str = "Nova"
) -> tuple[Headers, int, int]:
    """A creator's published one-episode series whose uploaded video is `clip`."""
    headers, creator_id = signed_in(factory, settings, role=Role.creator, name=name)
    with session_scope(factory) as db:
        owner = accounts.get(db=db, account_id=creator_id)
        series = make_series(db, owner=owner, episodes=1, free_episodes=1)
        episode = series.episodes[0]
        assert episode.media_asset is not None
        if clip is not None:
            _storage(settings).save_file(episode.media_asset.source_key, clip)
        episode_id = episode.id
    return headers, creator_id, episode_id


def _assert_readable(cues: list[dict[str, Any]]) -> None:
    for cue in cues:
        lines = cue["text"].split("\n")
        assert len(lines) <= MAX_LINES, cue
        assert all(len(line) <= MAX_LINE_CHARS for line in lines), cue
        assert MIN_CUE_MS <= cue["end_ms"] - cue["start_ms"] <= MAX_CUE_MS, cue
    for before, after in pairwise(cues):
        assert before["end_ms"] <= after["start_ms"]


def test_a_spoken_episode_becomes_a_draft_track_of_its_words_in_readable_cues(
    db_factory: sessionmaker[Session], settings: Settings
) -> None:
    _, creator_id, episode_id = _creator_episode(db_factory, settings, clip=spoken_clip())
    reported: list[tuple[float, str]] = []

    result = captions.generate_captions(
        sessions=db_factory,
        storage=_storage(settings),
        settings=settings,
        episode_id=episode_id,
        owner_id=creator_id,
        progress=lambda fraction, message: reported.append((fraction, message)),
    )

    assert result.language == "en"
    assert word_error_rate(SCRIPT, result.text) <= 0.10, result.text
    with session_scope(db_factory) as db:
        episode = db.get(Episode, episode_id)
        assert episode is not None
        track = subtitles.get_track(db=db, episode=episode, language="en")
        assert track.draft
        cues = subtitles.read_cues(storage=_storage(settings), track=track)
    assert len(cues) == result.cue_count >= 2
    _assert_readable([c.__dict__ for c in cues])
    heard = " ".join(c.text.replace("\n", " ") for c in cues)
    assert word_error_rate(SCRIPT, heard) <= 0.10, heard
    # Cues end where the script's sentences or clauses do (Whisper's own punctuation may
    # differ from the script's, so the script says where the breaks are).
    script = SCRIPT.split()
    breaks = {
        normalised_words(word)[0]
        for word, following in zip(script, [*script[1:], ""], strict=True)
        if word[-1] in ".,?!" or following in CONJUNCTIONS
    }
    assert all(normalised_words(c.text)[-1] in breaks for c in cues), [c.text for c in cues]

    messages = [message for _, message in reported]
    assert messages.index("Extracting the audio") < messages.index("Cutting cues")
    assert any(m.startswith("Transcribing") and m.endswith("%") for m in messages)
    fractions = [fraction for fraction, _ in reported]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_creator_generates_subtitles_and_viewers_get_them_once_published(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    creator, _, episode_id = _creator_episode(db_factory, settings, clip=spoken_clip())
    offered = client.get(f"/api/studio/episodes/{episode_id}/subtitle-ai", headers=creator)
    assert offered.status_code == 200, offered.text
    assert offered.json()["captions_available"] is True

    started = client.post(f"/api/studio/episodes/{episode_id}/captions", headers=creator)
    assert started.status_code == 202, started.text
    assert started.json()["state"] == "queued"
    job = run_job_here(
        job_id=started.json()["id"],
        sessions=db_factory,
        settings=settings,
        storage=_storage(settings),
    )
    assert job.state == "done", job.error
    assert job.result is not None and job.result["language"] == "en"
    assert "ready to review" in job.message

    studio = client.get(f"/api/studio/episodes/{episode_id}/subtitles/en", headers=creator)
    assert studio.json()["draft"] is True
    assert len(studio.json()["cues"]) == job.result["cue_count"]
    _assert_readable(studio.json()["cues"])
    assert client.get(f"/api/episodes/{episode_id}/subtitles").json() == []  # a viewer

    published = client.post(
        f"/api/studio/episodes/{episode_id}/subtitles/en/publish", headers=creator
    )
    assert published.status_code == 200, published.text
    assert published.json()["draft"] is False
    tracks = client.get(f"/api/episodes/{episode_id}/subtitles").json()
    assert [(t["language"], t["draft"]) for t in tracks] == [("en", False)]
    # Now that viewers see English subtitles, generating again would replace them: refused.
    again = client.post(f"/api/studio/episodes/{episode_id}/captions", headers=creator)
    assert again.status_code == 409
    assert again.json()["error"] == "published_track_exists"


def test_generating_subtitles_refuses_what_it_cannot_caption(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    silent = cached_clip(seconds=1, audio=False)
    creator, _, silent_id = _creator_episode(db_factory, settings, clip=silent)
    other, _, others_id = _creator_episode(db_factory, settings, clip=silent, name="Rival")
    lost, _, missing_id = _creator_episode(db_factory, settings, clip=None, name="Lost")

    def post(episode_id: int, headers: Headers | None = None) -> Any:
        return client.post(f"/api/studio/episodes/{episode_id}/captions", headers=headers or {})

    no_sound = post(silent_id, creator)
    assert no_sound.status_code == 422
    assert no_sound.json()["error"] == "episode_has_no_audio"
    assert "no sound" in no_sound.json()["message"]
    assert post(others_id, creator).status_code == 404  # another creator's episode
    assert post(999_999, creator).status_code == 404
    assert post(silent_id).status_code == 401  # signed out
    assert post(others_id, other).status_code == 422  # its owner: silent too
    gone = post(missing_id, lost)  # the uploaded file is not in storage
    assert gone.status_code == 409
    assert gone.json()["error"] == "episode_has_no_video"
    # Nothing was queued by any of these.
    assert (
        client.get(f"/api/studio/episodes/{silent_id}/subtitle-ai", headers=creator).json()[
            "active_jobs"
        ]
        == []
    )
