"""A creator's upload becomes a vertical HLS ladder with a poster: real ffmpeg on tiny clips."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from microdrama.catalog import service as catalog_service
from microdrama.catalog import videos
from microdrama.catalog.models import EpisodeState, Series
from microdrama.config import Settings
from microdrama.errors import InvalidMedia
from microdrama.media import service
from microdrama.media.jobs import UNDECODABLE
from microdrama.media.models import AssetStatus, JobState, MediaAsset, TranscodeJob
from microdrama.media.probe import SourceInfo
from microdrama.media.transcode import plan_ladder
from microdrama.storage import LocalStorage
from tests.support.clips import (
    cached_audio_only,
    cached_clip,
    cached_garbled,
    cached_text_file,
    cached_truncated,
)
from tests.support.factories import make_creator
from tests.support.hls import decrypt_with_ffmpeg, key_line, looks_like_mpegts
from tests.support.media import RunJob

pytestmark = pytest.mark.slow


def _ffprobe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def _upload(
    db: Session, storage: LocalStorage, settings: Settings, source: Path, title: str = ""
) -> tuple[int, int, int]:
    owner = make_creator(db)
    series = Series(title="The Heiress Returns", owner_id=owner.id)
    db.add(series)
    db.flush()
    episode, asset, job = videos.upload_episode(
        db=db,
        storage=storage,
        settings=settings,
        series=series,
        owner=owner,
        filename=source.name,
        source=source,
        title=title,
    )
    db.commit()
    return episode.id, asset.id, job.id


def test_upload_becomes_a_three_rung_vertical_ladder_with_poster_and_exact_duration(
    db: Session, storage: LocalStorage, settings: Settings, run_job: RunJob, tmp_path: Path
) -> None:
    episode_id, asset_id, job_id = _upload(db, storage, settings, cached_clip(seconds=5))
    progress: list[float] = []

    assert run_job(on_progress=lambda _job, p: progress.append(p))

    db.expire_all()
    job = db.get(TranscodeJob, job_id)
    asset = db.get(MediaAsset, asset_id)
    assert job is not None and asset is not None
    assert (job.state, job.progress, job.attempts, job.error) == (JobState.done, 1.0, 1, None)
    assert asset.status == AssetStatus.ready
    assert abs(asset.duration_ms - 5000) <= 100
    assert progress and progress[-1] == 1.0 and progress == sorted(progress)

    episode = catalog_service.get_episode(db=db, episode_id=episode_id)
    assert episode is not None
    assert episode.state == EpisodeState.ready
    assert episode.duration_ms == asset.duration_ms

    sizes = [(r["width"], r["height"]) for r in asset.renditions]
    assert sizes == [(360, 640), (240, 426), (180, 320)]
    assert asset.master_playlist_key == f"assets/{asset_id}/hls/master.m3u8"
    master = storage.path(asset.master_playlist_key).read_text()
    variants = re.findall(r"#EXT-X-STREAM-INF:(.*)\n(.*)", master)
    assert [uri for _, uri in variants] == ["640p/index.m3u8", "426p/index.m3u8", "320p/index.m3u8"]
    for attributes, _ in variants:
        assert re.search(r"BANDWIDTH=\d+", attributes)
        assert re.search(r'CODECS="avc1\.[0-9a-f]+,mp4a\.40\.2"', attributes)
    assert [re.search(r"RESOLUTION=(\d+)x(\d+)", a).groups() for a, _ in variants] == [
        ("360", "640"),
        ("240", "426"),
        ("180", "320"),
    ]

    assert asset.aes_key is not None and len(asset.aes_key) == 16
    for rendition in asset.renditions:
        playlist = storage.path(rendition["playlist_key"])
        durations = [float(d) for d in re.findall(r"#EXTINF:([0-9.]+)", playlist.read_text())]
        assert sum(durations) == pytest.approx(5.0, abs=0.1)
        assert all(d == pytest.approx(settings.segment_seconds, abs=0.05) for d in durations[:-1])
        assert "METHOD=AES-128" in key_line(playlist.read_text())
        first_segment = (
            playlist.parent / re.findall(r"^(seg_\d+\.ts)$", playlist.read_text(), re.M)[0]
        )
        assert not looks_like_mpegts(first_segment.read_bytes())
        decrypted = decrypt_with_ffmpeg(
            playlist=playlist.read_text(),
            key=asset.aes_key,
            segments_dir=playlist.parent,
            work_dir=tmp_path / rendition["playlist_key"],
        )
        streams = _ffprobe(decrypted)["streams"]
        video = next(s for s in streams if s["codec_type"] == "video")
        assert (video["width"], video["height"]) == (rendition["width"], rendition["height"])
        assert any(s["codec_type"] == "audio" for s in streams)

    assert asset.poster_key is not None
    poster = _ffprobe(storage.path(asset.poster_key))["streams"][0]
    assert (poster["codec_name"], poster["width"], poster["height"]) == ("mjpeg", 360, 640)
    assert len(asset.thumbnails) >= 3
    assert all(storage.exists(t["key"]) for t in asset.thumbnails)
    assert [t["time_ms"] for t in asset.thumbnails] == sorted(
        t["time_ms"] for t in asset.thumbnails
    )


def test_silent_landscape_video_is_letterboxed_into_9_16_with_an_audio_track(
    db: Session, storage: LocalStorage, settings: Settings, run_job: RunJob, tmp_path: Path
) -> None:
    source = cached_clip(seconds=3, width=640, height=360, audio=False, label="WIDE")
    _, asset_id, _ = _upload(db, storage, settings, source)

    assert run_job()

    db.expire_all()
    asset = db.get(MediaAsset, asset_id)
    assert asset is not None and asset.status == AssetStatus.ready
    top = asset.renditions[0]
    assert (top["width"], top["height"]) == (360, 640)
    playlist = storage.path(top["playlist_key"])
    assert asset.aes_key is not None
    segment = decrypt_with_ffmpeg(
        playlist=playlist.read_text(),
        key=asset.aes_key,
        segments_dir=playlist.parent,
        work_dir=tmp_path / "decrypted",
    )
    kinds = sorted(s["codec_type"] for s in _ffprobe(segment)["streams"])
    assert kinds == ["audio", "video"]


def test_ladder_never_upscales_but_keeps_one_rung_for_a_small_source() -> None:
    def source(width: int, height: int) -> SourceInfo:
        return SourceInfo(width, height, 4000, 30.0, True, "h264", "mp4")

    ladder = [1920, 1280, 854]
    full_hd = plan_ladder(source=source(1080, 1920), ladder_heights=ladder, fps=30)
    assert [(r.width, r.height) for r in full_hd] == [(1080, 1920), (720, 1280), (480, 854)]
    hd = plan_ladder(source=source(720, 1280), ladder_heights=ladder, fps=30)
    assert [r.height for r in hd] == [1280, 854]
    tiny = plan_ladder(source=source(360, 640), ladder_heights=ladder, fps=30)
    assert [(r.width, r.height) for r in tiny] == [(360, 640)]
    assert full_hd[0].bandwidth > full_hd[1].bandwidth > full_hd[2].bandwidth


@pytest.mark.parametrize(
    ("make_file", "problem"),
    [
        (cached_text_file, "isn't a video we can read"),
        (cached_truncated, "isn't a video we can read"),
        (cached_audio_only, "has no picture"),
    ],
    ids=["text-renamed-mp4", "truncated", "audio-only"],
)
def test_files_that_are_not_usable_videos_are_refused_before_anything_is_stored(
    db: Session,
    storage: LocalStorage,
    settings: Settings,
    make_file: object,
    problem: str,
) -> None:
    with pytest.raises(InvalidMedia) as refused:
        _upload(db, storage, settings, make_file())  # type: ignore[operator]

    assert problem in refused.value.message
    db.rollback()
    assert db.scalar(select(func.count()).select_from(MediaAsset)) == 0
    assert db.scalar(select(func.count()).select_from(TranscodeJob)) == 0
    assert not any(p.is_file() for p in storage.root.rglob("*"))


def test_too_long_source_is_refused_with_the_limit(
    db: Session, storage: LocalStorage, settings: Settings
) -> None:
    settings.max_source_seconds = 2

    with pytest.raises(InvalidMedia) as refused:
        _upload(db, storage, settings, cached_clip(seconds=3))

    assert "limit is 2 s" in refused.value.message
    assert refused.value.details["max_seconds"] == 2


def test_file_that_passes_probe_but_cannot_be_decoded_fails_its_job_with_the_reason(
    db: Session, storage: LocalStorage, settings: Settings, run_job: RunJob
) -> None:
    episode_id, asset_id, job_id = _upload(db, storage, settings, cached_garbled())

    assert run_job()

    db.expire_all()
    job = db.get(TranscodeJob, job_id)
    asset = db.get(MediaAsset, asset_id)
    episode = catalog_service.get_episode(db=db, episode_id=episode_id)
    assert job is not None and asset is not None and episode is not None
    assert job.state == JobState.failed
    assert job.error == "ffmpeg: Invalid data found when processing input"
    # The creator reads what to do; ffmpeg's words stay on the job for operators.
    assert (asset.status, asset.error) == (AssetStatus.failed, UNDECODABLE)
    # What the studio's job API answers the creator is the plain reason too.
    assert service.job_read(job=job).error == UNDECODABLE
    shown = videos.asset_read(db=db, storage=storage, asset=asset).job
    assert shown is not None and shown.error == UNDECODABLE
    assert episode.state == EpisodeState.failed
    assert not storage.exists(f"assets/{asset_id}/hls/master.m3u8")
    assert not run_job(), "a failed job is not retried"
