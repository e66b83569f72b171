"""The studio upload: a creator sends a video, follows its job, and the ladder is served."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from microdrama.config import Settings
from microdrama.media.models import MediaAsset, TranscodeJob
from microdrama.storage import LocalStorage
from tests.support.clips import cached_audio_only, cached_clip, cached_text_file, cached_truncated
from tests.support.hls import looks_like_mpegts
from tests.support.media import RunJob

pytestmark = pytest.mark.slow


def _upload(client: TestClient, series_id: int, source: Path, **fields: str) -> Response:
    with source.open("rb") as file:
        return client.post(
            f"/api/studio/series/{series_id}/episodes",
            files={"file": (source.name, file, "video/mp4")},
            data=fields,
        )


def _stored_files(storage: LocalStorage, settings: Settings) -> list[Path]:
    roots = [storage.root, settings.data_dir / "tmp"]
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]


def _row_counts(db: Session) -> tuple[int, int]:
    db.rollback()
    return (
        db.scalar(select(func.count()).select_from(MediaAsset)) or 0,
        db.scalar(select(func.count()).select_from(TranscodeJob)) or 0,
    )


def test_creator_uploads_an_episode_and_watches_its_job_reach_ready(
    client: TestClient, series_id: int, run_job: RunJob
) -> None:
    response = _upload(client, series_id, cached_clip(seconds=4), title="The Wedding Contract")

    assert response.status_code == 202, response.text
    body = response.json()
    assert body["episode_number"] == 1
    assert body["state"] == "queued"
    assert abs(body["duration_ms"] - 4000) <= 100
    queued = client.get(body["job_url"]).json()
    assert (queued["state"], queued["progress"], queued["attempts"]) == ("queued", 0.0, 0)

    assert run_job()

    job = client.get(body["job_url"]).json()
    assert (job["state"], job["progress"], job["attempts"], job["error"]) == ("done", 1.0, 1, None)
    asset = client.get(body["asset_url"]).json()
    assert asset["status"] == "ready"
    assert asset["master_playlist_url"] == f"/api/episodes/{body['episode_id']}/hls/master.m3u8"
    assert [r["height"] for r in asset["renditions"]] == [640, 426, 320]
    assert client.get(asset["renditions"][0]["playlist_url"]).status_code == 200
    page = client.get(f"/api/series/{series_id}").json()
    assert [(e["id"], e["title"]) for e in page["episodes"]] == [
        (body["episode_id"], "The Wedding Contract")
    ]
    assert page["episodes"][0]["playlist_url"] == asset["master_playlist_url"]
    assert client.get(asset["poster_url"]).status_code == 200


@pytest.mark.parametrize(
    ("make_file", "words"),
    [
        (cached_text_file, "isn't a video we can read"),
        (cached_truncated, "isn't a video we can read"),
        (cached_audio_only, "has no picture"),
    ],
    ids=["text-renamed-mp4", "truncated", "audio-only"],
)
def test_unusable_file_is_refused_with_a_clear_422_and_leaves_nothing_behind(
    client: TestClient,
    series_id: int,
    db: Session,
    storage: LocalStorage,
    settings: Settings,
    make_file: object,
    words: str,
) -> None:
    response = _upload(client, series_id, make_file())  # type: ignore[operator]

    assert response.status_code == 422
    assert response.json()["error"] == "invalid_media"
    assert words in response.json()["message"]
    # ffprobe's own words name the server's paths and its demuxers: never shown to people.
    assert "Invalid data" not in response.text
    assert "uploads" not in response.text and str(settings.data_dir) not in response.text
    assert _row_counts(db) == (0, 0)
    assert _stored_files(storage, settings) == []
    assert client.get(f"/api/series/{series_id}").json()["episodes"] == []


def test_only_the_series_creator_may_upload_episodes(
    app: FastAPI,
    client: TestClient,
    series_id: int,
    db: Session,
    storage: LocalStorage,
    settings: Settings,
) -> None:
    with TestClient(app) as stranger:
        response = _upload(stranger, series_id, cached_clip(seconds=4))

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert _row_counts(db) == (0, 0)
    assert _stored_files(storage, settings) == []


def test_a_stranger_cannot_follow_someone_elses_job(
    app: FastAPI, client: TestClient, series_id: int
) -> None:
    job_url = _upload(client, series_id, cached_clip(seconds=4)).json()["job_url"]

    with TestClient(app) as stranger:
        assert stranger.get(job_url).status_code == 403
    assert client.get("/api/studio/jobs/999999").status_code == 404


@pytest.mark.parametrize("over_by", ["far", "barely"])
def test_upload_over_the_size_limit_is_refused_with_413(
    client: TestClient,
    series_id: int,
    db: Session,
    storage: LocalStorage,
    settings: Settings,
    over_by: str,
) -> None:
    source = cached_clip(seconds=4)
    size = source.stat().st_size
    # "far": refused from Content-Length alone; "barely": found out while streaming.
    limit = size // 4 if over_by == "far" else size - 1000
    settings.max_upload_bytes = limit  # the app shares this settings object

    response = _upload(client, series_id, source)

    assert response.status_code == 413
    assert response.json()["max_bytes"] == limit
    assert _row_counts(db) == (0, 0)
    assert _stored_files(storage, settings) == []


def test_taken_episode_number_is_a_conflict_and_stores_nothing(
    client: TestClient, series_id: int, storage: LocalStorage, settings: Settings
) -> None:
    assert _upload(client, series_id, cached_clip(seconds=4), number="3").status_code == 202
    before = _stored_files(storage, settings)

    response = _upload(client, series_id, cached_clip(seconds=4), number="3")

    assert response.status_code == 409
    assert "Episode 3 already exists" in response.json()["message"]
    assert _stored_files(storage, settings) == before


def test_upload_without_a_file_field_is_a_clear_400(client: TestClient, series_id: int) -> None:
    response = client.post(
        f"/api/studio/series/{series_id}/episodes", files={"title": (None, "Pilot")}
    )

    assert response.status_code == 400
    assert "`file`" in response.json()["message"]


def test_segments_are_served_with_ranges_types_and_long_caching(
    client: TestClient, series_id: int, run_job: RunJob
) -> None:
    body = _upload(client, series_id, cached_clip(seconds=4)).json()
    assert run_job()
    base = f"/media/assets/{body['asset_id']}/hls"

    full = client.get(f"{base}/640p/seg_00000.ts")
    partial = client.get(f"{base}/640p/seg_00000.ts", headers={"Range": "bytes=0-187"})

    assert full.status_code == 200
    assert full.headers["content-type"] == "video/mp2t"
    assert full.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert full.headers["etag"] and full.headers["last-modified"]
    assert partial.status_code == 206
    assert partial.headers["content-type"] == "video/mp2t"
    assert partial.headers["content-range"] == f"bytes 0-187/{len(full.content)}"
    assert partial.content == full.content[:188]
    # Stored segments are AES-128 encrypted: not plain MPEG-TS (sync byte every 188 bytes).
    assert not looks_like_mpegts(full.content)

    revalidated = client.get(
        f"{base}/640p/seg_00000.ts", headers={"If-None-Match": full.headers["etag"]}
    )
    assert revalidated.status_code == 304

    # Playlists are never static files: only the gated episode routes hand them out.
    assert client.get(f"{base}/master.m3u8").status_code == 404
    assert client.get(f"{base}/640p/index.m3u8").status_code == 404
    master = client.get(f"/api/episodes/{body['episode_id']}/hls/master.m3u8")
    assert master.status_code == 200
    assert master.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    assert master.headers["cache-control"] == "private, no-store"
    assert "#EXT-X-STREAM-INF" in master.text
    poster = client.get(f"{base}/poster.jpg")
    assert poster.headers["content-type"] == "image/jpeg"
    assert poster.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_original_uploads_are_not_publicly_downloadable(client: TestClient, series_id: int) -> None:
    asset_id = _upload(client, series_id, cached_clip(seconds=4)).json()["asset_id"]

    assert client.get(f"/media/assets/{asset_id}/source/original.mp4").status_code == 404
