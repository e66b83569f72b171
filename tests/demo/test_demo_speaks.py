"""The demo speaks: its episodes' dialogue is said in the characters' voices, mixed into the
clip, and the episode has English captions heard from that audio; the demo studio has a
writers'-room season with a script to table-read."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from microdrama.accounts.models import Account
from microdrama.ai import writers_room
from microdrama.config import Settings
from microdrama.demo import speech
from microdrama.demo.catalog import DEMO_SERIES
from microdrama.demo.seed import seed_demo
from tests.support.browser import SQLITE_ONLY

pytestmark = pytest.mark.slow


def words(text: str) -> list[str]:
    return [w.strip(".,!?…:;\"'").lower() for w in text.split() if w.strip(".,!?…:;\"'")]


def test_each_character_of_a_demo_series_keeps_one_voice_in_every_episode() -> None:
    for series in DEMO_SERIES:
        voices = dict(series.voices)
        for episode in series.episodes:
            assert episode.spoken, episode.title
            for line in episode.spoken:
                assert line.speaker in voices, (series.title, line.speaker)
            assert episode.spoken[-1].text == episode.dialogue  # what the clip writes


# Voicing and hearing do not depend on the database (the seed runs on both in test_seed_demo).
@SQLITE_ONLY
def test_a_voiced_demo_episode_has_captions_heard_from_its_dialogue(
    client: TestClient, settings: Settings, db: Session
) -> None:
    result = seed_demo(
        settings=settings,
        series_count=1,
        episodes_per_series=1,
        seconds=12.0,
        width=180,
        height=320,
        short_series=0,
        audience_viewers=0,
    )

    assert result.ok and result.series[0].outcome == "published"
    page = client.get(f"/api/series/{result.series[0].series_id}").json()
    [episode] = page["episodes"]
    tracks = client.get(f"/api/episodes/{episode['id']}/subtitles").json()
    [english] = [t for t in tracks if t["language"] == "en"]
    vtt = client.get(english["url"]).text
    first = DEMO_SERIES[0].episodes[0]
    said = " ".join(line.text for line in first.spoken)
    heard = [w for line in vtt.splitlines() if "-->" not in line for w in words(line)]
    expected = words(said)
    missed = [w for w in expected if w not in heard]
    assert len(missed) <= len(expected) // 10, (missed, vtt)  # Whisper heard the voices
    # The synthesized lines are kept for the next run (and the next seed in this process).
    assert list(speech.cache_dir(settings.data_dir).glob("clip-*.wav"))
    # The demo studio has a writers'-room season planned, with a script to table-read.
    assert result.logins is not None
    creator = db.get(Account, result.logins.creator.id)
    assert creator is not None
    [project] = writers_room.list_projects(db=db, owner=creator)
    assert project.episode_count == 30
    script = writers_room.episode_script(db, project_id=project.id, episode=1)
    assert script is not None and {line.character for line in script.lines} >= {"Ava", "Lucas"}
