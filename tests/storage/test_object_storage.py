"""Media in an S3-compatible bucket: a creator's upload lands in the bucket, is transcoded by a
worker that fetches it and uploads the ladder, plays through the app (or straight from the
bucket with MEDIA_URL_PREFIX), leaves the bucket when deleted, and orphans are swept. The store
is moto's S3 API server reached over HTTP: the app only knows an endpoint URL and credentials.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from microdrama.app import create_app
from microdrama.config import Settings
from microdrama.db import utcnow
from microdrama.media import service as media
from microdrama.media.models import MediaAsset, TranscodeJob
from microdrama.storage import Storage
from tests.support.clips import cached_clip
from tests.support.factories import make_creator
from tests.support.hls import decodes_cleanly, decrypt_with_ffmpeg, looks_like_mpegts
from tests.support.media import RunJob
from tests.support.s3 import S3Server
from tests.support.studio import new_series, open_studio

pytestmark = pytest.mark.slow

PREFIX = "media"  # the bucket prefix of tests/storage/conftest.py's settings


def _upload_episode(client: TestClient, email: str) -> dict[str, Any]:
    open_studio(client, email=email)
    series = new_series(client, title="The Bucket Heiress")
    source = cached_clip(seconds=1.5, label="S3")
    with source.open("rb") as file:
        response = client.post(
            f"/api/studio/series/{series['id']}/episodes",
            files={"file": (source.name, file, "video/mp4")},
        )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    body["series_id"] = series["id"]
    return body


def _rendition(client: TestClient, episode_id: int) -> tuple[str, bytes, list[str]]:
    """What a player fetches before the segments: the first rendition's playlist, the key
    named in it and the segment URLs it lists."""
    master = client.get(f"/api/episodes/{episode_id}/hls/master.m3u8")
    assert master.status_code == 200, master.text
    rendition_url = next(line for line in master.text.splitlines() if line[:1] not in "#")
    playlist = client.get(rendition_url)
    assert playlist.status_code == 200, playlist.text
    key_uri = re.search(r'URI="([^"]+)"', playlist.text)
    assert key_uri is not None
    key = client.get(key_uri.group(1))
    assert key.status_code == 200 and len(key.content) == 16
    segments = [line for line in playlist.text.splitlines() if line and not line.startswith("#")]
    return playlist.text, key.content, segments


def test_an_upload_lands_in_the_bucket_is_transcoded_there_plays_and_is_deleted(
    client: TestClient,
    s3: S3Server,
    bucket: str,
    run_job: RunJob,
    settings: Settings,
    tmp_path: Path,
) -> None:
    body = _upload_episode(client, "bucket-creator@example.com")
    assets = f"{PREFIX}/assets/{body['asset_id']}"
    assert s3.keys(bucket, assets + "/") == [f"{assets}/source/original.mp4"]

    assert run_job()

    job = client.get(body["job_url"]).json()
    assert (job["state"], job["error"]) == ("done", None)
    keys = s3.keys(bucket, assets + "/")
    hls = f"{assets}/hls"
    assert {f"{hls}/master.m3u8", f"{hls}/320p/index.m3u8", f"{hls}/poster.jpg"} <= set(keys)
    assert f"{hls}/320p/seg_00000.ts" in keys
    stored = s3.client().head_object(Bucket=bucket, Key=f"{hls}/320p/seg_00000.ts")
    assert stored["ContentType"] == "video/mp2t"
    assert stored["CacheControl"] == "public, max-age=31536000, immutable"
    # Nothing of it on this machine's disk: the worker's copies were temporary.
    assert not settings.media_dir.exists()

    playlist, key, segments = _rendition(client, body["episode_id"])
    assert segments[0] == f"/media/assets/{body['asset_id']}/hls/320p/seg_00000.ts"
    first = client.get(segments[0])
    assert first.status_code == 200
    assert first.headers["content-type"] == "video/mp2t"
    assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
    in_bucket = s3.client().get_object(Bucket=bucket, Key=f"{hls}/320p/seg_00000.ts")
    assert first.content == in_bucket["Body"].read()
    assert not looks_like_mpegts(first.content)  # encrypted at rest and on the wire
    ranged = client.get(segments[0], headers={"Range": "bytes=0-187"})
    assert ranged.status_code == 206
    assert ranged.headers["content-range"] == f"bytes 0-187/{len(first.content)}"
    assert ranged.content == first.content[:188]
    again = client.get(segments[0], headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304

    folder = tmp_path / "segments"
    folder.mkdir()
    for url in segments:
        (folder / url.rsplit("/", 1)[1]).write_bytes(client.get(url).content)
    decrypted = decrypt_with_ffmpeg(
        playlist=playlist,
        key=key,
        segments_dir=folder,
        work_dir=tmp_path / "decrypted",
        segments=len(segments),
    )
    assert decodes_cleanly(decrypted)

    asset = client.get(body["asset_url"]).json()
    poster = client.get(asset["poster_url"])
    assert (poster.status_code, poster.headers["content-type"]) == (200, "image/jpeg")
    # What is never public from the folder is not public from the bucket either.
    assert client.get(f"/media/assets/{body['asset_id']}/source/original.mp4").status_code == 404
    assert client.get(f"/media/assets/{body['asset_id']}/hls/master.m3u8").status_code == 404
    assert client.get(f"/media/assets/{body['asset_id']}/hls/nothing.ts").status_code == 404

    # The same install with MICRODRAMA_MEDIA_URL_PREFIX naming the bucket's URL (a CDN in
    # front of it works the same way): players fetch segments from the bucket, keys from the app.
    bucket_url = f"{s3.endpoint_url}/{bucket}/{PREFIX}"
    s3.publish_renditions(bucket, PREFIX)
    behind_cdn = create_app(settings.model_copy(update={"media_url_prefix": bucket_url}))
    with TestClient(behind_cdn, cookies=client.cookies) as player:
        playlist, _key, segments = _rendition(player, body["episode_id"])
        assert re.search(r'URI="/api/keys/\d+\?token=', playlist)
        assert segments[0] == f"{bucket_url}/assets/{body['asset_id']}/hls/320p/seg_00000.ts"
        with urllib.request.urlopen(segments[0], timeout=10) as answer:  # anonymous: a browser
            assert answer.headers["Content-Type"] == "video/mp2t"
            assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            assert answer.read() == first.content
        poster_url = player.get(body["asset_url"]).json()["poster_url"]
        assert poster_url == f"{bucket_url}/assets/{body['asset_id']}/hls/poster.jpg"
    # The bucket's policy keeps the original upload private.
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{bucket_url}/assets/{body['asset_id']}/source/original.mp4")
    assert refused.value.code == 403

    deleted = client.delete(f"/api/studio/series/{body['series_id']}/episodes/{body['episode_id']}")
    assert deleted.status_code == 200, deleted.text
    assert s3.keys(bucket, assets + "/") == []


def test_housekeeping_sweeps_files_no_asset_owns_once_they_are_a_day_old(
    s3: S3Server, bucket: str, storage: Storage, db: Session
) -> None:
    owned = MediaAsset(owner_id=make_creator(db).id, source_key="", renditions=[], thumbnails=[])
    db.add(owned)
    db.commit()
    kept = f"{PREFIX}/assets/{owned.id}/source/original.mp4"
    # What a worker that died between uploading and committing leaves: files with no row.
    left = [f"{PREFIX}/assets/987654/hls/320p/seg_00000.ts", f"{PREFIX}/assets/987654/poster.jpg"]
    for key in [kept, *left]:
        s3.client().put_object(Bucket=bucket, Key=key, Body=b"bytes")

    assert media.sweep_orphan_files(db=db, storage=storage) == 0  # too new: maybe in flight
    swept = media.sweep_orphan_files(db=db, storage=storage, now=utcnow() + timedelta(days=2))

    assert swept == 1
    assert s3.keys(bucket) == [kept]


def test_a_transcode_that_cannot_reach_the_storage_waits_with_the_reason_and_is_retried(
    client: TestClient, s3: S3Server, run_job: RunJob, db: Session
) -> None:
    body = _upload_episode(client, "outage-creator@example.com")

    s3.stop()  # the store goes away between the upload and the worker
    try:
        assert run_job()
        job = client.get(body["job_url"]).json()
        # The creator reads why; the job is back in the queue, the try not counted.
        assert (job["state"], job["attempts"], job["error"]) == ("queued", 0, media.STORAGE_WAIT)
        row = db.get(TranscodeJob, body["job_id"])
        assert row is not None and row.error is not None
        assert "could not be reached" in row.error  # the operator's reason, with the endpoint
        assert not run_job()  # tried again later, not in a tight loop
        poster = client.get(f"/media/assets/{body['asset_id']}/hls/poster.jpg")
        assert poster.status_code == 503
        assert poster.json()["error"] == "storage_unavailable"
    finally:
        s3.start()
    # Later: the retry time has come (moved here rather than waited for).
    db.execute(
        update(TranscodeJob)
        .where(TranscodeJob.id == body["job_id"])
        .values(lease_expires_at=utcnow() - timedelta(seconds=1))
    )
    db.commit()

    assert run_job()

    job = client.get(body["job_url"]).json()
    assert (job["state"], job["attempts"], job["error"]) == ("done", 1, None)
    _playlist, _key, segments = _rendition(client, body["episode_id"])
    assert client.get(segments[0]).status_code == 200
