"""A viewer plays an episode whose video lives in an S3-compatible bucket (moto's S3 server over
HTTP): the server process knows only the bucket's URL, endpoint and credentials, and hands the
player segments from the bucket under /media and keys from its gated route."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from microdrama.config import Settings
from tests.support.browser import SQLITE_ONLY, SeriesPlan, Site, _context, _seed
from tests.support.s3 import s3_server
from tests.support.servers import running_server, server_env

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def bucket_site(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One published series of one short episode, stored in a bucket, served by uvicorn."""
    data_dir = tmp_path_factory.mktemp("bucket-site")
    with s3_server() as s3:
        bucket = s3.new_bucket()
        settings = Settings(
            environment="test",
            data_dir=data_dir,
            database_url=database_url,
            embedded_worker=False,
            ladder_heights=[320],
            x264_preset="ultrafast",
            **s3.settings(bucket),
        )
        plan = [SeriesPlan("Bucket Bride", "romance", "teal", [2.0])]
        seeded = _seed(settings, plan)
        assert s3.keys(bucket, "media/assets/")  # the videos are in the bucket...
        assert not settings.media_dir.exists()  # ...and not on this machine's disk
        env = server_env(
            database_url=database_url,
            data_dir=data_dir,
            MICRODRAMA_LADDER_HEIGHTS="[320]",
            **s3.env(bucket),
        )
        with running_server(env, data_dir / "server.log") as base_url:
            yield Site(base_url=base_url, data_dir=data_dir, series=seeded)


@pytest.fixture
def page(browser: Browser, bucket_site: Site) -> Iterator[Page]:
    context = _context(browser, bucket_site, phone=False)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


@SQLITE_ONLY
def test_viewer_plays_an_episode_stored_in_a_bucket(page: Page, bucket_site: Site) -> None:
    (episode_id,) = bucket_site.series["Bucket Bride"].episode_ids
    segments: list[str] = []
    page.on("response", lambda r: segments.append(r.url) if r.url.endswith(".ts") else None)

    page.goto(f"/watch/{episode_id}")

    page.wait_for_function(
        "() => window.__player && window.__player.video.currentTime > 0.3", timeout=WAIT_MS
    )
    expect(page.get_by_test_id("episode-label")).to_have_text(re.compile("Episode 1"))
    assert segments and all(f"{bucket_site.base_url}/media/assets/" in url for url in segments)
