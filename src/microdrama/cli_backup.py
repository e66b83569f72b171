"""`microdrama backup DIR` and `microdrama restore DIR`: an install into a folder and back."""

from __future__ import annotations

from pathlib import Path

import typer

from microdrama.backup.manifest import BackupError
from microdrama.backup.service import make_backup, restore_backup
from microdrama.config import get_settings
from microdrama.db import utcnow
from microdrama.object_storage import open_storage


def _mib(size: int) -> str:
    return f"{size / 1024**2:,.1f} MiB"


def backup(
    directory: Path = typer.Argument(
        ..., file_okay=False, help="A new (or empty) folder to write the backup into."
    ),
) -> None:
    """Back up the database, the media and the data folder's secrets into a new folder (safe
    while the app runs)."""
    settings = get_settings()
    try:
        result = make_backup(
            settings=settings, storage=open_storage(settings), folder=directory, now=utcnow()
        )
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    manifest = result.manifest
    media_bytes = sum(item.size for item in manifest.media)
    secrets = ", ".join(manifest.data_files) or "no secrets file (they come from the environment)"
    typer.echo(
        f"backup written to {result.folder}: {manifest.database.backend} database at revision "
        f"{manifest.alembic_revision} ({_mib(manifest.database.file.size)}), "
        f"{len(manifest.media)} media objects ({_mib(media_bytes)}), {secrets}"
    )
    if result.vanished:
        typer.echo(f"note: {result.vanished} media objects were deleted while the backup ran")


def restore(
    directory: Path = typer.Argument(..., file_okay=False, help="A folder made by `backup`."),
    force: bool = typer.Option(
        False, "--force", help="Replace what the database holds (refused by default)."
    ),
) -> None:
    """Restore a backup into this install (stop the app first): the database, the media and
    the secrets; the schema is then migrated to the newest revision."""
    settings = get_settings()
    try:
        result = restore_backup(
            settings=settings, storage=open_storage(settings), folder=directory, force=force
        )
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    manifest = result.manifest
    media_bytes = sum(item.size for item in manifest.media)
    typer.echo(
        f"restored the backup of {manifest.created_at} (microdrama {manifest.app_version}, "
        f"revision {manifest.alembic_revision}) into {result.database}: "
        f"{len(manifest.media)} media objects ({_mib(media_bytes)}), "
        f"{', '.join(manifest.data_files) or 'no secrets file'}"
    )
    if result.migrated_to:
        typer.echo(f"schema migrated from {manifest.alembic_revision} to {result.migrated_to}")
