"""The folder where each web process of `microdrama serve` keeps its metrics (prometheus-client's
multiprocess mode), prepared before any process imports prometheus_client: the mode is chosen
at that import, from PROMETHEUS_MULTIPROC_DIR. No prometheus_client import here."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_PID_FILE = re.compile(r".+_(\d+)\.db")
_SERVE_DIR = re.compile(r"serve-(\d+)")


def process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def remove_dead_process_files(directory: Path) -> int:
    """Delete the metric files of processes that are gone (a previous run's, a crashed
    worker's before its folder is reused); returns how many."""
    removed = 0
    for file in directory.glob("*.db"):
        match = _PID_FILE.fullmatch(file.name)
        if match and not process_alive(int(match.group(1))):
            with contextlib.suppress(FileNotFoundError):
                file.unlink()
                removed += 1
    return removed


def prepare_multiprocess_dir(data_dir: Path) -> Path:
    """Point PROMETHEUS_MULTIPROC_DIR at this server's folder (data_dir/metrics/serve-PID, or
    the operator's own), emptied of dead processes' files, and forget the folders of servers
    that are gone. Call before anything imports prometheus_client's metrics."""
    configured = os.environ.get(MULTIPROC_ENV)
    if configured:
        directory = Path(configured)
    else:
        parent = data_dir / "metrics"
        parent.mkdir(parents=True, exist_ok=True)
        for old in parent.iterdir():
            match = _SERVE_DIR.fullmatch(old.name)
            if old.is_dir() and match and not process_alive(int(match.group(1))):
                shutil.rmtree(old, ignore_errors=True)
        directory = parent / f"serve-{os.getpid()}"
        os.environ[MULTIPROC_ENV] = str(directory)
    directory.mkdir(parents=True, exist_ok=True)
    remove_dead_process_files(directory)
    return directory


def forget_multiprocess_dir(directory: Path) -> None:
    """The server stopped: its folder goes (unless the operator named it)."""
    if directory.name.startswith("serve-"):
        shutil.rmtree(directory, ignore_errors=True)
