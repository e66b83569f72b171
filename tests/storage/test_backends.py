"""Both stores keep the Storage contract the same way: what callers see does not depend on
whether the bytes are in a folder or in a bucket (moto's S3 server over HTTP)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from microdrama.config import Settings
from microdrama.object_storage import open_storage
from microdrama.storage import RangeNotSatisfiable, Storage
from tests.support.s3 import S3Server


@pytest.fixture(params=["folder", "bucket"])
def store(request: pytest.FixtureRequest, tmp_path: Path, s3: S3Server) -> Iterator[Storage]:
    bucket = s3.settings(s3.new_bucket(), "prod") if request.param == "bucket" else {}
    yield open_storage(Settings(environment="test", data_dir=tmp_path, **bucket))


def test_a_prefix_is_a_folder_not_the_start_of_a_name(store: Storage, tmp_path: Path) -> None:
    (tmp_path / "ladder" / "640p").mkdir(parents=True)
    (tmp_path / "ladder" / "640p" / "seg_00000.ts").write_bytes(b"\x01" * 300)
    (tmp_path / "ladder" / "master.m3u8").write_text("#EXTM3U\n")
    store.save_tree("assets/1/hls", tmp_path / "ladder")
    store.save("assets/10/source/original.mp4", io.BytesIO(b"other"))
    store.save("assets/1/poster.jpg", io.BytesIO(b"jpeg"))

    assert store.list_children("assets") == ["1", "10"]
    assert sorted(k.key for k in store.list_keys("assets/1")) == [
        "assets/1/hls/640p/seg_00000.ts",
        "assets/1/hls/master.m3u8",
        "assets/1/poster.jpg",
    ]
    assert store.read_bytes("assets/1/hls/master.m3u8") == b"#EXTM3U\n"
    assert store.size("assets/1/hls/640p/seg_00000.ts") == 300

    store.delete_prefix("assets/1")

    assert [k.key for k in store.list_keys()] == ["assets/10/source/original.mp4"]
    assert not store.exists("assets/1/poster.jpg")
    with pytest.raises(FileNotFoundError):
        store.read_bytes("assets/1/hls/master.m3u8")
    with pytest.raises(FileNotFoundError), store.local_copy("assets/1/poster.jpg"):
        pass
    with store.local_copy("assets/10/source/original.mp4") as copy:
        assert copy.read_bytes() == b"other"


def test_objects_are_read_whole_in_ranges_and_keys_that_escape_are_refused(
    store: Storage,
) -> None:
    store.save("a/b.bin", io.BytesIO(bytes(range(100))))

    whole = store.open_object("a/b.bin")
    assert (whole.size, whole.partial, b"".join(whole.chunks)) == (100, False, bytes(range(100)))
    tail = store.open_object("a/b.bin", byte_range=(None, 10))
    assert (tail.first, tail.last, b"".join(tail.chunks)) == (90, 99, bytes(range(90, 100)))
    middle = store.open_object("a/b.bin", byte_range=(10, 19))
    assert (middle.partial, b"".join(middle.chunks)) == (True, bytes(range(10, 20)))
    assert store.open_object("a/b.bin", if_none_match=whole.etag).not_modified
    with pytest.raises(RangeNotSatisfiable):
        store.open_object("a/b.bin", byte_range=(100, None))
    for key in ("../escape", "a/../../escape"):
        with pytest.raises(ValueError):
            store.save(key, io.BytesIO(b"x"))
