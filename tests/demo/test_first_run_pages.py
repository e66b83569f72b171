"""What the pages say on a first run while the demo is still being prepared (no ffmpeg: the
seed's status file is written as a running seed writes it)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from microdrama.config import Settings
from microdrama.demo.status import SeedStatus, write_status


def _preparing(settings: Settings) -> None:
    write_status(
        settings.data_dir,
        SeedStatus(
            running=True, episodes_ready=3, episodes_total=85, transcoding=2, series_total=24
        ),
    )


def test_an_empty_discover_says_the_demo_is_coming_while_it_is_prepared(
    client: TestClient, settings: Settings
) -> None:
    _preparing(settings)
    page = client.get("/discover").text
    assert "Your demo is on its way" in page
    assert "<span data-demo-ready>3</span> of <span data-demo-total>85</span> episodes" in page
    assert "js/demo_progress.js" in page  # the page follows the seed and fills in by itself
    assert "seed-demo" not in page  # not told to run what is already running


def test_an_empty_discover_without_a_seed_says_how_to_get_series(client: TestClient) -> None:
    page = client.get("/discover").text
    assert 'data-testid="discover-empty"' in page
    assert "microdrama seed-demo" in page
    assert "demo_progress.js" not in page
