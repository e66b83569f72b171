"""Where stored bytes live (videos, posters, product images): a local folder now, S3 later.

Everything outside this module speaks in storage *keys* ("assets/12/hls/master.m3u8"),
never in filesystem paths, so a bucket can replace the folder without touching callers.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, BinaryIO, Protocol

from fastapi import Depends, Request


class Storage(Protocol):
    def save(self, key: str, data: BinaryIO) -> int:
        """Store a stream under key (replacing it); returns the byte count."""
        ...

    def save_file(self, key: str, source: Path) -> None:
        """Store a local file under key (replacing it)."""
        ...

    def save_tree(self, prefix: str, directory: Path) -> list[str]:
        """Store every file under a local directory as prefix/relative/path; returns the keys."""
        ...

    def exists(self, key: str) -> bool: ...

    def read_bytes(self, key: str) -> bytes:
        """The whole object (small ones: playlists); FileNotFoundError if absent."""
        ...

    def size(self, key: str) -> int:
        """The object's size in bytes (FileNotFoundError if absent)."""
        ...

    def delete_prefix(self, prefix: str) -> None:
        """Delete every object whose key starts with prefix."""
        ...

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        """A local file with the object's bytes for the duration of the block (ffmpeg input)."""
        ...

    def url(self, key: str) -> str:
        """The URL a browser fetches the object from."""
        ...


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
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        with tmp.open("wb") as out:
            size = 0
            while chunk := data.read(1024 * 1024):
                out.write(chunk)
                size += len(chunk)
        tmp.replace(target)  # atomic: readers never see half a file
        return size

    def save_file(self, key: str, source: Path) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        shutil.copyfile(source, tmp)
        tmp.replace(target)

    def save_tree(self, prefix: str, directory: Path) -> list[str]:
        keys = []
        # Playlists last: a reader that sees a playlist can already fetch what it names.
        files = sorted(
            (p for p in directory.rglob("*") if p.is_file()),
            key=lambda p: (p.suffix == ".m3u8", str(p)),
        )
        for file in files:
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

    def delete_prefix(self, prefix: str) -> None:
        base = self.path(prefix.rstrip("/"))
        if base.is_dir():
            shutil.rmtree(base)
        elif base.is_file():
            base.unlink()

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        path = self.path(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        yield path

    def url(self, key: str) -> str:
        return f"{self.url_prefix}/{key}"


def app_storage(request: Request) -> Storage:
    """The app's media storage (a route dependency)."""
    storage: Storage = request.app.state.storage
    return storage


AppStorage = Annotated[Storage, Depends(app_storage)]
