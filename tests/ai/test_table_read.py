"""Table read: a creator hears an episode's script in its characters' voices and plays its
animatic as a draft episode. Real Piper and Hibari voices, real ffmpeg, the real transcode."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.ai import voices
from microdrama.ai.animatic import Frame
from microdrama.ai.table_read import (
    BadScript,
    ScriptLineIn,
    SeriesNotDraft,
    TableRead,
    TableReadRequest,
    parse_request,
    perform,
    render,
    table_read_episode,
)
from microdrama.config import Settings
from microdrama.media import jobs
from tests.support.studio import new_series, open_studio

pytestmark = pytest.mark.slow

SCRIPT = [
    ScriptLineIn(kind="dialogue", character="Lucas", text="One year. One ring. Then you go."),
    ScriptLineIn(kind="dialogue", character="Ava", text="And if I say no?"),
    ScriptLineIn(kind="dialogue", character="Lucas", text="Then the bakery closes on Monday."),
]


def fundamental_hz(samples: np.ndarray, rate: int = voices.SAMPLE_RATE) -> float:
    """The median pitch of the voiced 40 ms frames (autocorrelation peak in 60-400 Hz)."""
    frame, pitches = int(0.04 * rate), []
    for start in range(0, samples.size - frame, frame // 2):
        window = samples[start : start + frame].astype(np.float64)
        if np.sqrt(np.mean(window**2)) < 0.05:
            continue  # silence or a breath
        window -= window.mean()
        corr = np.correlate(window, window, "full")[frame - 1 :]
        low, high = rate // 400, rate // 60
        lag = low + int(np.argmax(corr[low:high]))
        if corr[lag] > 0.3 * corr[0]:
            pitches.append(rate / lag)
    return float(np.median(pitches))


def ffprobe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def read() -> TableRead:
    return perform(SCRIPT)


def test_each_character_speaks_in_a_voice_of_their_own_for_as_long_as_the_lines(
    read: TableRead,
) -> None:
    lucas_1, ava, lucas_2 = read.lines

    # The lines follow each other without gaps or overlaps: the read is their sum.
    assert lucas_1.start_ms == 0
    assert lucas_1.end_ms == ava.start_ms and ava.end_ms == lucas_2.start_ms
    assert sum(line.end_ms - line.start_ms for line in read.lines) == pytest.approx(
        read.duration_s * 1000, abs=2
    )
    assert 4 < read.duration_s < 12  # three short lines, each spoken
    # Lucas keeps his voice; Ava has another, and they sound apart: a man's pitch and a
    # woman's, measured on the audio itself.
    assert lucas_1.voice == lucas_2.voice != ava.voice
    assert read.cast == {"Lucas": lucas_1.voice, "Ava": ava.voice}

    def heard(line: object) -> np.ndarray:
        start = round(line.start_ms * voices.SAMPLE_RATE / 1000)  # type: ignore[attr-defined]
        return read.samples[start : start + round(line.speech_ms * voices.SAMPLE_RATE / 1000)]  # type: ignore[attr-defined]

    assert all(np.sqrt(np.mean(heard(line) ** 2)) > 0.03 for line in read.lines)
    lucas_hz, ava_hz = fundamental_hz(heard(lucas_1)), fundamental_hz(heard(ava))
    assert 70 < lucas_hz < 160
    assert ava_hz > 1.4 * lucas_hz
    # The cliffhanger is the last thing said.
    assert read.cliffhanger == lucas_2


def test_a_character_keeps_the_voice_the_bible_chose_and_others_get_the_rest() -> None:
    cast = voices.Cast.of(["Mei", "Father", "Nanny"], preferred={"Father": "joe-deep"})

    assert cast.voice_for("Father").name == "joe-deep"
    assert cast.voice_for("mei").name == cast.voice_for("Mei").name  # the same person
    assert len({cast.voice_for(name).name for name in ["Mei", "Father", "Nanny"]}) == 3


def test_the_animatic_is_a_vertical_h264_video_with_aac_as_long_as_the_read(
    read: TableRead, tmp_path: Path
) -> None:
    video = render(read, output=tmp_path / "animatic.mp4", heading="TABLE READ · Ep. 1")

    probe = ffprobe(video)
    [picture] = [s for s in probe["streams"] if s["codec_type"] == "video"]
    [sound] = [s for s in probe["streams"] if s["codec_type"] == "audio"]
    assert picture["codec_name"] == "h264" and sound["codec_name"] == "aac"
    assert picture["width"] * 16 == picture["height"] * 9
    assert float(probe["format"]["duration"]) == pytest.approx(read.duration_s, abs=0.15)


def test_a_script_without_lines_or_with_a_stray_kind_is_refused_clearly() -> None:
    with pytest.raises(BadScript, match="lines"):  # no script, no project
        parse_request({"series_id": 1, "episode": 1, "lines": []})
    with pytest.raises(BadScript, match="kind"):
        parse_request({"series_id": 1, "episode": 1, "lines": [{"kind": "song", "text": "La la"}]})


def test_the_table_read_becomes_a_draft_episode_the_creator_plays_and_viewers_never_see(
    client: TestClient,
    app: FastAPI,
    settings: Settings,
    db_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    creator = open_studio(client)
    series = new_series(client, title="Contract Bride")
    request = TableReadRequest(
        series_id=series["id"],
        episode=1,
        title="The Offer",
        lines=[ScriptLineIn(kind="scene", text="Hale Tower, midnight"), *SCRIPT],
    )
    said: list[str] = []

    result = table_read_episode(
        sessions=db_factory,
        storage=app.state.storage,
        settings=settings,
        owner_id=creator["id"],
        request=request,
        progress=lambda fraction, message: said.append(message),
        frame=Frame(width=360, height=640),
    )
    worker = jobs.Worker(sessions=db_factory, storage=app.state.storage, settings=settings)
    assert worker.run_next_job(worker_id="table-read-test", stop=threading.Event())

    assert "Voicing line 2/4" in said and said[-1].startswith("Sent to the studio")
    assert [line["start_ms"] for line in result["lines"]][:2] == [0, 1600]  # after the scene
    assert result["cliffhanger_start_ms"] == result["lines"][-1]["start_ms"]
    studio = client.get(f"/api/studio/series/{series['id']}").json()
    [episode] = studio["episodes"]
    assert episode["id"] == result["episode_id"] and episode["state"] == "ready"
    assert episode["title"] == "The Offer"
    assert episode["duration_ms"] == pytest.approx(result["duration_ms"], abs=150)
    # The creator plays it in the player...
    page = client.get(f"/api/series/{series['id']}").json()
    playlist = client.get(page["episodes"][0]["playlist_url"])
    assert playlist.status_code == 200 and "#EXT-X-STREAM-INF" in playlist.text
    # ...and nobody else sees the draft.
    with TestClient(app) as stranger:
        assert stranger.get(f"/api/series/{series['id']}").status_code == 404
        assert stranger.get("/api/feed").json()["items"] == []


def test_a_published_series_takes_no_table_read(
    client: TestClient, app: FastAPI, settings: Settings, db_factory: sessionmaker[Session]
) -> None:
    from tests.support.factories import make_series

    with db_factory() as db:
        series = make_series(db, episodes=1)
        owner_id, series_id = series.owner_id, series.id
        db.commit()

    with pytest.raises(SeriesNotDraft):
        table_read_episode(
            sessions=db_factory,
            storage=app.state.storage,
            settings=settings,
            owner_id=owner_id,
            request=TableReadRequest(series_id=series_id, episode=2, lines=SCRIPT),
        )


def test_a_writers_room_script_is_read_into_the_series_made_from_its_project(
    client: TestClient,
    app: FastAPI,
    settings: Settings,
    db_factory: sessionmaker[Session],
) -> None:
    from microdrama.accounts.models import Account
    from microdrama.demo.writers_room import EPISODE_1, seed_project

    creator = open_studio(client)
    series = new_series(client, title="Contract Bride")
    with db_factory() as db:
        account = db.get(Account, creator["id"])
        assert account is not None
        project = seed_project(db=db, creator=account)
        project.series_id = series["id"]  # as "Create the series" links them
        project_id = project.id
        db.commit()

    result = table_read_episode(
        sessions=db_factory,
        storage=app.state.storage,
        settings=settings,
        owner_id=creator["id"],
        request=parse_request({"project_id": project_id, "episode": 1}),
        frame=Frame(width=180, height=320),
    )

    assert result["series_id"] == series["id"]
    assert [line["kind"] for line in result["lines"]] == [line.kind for line in EPISODE_1]
    assert result["voices"]["Ava"] != result["voices"]["Lucas"]
    studio = client.get(f"/api/studio/series/{series['id']}").json()
    assert [e["id"] for e in studio["episodes"]] == [result["episode_id"]]
    with pytest.raises(BadScript, match="no script"):
        table_read_episode(
            sessions=db_factory,
            storage=app.state.storage,
            settings=settings,
            owner_id=creator["id"],
            request=parse_request({"project_id": project_id, "episode": 2}),
        )


def test_a_creator_asks_for_a_table_read_and_follows_the_job_to_its_draft_episode(
    client: TestClient,
    app: FastAPI,
    settings: Settings,
    db_factory: sessionmaker[Session],
) -> None:
    from microdrama.ai.jobs import run_job_here

    open_studio(client)
    series = new_series(client, title="Contract Bride")
    lines = [line.model_dump() for line in SCRIPT]

    started = client.post(
        "/api/studio/table-reads", json={"series_id": series["id"], "episode": 1, "lines": lines}
    )
    assert started.status_code == 202, started.text
    run_job_here(
        job_id=started.json()["job_id"],
        sessions=db_factory,
        settings=settings,
        storage=app.state.storage,
    )

    job = client.get(started.json()["follow_url"]).json()
    assert job["state"] == "done", job
    assert job["result"]["voices"] == {"Lucas": "joe", "Ava": "heart"}
    studio = client.get(f"/api/studio/series/{series['id']}").json()
    assert [e["id"] for e in studio["episodes"]] == [job["result"]["episode_id"]]
    # Bad requests are told what is wrong; someone else's series is not there.
    no_lines = client.post(
        "/api/studio/table-reads", json={"series_id": series["id"], "episode": 1}
    )
    assert no_lines.status_code == 422 and "lines" in no_lines.json()["message"]
    with TestClient(app) as other:
        open_studio(other, email="other@example.com")
        theirs = other.post(
            "/api/studio/table-reads",
            json={"series_id": series["id"], "episode": 1, "lines": lines},
        )
        assert theirs.status_code == 404
