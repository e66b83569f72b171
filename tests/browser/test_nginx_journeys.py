"""The production shape behind nginx: deploy/nginx's configuration in front of two
`microdrama serve` processes and a separate `microdrama worker`, all real processes.

The worker process transcodes the uploaded episodes; the viewer's and the paywall's journeys
(the same test functions as in test_viewer_journeys.py and test_paywall_journeys.py) run in
Chromium through nginx; segments come from the media folder through nginx itself, everything
else from both web processes, which see the client's own address.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from deploy.local_stack import running_web, running_workers, stack_env
from deploy.nginx.render import free_port, running_nginx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from microdrama.config import Settings
from microdrama.media.models import JobState, TranscodeJob
from tests.browser import test_paywall_journeys as paywall_journeys
from tests.browser import test_viewer_journeys as viewer_journeys
from tests.support.browser import SeriesPlan, Site, _seed
from tests.support.database import PG_URL
from tests.support.servers import server_env

# The stack costs half a minute a backend: PostgreSQL, the production database, when the suite
# has it (the same journeys run on SQLite without nginx), SQLite otherwise.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["postgresql" if PG_URL else "sqlite"], indirect=True),
]

# The series the imported journeys expect, published in this order (the feed is newest first).
PLAN = [
    SeriesPlan(paywall_journeys.SERIES, "revenge", "maroon", [3.0] * 4, free_episodes=2),
    SeriesPlan("Contract Bride", "romance", "teal", [4.0, 4.0, 4.0]),
    SeriesPlan("Alpha's Secret", "fantasy", "purple", [4.0, 4.0]),
]
FAILURES_PER_ADDRESS = 2


@dataclass
class Stack:
    site: Site
    web_urls: list[str]
    access_log: Path


def _transcoded_by(
    workers: list[subprocess.Popen[bytes]],
) -> Callable[[sessionmaker[Session]], None]:
    def wait(sessions: sessionmaker[Session]) -> None:
        """Until the worker processes have done every queued job."""
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert all(worker.poll() is None for worker in workers), "a worker process died"
            with sessions() as db:
                states = set(db.scalars(select(TranscodeJob.state)))
            assert JobState.failed not in states
            if states <= {JobState.done}:
                return
            time.sleep(0.2)
        raise TimeoutError("the worker process did not finish the transcodes in 3 minutes")

    return wait


@pytest.fixture(scope="module")
def stack(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir = tmp_path_factory.mktemp("nginx-stack")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = server_env(
        database_url=database_url,
        data_dir=data_dir,
        **stack_env(data_dir=data_dir, database_url=database_url, public_url=base_url),
        MICRODRAMA_WORKER_POLL_SECONDS="0.2",
        MICRODRAMA_LOGIN_MAX_FAILURES_PER_PAIR=str(FAILURES_PER_ADDRESS),
    )
    settings = Settings(
        environment="test", data_dir=data_dir, database_url=database_url, embedded_worker=False
    )
    with ExitStack() as processes:
        workers = processes.enter_context(
            running_workers(env=env, count=1, log_dir=data_dir / "logs")
        )
        # Ready once a static file answers: they read nothing of the catalog before it is in.
        web_urls = processes.enter_context(running_web(env=env, count=2, log_dir=data_dir / "logs"))
        seeded = _seed(settings, PLAN, transcode=_transcoded_by(workers))
        nginx_dir = data_dir / "nginx"
        processes.enter_context(
            running_nginx(
                nginx_dir,
                media_dir=settings.media_dir.resolve(),
                app_servers=[url.removeprefix("http://") for url in web_urls],
                port=port,
            )
        )
        yield Stack(
            site=Site(base_url=base_url, data_dir=data_dir, series=seeded),
            web_urls=web_urls,
            access_log=nginx_dir / "access.log",
        )


@pytest.fixture(scope="module")
def site(stack: Stack) -> Site:
    """The journeys' site is nginx's address."""
    return stack.site


# The journeys themselves, unchanged, through nginx.
test_feed_plays_through_nginx = viewer_journeys.test_feed_opens_on_a_playing_series_with_its_length
test_next_episode_starts_by_itself_through_nginx = (
    viewer_journeys.test_next_episode_starts_by_itself_when_one_ends
)
test_paywall_buy_unlock_and_play_through_nginx = (
    paywall_journeys.test_guest_hits_the_paywall_buys_coins_unlocks_and_the_episode_plays
)


def _get(
    url: str, path: str, *, source: str = "127.0.0.1", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30, source_address=(source, 0))
    try:
        connection.request("GET", path, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        connection.close()


def _fail_sign_in(url: str, *, source: str, forwarded_for: str | None = None) -> int:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30, source_address=(source, 0))
    headers = {"Content-Type": "application/json"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    body = json.dumps({"email": "nobody@example.com", "password": "not the password"})
    try:
        connection.request("POST", "/api/auth/login", body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def test_segments_are_nginx_files_with_long_cache_and_the_rest_is_the_app(stack: Stack) -> None:
    media = stack.site.data_dir / "media"
    segment = next(media.glob("assets/*/hls/*/*.ts"))
    playlist = next(media.glob("assets/*/hls/*/index.m3u8"))
    source = next(media.glob("assets/*/source/*"))
    url = stack.site.base_url

    status, headers, body = _get(url, f"/media/{segment.relative_to(media).as_posix()}")
    assert (status, headers["content-type"]) == (200, "video/mp2t")
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    assert body == segment.read_bytes()
    status, headers, body = _get(
        url, f"/media/{segment.relative_to(media).as_posix()}", headers={"Range": "bytes=0-187"}
    )
    assert (status, len(body), headers["content-range"][:12]) == (206, 188, "bytes 0-187/")

    # Stored playlists (their key line unbound) and uploaded originals stay behind the app.
    for private in (playlist, source):
        status, _headers, _body = _get(url, f"/media/{private.relative_to(media).as_posix()}")
        assert status == 404
    # A key only with a token from a gated playlist: the app's answer, through nginx.
    episode = stack.site.series["Contract Bride"].episode_ids[0]
    status, headers, body = _get(url, f"/api/keys/{episode}")
    assert status == 401
    assert json.loads(body)["error"] == "key_token_missing"


def test_the_app_counts_sign_ins_by_the_address_nginx_saw(stack: Stack) -> None:
    url = stack.site.base_url
    # One client (127.0.0.2) guesses until its limit holds, whichever web process answers...
    tries = [_fail_sign_in(url, source="127.0.0.2") for _ in range(FAILURES_PER_ADDRESS + 1)]
    assert tries == [401] * FAILURES_PER_ADDRESS + [429]
    # ...claiming another address does not help: nginx says who connected...
    assert _fail_sign_in(url, source="127.0.0.2", forwarded_for="198.51.100.9") == 429
    # ...and another client behind the same nginx is not held back.
    assert _fail_sign_in(url, source="127.0.0.3") == 401


def test_both_web_processes_answered_and_nginx_served_every_segment(stack: Stack) -> None:
    deadline = time.monotonic() + 10  # the access log is flushed every second
    while True:
        lines = stack.access_log.read_text().splitlines()
        segments = [line for line in lines if re.search(r"GET /media/\S+\.ts ", line)]
        api = [line for line in lines if '"GET /api/' in line or '"POST /api/' in line]
        upstreams = {m.group(1) for line in api if (m := re.search(r"upstream=(\S+)", line))}
        expected = {u.removeprefix("http://") for u in stack.web_urls}
        if (segments and upstreams >= expected) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert segments, "the players fetched no segment through nginx"
    assert all("upstream=-" in line for line in segments), segments[:3]
    assert upstreams >= expected
