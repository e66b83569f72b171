"""Resumable uploads (tus 1.0): chunks, a dropped connection resumed, the episode that results,
its transcode progress, replacing a video, and the errors a client can run into."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from microdrama import housekeeping
from microdrama.accounts.models import Role
from microdrama.catalog.models import Episode
from microdrama.config import Settings
from microdrama.db import session_scope, utcnow
from microdrama.media.models import JobState, MediaAsset, TranscodeJob
from microdrama.studio.models import Upload
from tests.support.accounts import signed_in
from tests.support.clips import cached_clip, cached_text_file
from tests.support.media import RunJob
from tests.support.studio import (
    TUS,
    new_series,
    open_studio,
    tus_create,
    tus_metadata,
    tus_patch,
    tus_upload,
)


def _series(client: TestClient) -> int:
    open_studio(client)
    return int(new_series(client)["id"])


def test_a_chunked_upload_becomes_an_episode_that_transcodes_to_ready(
    client: TestClient, run_job: RunJob, db_factory: sessionmaker[Session]
) -> None:
    series_id = _series(client)
    clip = cached_clip(seconds=3, label="E1")

    upload_url = tus_upload(client, series_id, clip)

    upload = client.get(upload_url).json()
    assert upload["state"] == "done"
    assert upload["offset_bytes"] == upload["received_bytes"] == clip.stat().st_size
    episodes = client.get(f"/api/studio/series/{series_id}").json()["episodes"]
    assert [(e["id"], e["number"], e["state"]) for e in episodes] == [
        (upload["episode_id"], 1, "processing")
    ]
    assert episodes[0]["job_state"] == "queued"
    # A worker part-way through (the heartbeat stores ffmpeg's -progress in the job row):
    with db_factory() as db, db.begin():
        job = db.query(TranscodeJob).one()
        job.state, job.progress = JobState.running, 0.42
    running = client.get(f"/api/studio/series/{series_id}").json()["episodes"][0]
    assert (running["job_state"], running["progress"]) == ("running", 0.42)
    with db_factory() as db, db.begin():
        db.query(TranscodeJob).one().state = JobState.queued

    assert run_job()
    ready = client.get(f"/api/studio/series/{series_id}").json()["episodes"][0]
    assert (ready["state"], ready["job_state"], ready["progress"]) == ("ready", "done", 1.0)
    assert ready["duration_ms"] > 2500


def test_a_dropped_connection_resumes_from_the_servers_offset(
    client: TestClient, settings: Settings, db_factory: sessionmaker[Session]
) -> None:
    series_id = _series(client)
    clip = cached_clip(seconds=3, label="E1")
    data = clip.read_bytes()
    url = tus_create(client, series_id, clip)
    half = len(data) // 2
    assert tus_patch(client, url, 0, data[:half]).status_code == 204

    # The client comes back (another tab, after a reload): it asks where to continue.
    head = client.head(url, headers=TUS)
    assert head.status_code == 200
    assert head.headers["upload-offset"] == str(half)
    assert head.headers["upload-length"] == str(len(data))
    stale = tus_patch(client, url, 0, data)
    assert stale.status_code == 409
    assert stale.json()["offset"] == half
    rest = tus_patch(client, url, half, data[half:])

    assert rest.status_code == 204, rest.text
    assert rest.headers["upload-offset"] == str(len(data))
    upload = client.get(url).json()
    assert upload["state"] == "done"
    # Nothing was received twice: the refused PATCH wrote nothing.
    assert upload["received_bytes"] == len(data)
    assert not (settings.data_dir / "uploads" / upload["id"]).exists()
    with db_factory() as db:
        assert db.query(Upload).count() == 1


def test_several_uploads_at_once_get_consecutive_numbers(client: TestClient) -> None:
    series_id = _series(client)
    clips = [cached_clip(seconds=2, label=f"E{i}") for i in (1, 2, 3)]
    urls = [tus_create(client, series_id, clip) for clip in clips]
    datas = [clip.read_bytes() for clip in clips]
    # Interleaved chunks, finished in reverse order of creation.
    for url, data in zip(urls, datas, strict=True):
        assert tus_patch(client, url, 0, data[:1000]).status_code == 204
    for url, data in reversed(list(zip(urls, datas, strict=True))):
        assert tus_patch(client, url, 1000, data[1000:]).status_code == 204

    episodes = client.get(f"/api/studio/series/{series_id}").json()["episodes"]
    assert [e["number"] for e in episodes] == [1, 2, 3]
    assert [e["id"] for e in episodes] == [client.get(u).json()["episode_id"] for u in urls[::-1]]


def test_a_file_that_is_not_a_video_is_refused_when_its_last_byte_arrives(
    client: TestClient, settings: Settings
) -> None:
    series_id = _series(client)
    notes = cached_text_file()

    url = tus_create(client, series_id, notes)
    answer = tus_patch(client, url, 0, notes.read_bytes())

    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_media"
    # The creator reads what to do, not ffprobe's text with the server's upload path.
    assert answer.json()["message"] == (
        "This file isn't a video we can read. Upload an MP4, MOV or WebM file."
    )
    assert "uploads" not in answer.text and "Invalid data" not in answer.text
    upload = client.get(url).json()
    assert upload["state"] == "failed"
    assert upload["error"] == answer.json()["message"]
    assert client.head(url, headers=TUS).status_code == 410
    assert client.get(f"/api/studio/series/{series_id}").json()["episodes"] == []
    assert not (settings.data_dir / "uploads" / upload["id"]).exists()


def test_protocol_mistakes_get_clear_errors(client: TestClient, settings: Settings) -> None:
    series_id = _series(client)
    clip = cached_clip(seconds=2, label="E1")
    url = tus_create(client, series_id, clip)
    data = clip.read_bytes()
    headers = {"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}

    no_version = client.patch(url, content=data[:10], headers=headers)
    assert no_version.status_code == 412
    wrong_type = client.patch(
        url, content=data[:10], headers={**TUS, **headers, "Content-Type": "video/mp4"}
    )
    assert wrong_type.status_code == 415
    too_long = tus_patch(client, url, 0, data + b"extra bytes")
    assert too_long.status_code == 400
    assert "Upload-Length" in too_long.json()["message"]
    assert client.head(url, headers=TUS).headers["upload-offset"] == "0"
    no_length = client.post(
        "/api/studio/uploads",
        headers={**TUS, "Upload-Metadata": tus_metadata(series_id=series_id)},
    )
    assert no_length.status_code == 400
    too_big = client.post(
        "/api/studio/uploads",
        headers={
            **TUS,
            "Upload-Length": str(settings.max_upload_bytes + 1),
            "Upload-Metadata": tus_metadata(series_id=series_id),
        },
    )
    assert too_big.status_code == 413
    no_series = client.post("/api/studio/uploads", headers={**TUS, "Upload-Length": "10"})
    assert no_series.status_code == 400
    bad_meta = client.post(
        "/api/studio/uploads",
        headers={**TUS, "Upload-Length": "10", "Upload-Metadata": "series_id %%%"},
    )
    assert bad_meta.status_code == 400
    options = client.options("/api/studio/uploads")
    assert options.headers["tus-version"] == "1.0.0"
    assert "creation" in options.headers["tus-extension"]


def test_another_creators_upload_is_not_found_and_untouched(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    series_id = _series(client)
    clip = cached_clip(seconds=2, label="E1")
    url = tus_create(client, series_id, clip)
    rival, _ = signed_in(db_factory, settings, role=Role.creator, name="Rival")
    viewer, _ = signed_in(db_factory, settings, role=Role.viewer, name="Vera")

    assert client.head(url, headers={**TUS, **rival}).status_code == 404
    assert client.delete(url, headers={**TUS, **rival}).status_code == 404
    patch = client.patch(
        url,
        content=b"x",
        headers={
            **TUS,
            **rival,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert patch.status_code == 404
    into_mine = client.post(
        "/api/studio/uploads",
        headers={
            **TUS,
            **rival,
            "Upload-Length": "10",
            "Upload-Metadata": tus_metadata(series_id=series_id),
        },
    )
    assert into_mine.status_code == 404
    as_viewer = client.post(
        "/api/studio/uploads",
        headers={**TUS, **viewer, "Upload-Length": "10", "Upload-Metadata": ""},
    )
    assert as_viewer.status_code == 403
    assert client.head(url, headers=TUS).headers["upload-offset"] == "0"


def test_terminating_an_upload_forgets_it_and_its_bytes(
    client: TestClient, settings: Settings
) -> None:
    series_id = _series(client)
    clip = cached_clip(seconds=2, label="E1")
    url = tus_create(client, series_id, clip)
    tus_patch(client, url, 0, clip.read_bytes()[:500])
    upload_id = url.rsplit("/", 1)[1]

    assert client.delete(url, headers=TUS).status_code == 204

    assert client.head(url, headers=TUS).status_code == 404
    assert not (settings.data_dir / "uploads" / upload_id).exists()


def test_a_replacement_video_takes_over_only_once_it_is_ready(
    client: TestClient, run_job: RunJob, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    series_id = _series(client)
    tus_upload(client, series_id, cached_clip(seconds=2, label="OLD"))
    assert run_job()
    url = f"/api/studio/series/{series_id}"
    episode = client.get(url).json()["episodes"][0]
    with db_factory() as db:
        old_asset = db.query(TranscodeJob).one().asset_id

    replacement = cached_clip(seconds=3, label="NEW", color="purple")
    upload_url = tus_create(client, series_id, replacement, replaces_episode_id=episode["id"])
    assert tus_patch(client, upload_url, 0, replacement.read_bytes()).status_code == 204

    during = client.get(url).json()["episodes"]
    assert len(during) == 1
    assert (during[0]["state"], during[0]["replacing"]) == ("ready", True)
    with db_factory() as db:
        row = db.get(Episode, episode["id"])
        assert row is not None and row.media_asset_id == old_asset
    assert run_job()
    after = client.get(url).json()["episodes"][0]
    assert (after["id"], after["state"], after["replacing"]) == (episode["id"], "ready", False)
    assert after["duration_ms"] > during[0]["duration_ms"]
    with db_factory() as db:
        jobs = db.query(TranscodeJob).order_by(TranscodeJob.id).all()
        assert [j.state for j in jobs] == [JobState.done, JobState.done]
        row = db.get(Episode, episode["id"])
        assert row is not None and row.media_asset_id == jobs[1].asset_id

    # The replaced video is deleted by housekeeping once it is a day old, not before.
    old_files = settings.media_dir / "assets" / str(old_asset)
    assert housekeeping.run_once(factory=db_factory, settings=settings).unused_videos_deleted == 0
    assert old_files.is_dir()
    with session_scope(db_factory) as db:
        db.execute(
            update(MediaAsset)
            .where(MediaAsset.id == old_asset)
            .values(created_at=utcnow() - timedelta(days=2))
        )
    assert housekeeping.run_once(factory=db_factory, settings=settings).unused_videos_deleted == 1
    assert not old_files.exists()
    with db_factory() as db:
        assert db.get(MediaAsset, old_asset) is None
        assert [j.asset_id for j in db.query(TranscodeJob)] == [jobs[1].asset_id]
    assert client.get(url).json()["episodes"][0]["state"] == "ready"


def test_deleting_an_uploaded_episode_removes_its_video_and_job(
    client: TestClient, run_job: RunJob, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    series_id = _series(client)
    tus_upload(client, series_id, cached_clip(seconds=2, label="E1"))
    tus_upload(client, series_id, cached_clip(seconds=2, label="E2"))
    assert run_job()
    url = f"/api/studio/series/{series_id}"
    first, second = client.get(url).json()["episodes"]
    with db_factory() as db:
        asset_id = db.get(Episode, first["id"]).media_asset_id  # type: ignore[union-attr]
    assets = settings.media_dir / "assets" / str(asset_id)
    assert assets.is_dir()

    answer = client.delete(f"{url}/episodes/{first['id']}")

    assert answer.status_code == 200, answer.text
    assert [(e["id"], e["number"]) for e in answer.json()["episodes"]] == [(second["id"], 1)]
    assert not assets.exists()
    with db_factory() as db:
        assert db.query(TranscodeJob).count() == 1
