"""The load test's viewers (bench/load/locustfile.py) load in locust; the load itself runs only
from bench/load/run.py, never in the suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LOCUSTFILE = Path(__file__).resolve().parents[2] / "bench" / "load" / "locustfile.py"


def test_the_load_tests_viewers_load_in_locust() -> None:
    # In a child process: importing locust patches sockets and threads for the whole process.
    listed = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--list"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert "BingeViewer" in listed.stdout
