"""The data folder's disk fills up during an upload (a real tmpfs of a few megabytes, nearly
full): the creator gets a clear 507 storage_full, and nothing is half-stored: no asset or
episode row, no file or partial file, the space given back; the same upload goes through once
there is room. The same for a resumable (tus) upload's chunk: refused whole, the offset kept."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from microdrama.app import create_app
from microdrama.catalog.models import Episode
from microdrama.config import Settings
from microdrama.media.models import MediaAsset
from tests.support.clips import cached_clip
from tests.support.studio import TUS, new_series, open_studio, tus_create, tus_patch

DISK_BYTES = 2 * 1024 * 1024  # a small tmpfs


class SmallDisk:
    """A tmpfs of DISK_BYTES mounted for the test, and a filler file to make it (nearly) full."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.filler = root / "filler"

    def free_bytes(self) -> int:
        stat = os.statvfs(self.root)
        return stat.f_bavail * stat.f_frsize

    def fill(self, *, leaving: int) -> None:
        """Take the space until only about `leaving` bytes are free."""
        with self.filler.open("ab") as out:
            out.write(b"\0" * max(0, self.free_bytes() - leaving))

    def empty(self) -> None:
        self.filler.unlink(missing_ok=True)

    def files(self, under: str) -> list[str]:
        return sorted(
            str(p.relative_to(self.root)) for p in (self.root / under).rglob("*") if p.is_file()
        )


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    root = tmp_path / "disk"
    root.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"mounting a tmpfs needs root (CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        yield SmallDisk(root)
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


@pytest.fixture
def studio(small_disk: SmallDisk, settings: Settings, engine: object) -> Iterator[TestClient]:
    """A creator's browser on an instance whose data folder is on the small disk."""
    on_small_disk = settings.model_copy(update={"data_dir": small_disk.root / "data"})
    with TestClient(create_app(on_small_disk)) as client:
        open_studio(client, email="full-disk@example.com")
        yield client


def _counts(factory: sessionmaker[Session]) -> tuple[int, int]:
    with factory() as db:
        assets = db.scalar(select(func.count(MediaAsset.id))) or 0
        episodes = db.scalar(select(func.count(Episode.id))) or 0
        return assets, episodes


@pytest.mark.parametrize(
    "room",
    [
        pytest.param(0.5, id="full-while-receiving"),  # half the file's size free
        pytest.param(1.5, id="full-while-storing"),  # the spooled copy fits, the stored not
    ],
)
def test_an_upload_onto_a_full_disk_is_refused_clearly_and_leaves_nothing(
    studio: TestClient, small_disk: SmallDisk, db_factory: sessionmaker[Session], room: float
) -> None:
    series = new_series(studio, title="No Room at the Inn")
    clip = cached_clip(seconds=1.5, label="FULL")
    small_disk.fill(leaving=int(clip.stat().st_size * room))
    free_before = small_disk.free_bytes()

    def upload() -> dict[str, object]:
        with clip.open("rb") as file:
            response = studio.post(
                f"/api/studio/series/{series['id']}/episodes",
                files={"file": (clip.name, file, "video/mp4")},
            )
        return {"status": response.status_code, **response.json()}

    refused = upload()

    assert refused["status"] == 507
    assert refused["error"] == "storage_full"
    assert refused["message"] == (
        "The server has no room left to store this file, so nothing of it was kept; "
        "try again later."
    )
    assert _counts(db_factory) == (0, 0)
    assert small_disk.files("data/media") == []
    assert small_disk.files("data/tmp") == []
    assert small_disk.free_bytes() == free_before  # no partial file holds the space

    small_disk.empty()  # an operator makes room; the creator sends it again
    accepted = upload()

    assert accepted["status"] == 202, accepted
    assert _counts(db_factory) == (1, 1)
    assert len(small_disk.files("data/media")) == 1  # the source, stored whole


def test_a_resumable_upload_chunk_onto_a_full_disk_is_refused_whole_and_resumes(
    studio: TestClient, small_disk: SmallDisk, db_factory: sessionmaker[Session]
) -> None:
    series = new_series(studio, title="No Room at the Inn")
    clip = cached_clip(seconds=1.5, label="FULL")
    data = clip.read_bytes()
    url = tus_create(studio, series["id"], clip)
    small_disk.fill(leaving=len(data) // 2)
    free_before = small_disk.free_bytes()

    refused = tus_patch(studio, url, 0, data)

    assert refused.status_code == 507
    assert refused.json()["error"] == "storage_full"
    assert studio.head(url, headers=TUS).headers["upload-offset"] == "0"
    assert small_disk.free_bytes() == free_before  # the chunk's bytes given back
    assert _counts(db_factory) == (0, 0)

    small_disk.empty()
    resumed = tus_patch(studio, url, 0, data)

    assert resumed.status_code == 204, resumed.text
    assert resumed.headers["upload-offset"] == str(len(data))
    assert _counts(db_factory) == (1, 1)
