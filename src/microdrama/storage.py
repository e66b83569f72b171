"""Where stored bytes live (videos, posters, subtitles, product images): a local folder (the
embedded default) or an S3-compatible bucket (object_storage.py), chosen by
MICRODRAMA_STORAGE_URL.

Everything outside the backends speaks in storage *keys* ("assets/12/hls/master.m3u8"), never
in filesystem paths or bucket names, and never asks which backend it has.
"""

from __future__ import annotations

import errno
import mimetypes
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Annotated, BinaryIO, Protocol

from fastapi import Depends, Request

from microdrama.dependencies import in_event_loop
from microdrama.errors import DomainError

# What a browser must be told of stored media (the host's mime.types may disagree: Debian maps
# .ts to a Qt file), and how long browsers and CDNs may keep it.
MEDIA_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".jpg": "image/jpeg",
    ".vtt": "text/vtt",
}
# Segments, posters and thumbnails never change under their key (a new upload gets a new
# asset id), so browsers and CDNs keep them. Segments are AES-128 encrypted: public bytes,
# useless without the key.
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=60"
READ_CHUNK_BYTES = 256 * 1024


def media_type(key: str) -> str:
    suffix = PurePosixPath(key).suffix.lower()
    return MEDIA_TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream"


def cache_control(key: str) -> str:
    return SHORT if PurePosixPath(key).suffix.lower() in {".m3u8", ".vtt"} else IMMUTABLE


class StorageUnavailable(DomainError, code="storage_unavailable", status_code=503):
    """The store did not answer (unreachable, timed out, refused our credentials, a server
    error): the request or job can be tried again later. `reason` is for operators and logs."""

    def __init__(self, reason: str) -> None:
        super().__init__("The media storage can't be reached right now; try again in a moment.")
        self.reason = reason


class StorageFull(DomainError, code="storage_full", status_code=507):
    """The disk that receives the bytes is full (or the account's quota spent): nothing of the
    file was kept, and it can be sent again once an operator has made room."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            "The server has no room left to store this file, so nothing of it was kept; "
            "try again later."
        )
        self.reason = reason


@contextmanager
def disk_full_refused() -> Iterator[None]:
    """Turn a write's "no space left on device" (or "disk quota exceeded") into StorageFull."""
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StorageFull(str(exc)) from exc
        raise


class RangeNotSatisfiable(Exception):
    """The asked byte range lies outside the object (answered with 416)."""

    def __init__(self, size: int) -> None:
        super().__init__(f"range outside the object's {size} bytes")
        self.size = size


@dataclass(frozen=True)
class StoredKey:
    """One stored object, as a listing names it."""

    key: str
    size: int
    modified_at: datetime


@dataclass
class StoredObject:
    """An object being read: its bytes `first`..`last` (inclusive) of `size`, in chunks."""

    size: int
    first: int
    last: int
    etag: str
    modified_at: datetime
    chunks: Iterator[bytes] = field(repr=False)
    partial: bool = False  # a Range was asked and honoured (206)
    not_modified: bool = False  # the If-None-Match matched: no bytes (304)

    @property
    def length(self) -> int:
        return 0 if self.not_modified else self.last - self.first + 1

    def close(self) -> None:
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()


_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def parse_range(header: str | None) -> tuple[int | None, int | None] | None:
    """A single `Range: bytes=a-b` (or `a-`, `-n`) as (a, b); None for none or one we ignore
    (several ranges: the whole object is a valid answer to those)."""
    found = _RANGE.fullmatch(header.strip()) if header else None
    if found is None or found.group(1) == found.group(2) == "":
        return None
    first = int(found.group(1)) if found.group(1) else None
    last = int(found.group(2)) if found.group(2) else None
    if first is not None and last is not None and last < first:
        return None
    return first, last


def resolve_range(byte_range: tuple[int | None, int | None], size: int) -> tuple[int, int]:
    """Inclusive byte offsets of a parsed range within an object of `size` bytes."""
    first, last = byte_range
    if first is None:  # the last n bytes
        assert last is not None
        if last == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return max(0, size - last), size - 1
    if first >= size:
        raise RangeNotSatisfiable(size)
    return first, size - 1 if last is None else min(last, size - 1)


