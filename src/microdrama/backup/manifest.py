"""What a backup folder holds and how to tell it is whole: manifest.json and its checksums."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# Raised when the layout changes in a way an older restore could not read.
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
MEDIA_FOLDER = "media"
DATA_FOLDER = "data"
CHUNK_BYTES = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


class StoredFile(BaseModel):
    """A file of the backup folder, by its path inside the folder, with its size and SHA-256."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class Extension(BaseModel):
    """A PostgreSQL extension the schema's objects use (created on restore when missing)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    schema_name: str


class DatabaseCopy(BaseModel):
    """The database: an SQLite file made by the online backup API, or a pg_dump archive."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: Literal["sqlite", "postgresql"]
    file: StoredFile
    # PostgreSQL: the schema the tables live in, and the extensions they use.
    schema_name: str | None = None
    extensions: list[Extension] = Field(default_factory=list)


class MediaObject(BaseModel):
    """One object of the media storage, kept in the backup at media/<key>."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class Manifest(BaseModel):
    """The backup's table of contents, written last: a folder without it is not a backup."""

    model_config = ConfigDict(extra="forbid")

    format_version: int
    app_version: str
    alembic_revision: str
    created_at: str
    database: DatabaseCopy
    # Files of the data folder an install cannot be without (its generated secrets), by name.
    data_files: dict[str, StoredFile] = Field(default_factory=dict)
    media: list[MediaObject] = Field(default_factory=list)

    def write(self, folder: Path) -> None:
        path = folder / MANIFEST_NAME
        temporary = path.with_name(path.name + ".part")
        temporary.write_text(self.model_dump_json(indent=1) + "\n", encoding="utf-8")
        temporary.replace(path)

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        path = folder / MANIFEST_NAME
        if not folder.is_dir():
            raise BackupError(f"{folder} is not a folder")
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise BackupError(
                f"{folder} holds no {MANIFEST_NAME}: not a microdrama backup, or an unfinished one"
            ) from None
        except OSError as exc:
            raise BackupError(f"cannot read {path}: {exc.strerror or exc}") from exc
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BackupError(
                f"{path} is not valid JSON ({exc.msg}): the backup is damaged"
            ) from exc
        version = raw.get("format_version") if isinstance(raw, dict) else None
        if isinstance(version, int) and version > FORMAT_VERSION:
            raise BackupError(
                f"{folder} is a backup of format {version}, made by microdrama "
                f"{raw.get('app_version', '?')}; this microdrama reads format {FORMAT_VERSION} "
                "and older: restore it with a newer microdrama"
            )
        try:
            manifest = cls.model_validate(raw)
        except ValidationError as exc:
            raise BackupError(
                f"{path} is not a valid manifest: the backup is damaged\n{exc}"
            ) from exc
        for item in manifest.media:
            media_path(folder, item.key)  # refuses keys that would leave the folder
        for stored in manifest.all_files():
            inside(folder, stored.path)
        return manifest

    def all_files(self) -> list[StoredFile]:
        """Every file the backup must hold, media objects included."""
        files = [self.database.file, *self.data_files.values()]
        files += [
            StoredFile(path=f"{MEDIA_FOLDER}/{m.key}", size=m.size, sha256=m.sha256)
            for m in self.media
        ]
        return files


@dataclass(frozen=True)
class Digest:
    """A file's byte count and SHA-256 (hex)."""

    size: int
    sha256: str


def inside(folder: Path, relative: str) -> Path:
    """folder/relative, refusing a path that would lead out of the folder."""
    parts = PurePosixPath(relative).parts
    if not parts or PurePosixPath(relative).is_absolute() or ".." in parts or "\x00" in relative:
        raise BackupError(f"the manifest names a path outside the backup: {relative!r}")
    return folder.joinpath(*parts)


def media_path(folder: Path, key: str) -> Path:
    return inside(folder, f"{MEDIA_FOLDER}/{key}")


def copy_hashing(chunks: Iterable[bytes], target: Path, *, mode: int = 0o644) -> Digest:
    """Write the chunks to target (a new file), hashing them on the way."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out:
        for chunk in chunks:
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    return Digest(size, digest.hexdigest())


def file_chunks(file: BinaryIO) -> Iterable[bytes]:
    while chunk := file.read(CHUNK_BYTES):
        yield chunk


def digest_of(path: Path) -> Digest:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as file:
        for chunk in file_chunks(file):
            digest.update(chunk)
            size += len(chunk)
    return Digest(size, digest.hexdigest())


def stored_file(folder: Path, path: Path) -> StoredFile:
    """The manifest's entry for a file already written into the backup folder."""
    found = digest_of(path)
    return StoredFile(
        path=path.relative_to(folder).as_posix(), size=found.size, sha256=found.sha256
    )


def damaged_files(folder: Path, files: Iterable[StoredFile]) -> list[str]:
    """Every file of the backup that is missing or differs from the manifest, as sentences."""
    problems = []
    for expected in files:
        path = inside(folder, expected.path)
        try:
            found = digest_of(path)
        except FileNotFoundError:
            problems.append(f"{expected.path}: missing")
            continue
        except OSError as exc:
            problems.append(f"{expected.path}: unreadable ({exc.strerror or exc})")
            continue
        if found.size != expected.size:
            problems.append(
                f"{expected.path}: {found.size} bytes where the manifest says {expected.size}"
            )
        elif found.sha256 != expected.sha256:
            problems.append(f"{expected.path}: checksum differs from the manifest")
    return problems
