"""First run: the app answers while the demo is seeded, shows how far it has got, and fills in."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from microdrama.cli import app as cli_app
from microdrama.config import Settings, get_settings
from microdrama.demo.background import BackgroundSeed, DemoSize
from microdrama.demo.catalog import DEMO_SERIES
from microdrama.demo.progress import PlainSeedProgress
from microdrama.demo.status import SeedProgress
from tests.support.servers import free_port, server_env

pytestmark = pytest.mark.slow

TINY = DemoSize(series=2, episodes=2, seconds=4.0, width=180, height=320)
WAIT_S = 180.0  # generous: ffmpeg shares 2 cores with the rest of the suite


class _HoldAfterFirstSeries(SeedProgress):
    """Holds the seed right after it published its first series, until the test lets go."""

    def __init__(self) -> None:
        self.first_published = threading.Event()
        self.go_on = threading.Event()

    def published(self, title: str) -> None:
        if not self.first_published.is_set():
            self.first_published.set()
            self.go_on.wait(WAIT_S)


def _wait_for(condition: object, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_feed_says_the_demo_is_being_prepared_then_shows_each_series_as_it_is_published(
    client: TestClient, settings: Settings
) -> None:
    hold = _HoldAfterFirstSeries()
    seed = BackgroundSeed(settings=settings, progress=hold, size=TINY, transcode_workers=1)
    first, second = DEMO_SERIES[0].title, DEMO_SERIES[1].title

    seed.start()
    try:
        _wait_for(lambda: client.get("/api/demo/progress").json()["preparing"], "the seed")
        page = client.get("/").text
        assert (
            "Preparing the demo:" in page and "of <span data-demo-total>4</span> episodes" in page
        )
        assert 'data-testid="feed-empty"' not in page  # not "No series yet"

        assert hold.first_published.wait(WAIT_S)
        progress = client.get("/api/demo/progress").json()
        assert progress["preparing"] and progress["series_published"] == 1
        assert progress["episodes_ready"] >= 2 and progress["episodes_total"] == 4
        page = client.get("/").text
        assert first in page and second not in page
        assert 'data-testid="demo-banner"' in page  # still preparing the rest
    finally:
        hold.go_on.set()
        seed.join(WAIT_S)

    assert seed.error is None and seed.result is not None and seed.result.ok
    assert client.get("/api/demo/progress").json() == {
        "preparing": False,
        "episodes_ready": 0,
        "episodes_total": 0,
        "transcoding": 0,
        "series_published": 0,
        "series_total": 0,
    }
    page = client.get("/").text
    assert "Preparing the demo" not in page
    # The first series of the catalog stays on top although it was published first.
    assert first in page and page.index(first) < page.index(second)


def test_without_a_terminal_the_seed_prints_a_progress_line_every_few_seconds() -> None:
    out = io.StringIO()
    progress = PlainSeedProgress(out, every_seconds=0)

    progress.start(episodes_total=24, episodes_to_render=24)
    progress.transcoding(done=9.4, running=["Contract Bride #10", "Contract Bride #11"])
    progress.transcoding(done=9.6, running=["Contract Bride #10", "Contract Bride #11"])
    progress.published("Contract Bride of the Midnight CEO")
    progress.finish()

    assert out.getvalue().splitlines() == [
        "seed: preparing 24 demo episodes (24 clips to render)",
        "seed: 9/24 episodes ready, 2 transcoding",  # said once, not again for the same figures
        "seed: Contract Bride of the Midnight CEO published (9/24 episodes ready)",
        "seed: ended with 9/24 episodes ready",
    ]


def test_seed_demo_on_a_new_data_folder_migrates_and_prints_plain_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MICRODRAMA_DATA_DIR", str(tmp_path / "new-data"))
    monkeypatch.delenv("MICRODRAMA_DATABASE_URL", raising=False)
    monkeypatch.setenv("MICRODRAMA_LADDER_HEIGHTS", "[320]")
    monkeypatch.setenv("MICRODRAMA_X264_PRESET", "ultrafast")
    get_settings.cache_clear()
    try:
        args = ["seed-demo", "--series", "1", "--episodes", "1", "--seconds", "2"]
        result = CliRunner().invoke(cli_app, args)
    finally:
        get_settings.cache_clear()

    assert result.exception is None, result.output
    assert result.exit_code == 0
    assert "seed: preparing 1 demo episodes" in result.output
    assert f"seed: {DEMO_SERIES[0].title} published" in result.output
    assert "published" in result.output.splitlines()[-2] or "clips rendered" in result.output


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # a first page compiles
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""
    except OSError:
        return 0, b""


def test_serve_answers_at_once_on_a_new_data_folder_and_publishes_the_demo_behind(
    tmp_path: Path,
) -> None:
    """`microdrama serve --seed-demo` as dev.sh runs it, output to a file (not a terminal)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_env(
        database_url="", data_dir=tmp_path / "new-data", MICRODRAMA_EMBEDDED_WORKER="true"
    )
    env.pop("MICRODRAMA_DATABASE_URL")  # the embedded SQLite default, not migrated yet
    log_path = tmp_path / "serve.log"
    command = [sys.executable, "-m", "microdrama.cli", "serve", "--seed-demo", "--port", str(port),
               "--demo-series", "2", "--demo-episodes", "2", "--demo-seconds", "4"]  # fmt: skip
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            _wait_for(lambda: _get(f"{base}/api/demo/progress")[0] == 200, "the server")
            status, body = _get(f"{base}/")
            assert status == 200
            assert b"Preparing the demo:" in body  # answering while the seed runs

            def both_published() -> bool:
                return b'"preparing":false' in _get(f"{base}/api/demo/progress")[1]

            _wait_for(both_published, "the demo")
            page = _get(f"{base}/")[1].decode()
            assert DEMO_SERIES[0].title in page and DEMO_SERIES[1].title in page
        finally:
            server.send_signal(signal.SIGTERM)  # as a service manager stops it
            return_code = server.wait(timeout=60)
    output = log_path.read_text()
    assert "seed: preparing 4 demo episodes" in output
    assert f"seed: {DEMO_SERIES[0].title} published" in output
    # The first run prints every role's login (as kept in the data folder) for the newcomer.
    kept = json.loads((tmp_path / "new-data" / "demo-logins.json").read_text())
    assert set(kept) == {"creator", "brand", "operator", "viewer"}
    for login in kept.values():
        assert login["email"] in output and login["password"] in output
    assert "Traceback" not in output
    assert return_code == 0