class Storage(Protocol):
    def save(self, key: str, data: BinaryIO) -> int:
        """Store a stream under key (replacing it); returns the byte count."""
        ...

    def save_file(self, key: str, source: Path) -> None:
        """Store a local file under key (replacing it)."""
        ...

    def save_tree(self, prefix: str, directory: Path) -> list[str]:
        """Store every file under a local directory as prefix/relative/path; returns the keys.
        Playlists are stored last: a reader that sees a playlist can fetch what it names."""
        ...

    def exists(self, key: str) -> bool: ...

    def read_bytes(self, key: str) -> bytes:
        """The whole object (small ones: playlists); FileNotFoundError if absent."""
        ...

    def size(self, key: str) -> int:
        """The object's size in bytes (FileNotFoundError if absent)."""
        ...

    def open_object(
        self,
        key: str,
        *,
        byte_range: tuple[int | None, int | None] | None = None,
        if_none_match: str | None = None,
    ) -> StoredObject:
        """The object's bytes as a stream (or a part of them: see parse_range) to send to a
        client; FileNotFoundError if absent, RangeNotSatisfiable for a range outside it."""
        ...

    def delete_prefix(self, prefix: str) -> None:
        """Delete the object named prefix and every object under prefix/."""
        ...

    def list_keys(self, prefix: str = "") -> Iterator[StoredKey]:
        """Every object under prefix/ (the whole store for ""), in key order."""
        ...

    def list_children(self, prefix: str) -> list[str]:
        """The names one level under prefix/ ("assets" -> ["1", "2", ...]), sorted."""
        ...

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        """A local file with the object's bytes for the duration of the block (ffmpeg input)."""
        ...

    def url(self, key: str) -> str:
        """The URL a browser fetches the object from."""
        ...

    def local_folder(self) -> Path | None:
        """The folder holding the objects as plain files under their keys, when there is one
        (a web server then serves them straight from disk); None for a remote store."""
        ...


def playlists_last(files: list[Path]) -> list[Path]:
    return sorted(files, key=lambda p: (p.suffix == ".m3u8", str(p)))


class LocalStorage:
    """A folder on disk, served by the app under url_prefix (or by nginx / a CDN in front)."""

    def __init__(self, root: Path, url_prefix: str = "/media") -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.url_prefix = url_prefix.rstrip("/")

    def path(self, key: str) -> Path:
        """The file behind key; refuses keys that would escape the root."""
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValueError(f"invalid storage key: {key!r}")
        return path

    def save(self, key: str, data: BinaryIO) -> int:
        size = 0
        with _written_whole(self.path(key)) as tmp, tmp.open("wb") as out:
            while chunk := data.read(1024 * 1024):
                out.write(chunk)
                size += len(chunk)
        return size

    def save_file(self, key: str, source: Path) -> None:
        with _written_whole(self.path(key)) as tmp:
            shutil.copyfile(source, tmp)

    def save_tree(self, prefix: str, directory: Path) -> list[str]:
        keys = []
        for file in playlists_last([p for p in directory.rglob("*") if p.is_file()]):
            key = f"{prefix.rstrip('/')}/{file.relative_to(directory).as_posix()}"
            self.save_file(key, file)
            keys.append(key)
        return keys

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def read_bytes(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def size(self, key: str) -> int:
        return self.path(key).stat().st_size

    def open_object(
        self,
        key: str,
        *,
        byte_range: tuple[int | None, int | None] | None = None,
        if_none_match: str | None = None,
    ) -> StoredObject:
        path = self.path(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        stat = path.stat()
        etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
        modified_at = datetime.fromtimestamp(stat.st_mtime, UTC)
        first, last = 0, stat.st_size - 1
        if if_none_match is not None and etag in {t.strip() for t in if_none_match.split(",")}:
            return StoredObject(stat.st_size, 0, -1, etag, modified_at, iter(()), not_modified=True)
        if byte_range is not None:
            first, last = resolve_range(byte_range, stat.st_size)
        chunks = _file_chunks(path, first, last)
        return StoredObject(
            stat.st_size, first, last, etag, modified_at, chunks, partial=byte_range is not None
        )

    def delete_prefix(self, prefix: str) -> None:
        base = self.path(prefix.rstrip("/"))
        if base.is_dir():
            shutil.rmtree(base)
        elif base.is_file():
            base.unlink()

    def list_keys(self, prefix: str = "") -> Iterator[StoredKey]:
        base = self.path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        if not base.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith(".part"):  # being written
                    continue
                path = Path(dirpath) / name
                stat = path.stat()
                yield StoredKey(
                    key=path.relative_to(self.root).as_posix(),
                    size=stat.st_size,
                    modified_at=datetime.fromtimestamp(stat.st_mtime, UTC),
                )

    def list_children(self, prefix: str) -> list[str]:
        base = self.path(prefix.rstrip("/"))
        return sorted(p.name for p in base.iterdir()) if base.is_dir() else []

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        path = self.path(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        yield path

    def url(self, key: str) -> str:
        return f"{self.url_prefix}/{key}"

    def local_folder(self) -> Path | None:
        return self.root


@contextmanager
def _written_whole(target: Path) -> Iterator[Path]:
    """A file to write `target`'s bytes into, put in its place in one rename once the block
    ends (readers never see half a file) and deleted if the block fails (a full disk keeps
    no half file)."""
    tmp = target.with_name(target.name + ".part")
    try:
        with disk_full_refused():
            target.parent.mkdir(parents=True, exist_ok=True)
            yield tmp
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _file_chunks(path: Path, first: int, last: int) -> Iterator[bytes]:
    with path.open("rb") as file:
        file.seek(first)
        left = last - first + 1
        while left > 0 and (chunk := file.read(min(READ_CHUNK_BYTES, left))):
            left -= len(chunk)
            yield chunk


def app_storage(request: Request) -> Storage:
    """The app's media storage (a route dependency)."""
    storage: Storage = request.app.state.storage
    return storage


AppStorage = Annotated[Storage, Depends(in_event_loop(app_storage))]
