"""This install's own secrets, generated on first run into the data folder (owner-only file)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

SECRETS_FILE_NAME = "secrets.json"
OWNER_ONLY = 0o600


class SecretsFileError(ValueError):
    """The secrets file cannot be created or read; the message says what to do."""


def secrets_path(data_dir: Path) -> Path:
    return data_dir / SECRETS_FILE_NAME


def load_or_create(data_dir: Path, names: Iterable[str]) -> dict[str, str]:
    """The install's secrets by name, creating the file with fresh random ones the first time.

    Several processes starting together on one data folder must end up with the same secrets
    (a key token made by one web process is checked by another), so the file is written whole
    to a private temporary file and then hard-linked into place: the link fails if another
    process got there first, and everyone then reads the one file that won."""
    wanted = list(names)
    path = secrets_path(data_dir)
    if not path.exists():
        _create(path, {name: secrets.token_urlsafe(32) for name in wanted})
    stored = _read(path)
    missing = [name for name in wanted if not stored.get(name)]
    if missing:
        env = ", ".join(f"MICRODRAMA_{name.upper()}" for name in missing)
        raise SecretsFileError(
            f"{path} has no {', '.join(missing)}: add it there, set {env}, "
            "or delete the file to generate new secrets."
        )
    return stored


def _create(path: Path, values: dict[str, str]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
        # O_EXCL and mode 0600 from the start: the secrets are never readable by others,
        # not even for the moment between writing and a chmod.
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(values, out, indent=2)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            # If another process created it first, its secrets are the install's.
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    except OSError as exc:
        raise SecretsFileError(
            f"Cannot create {path} ({exc.strerror or exc}): make the data folder writable, "
            "or set MICRODRAMA_SECRET_KEY, MICRODRAMA_SANDBOX_WEBHOOK_SECRET and "
            "MICRODRAMA_AD_NETWORK_SECRET."
        ) from exc


def _read(path: Path) -> dict[str, str]:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            # Copied in with a loose umask, say: close it again rather than run with it open.
            log.warning("%s was readable by others (mode %o); making it owner-only", path, mode)
            path.chmod(OWNER_ONLY)
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SecretsFileError(f"Cannot read {path} ({exc.strerror or exc}).") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SecretsFileError(f"{path} is not valid JSON ({exc.msg}).") from exc
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise SecretsFileError(f"{path} must be a JSON object of names to strings.")
    return data
