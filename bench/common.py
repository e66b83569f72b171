"""Shared pieces of the benchmark scripts: ports, servers, wrk, catalog rows, JSON output.

Every script runs on its own with `.venv/bin/python bench/NAME.py`, only talks to 127.0.0.1,
cleans up what it started, and ends with one JSON line for machines.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "bench"
PYTHON = sys.executable


def require_tool(name: str, install_hint: str) -> str:
    """The tool's path, or exit with how to install it."""
    path = shutil.which(name)
    if path is None:
        sys.exit(f"{name} is needed for this benchmark; install it with: {install_hint}")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_http(
    url: str, timeout_s: float = 30.0, process: subprocess.Popen[Any] | None = None
) -> None:
    """Poll until the URL answers (any HTTP status), the process dies, or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout_s} s")


@contextmanager
def running(
    command: Sequence[str], *, ready_url: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server subprocess until the block ends (SIGTERM, then SIGKILL after 10 s)."""
    process = subprocess.Popen(
        list(command),
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        # Its own process group: the stop below reaches workers it forks (nginx), and a
        # Ctrl-C at the terminal reaches only this script, which then stops it.
        start_new_session=True,
    )
    try:
        try:
            wait_for_http(ready_url, process=process)
        except Exception:
            _stop(process)
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"{command[0]} did not start:\n{err[-2000:]}") from None
        yield process
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@dataclass
class WrkResult:
    url: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    transfer_mib_per_s: float
    p95_ms: float = float("nan")


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_UNITS_BYTES = {"B": 1 / 1024**2, "KB": 1 / 1024, "MB": 1.0, "GB": 1024.0}
# wrk prints 50/75/90/99 %; its Lua `done` hook prints 95 % too (in microseconds).
_DONE = """
done = function(summary, latency, requests)
  io.write(string.format("p95_us %d\\n", latency:percentile(95)))
end
"""
# Requests taken in turn, each a path and its own headers (one Lua state per wrk thread: each
# thread starts at its own share of the list, so two threads do not send the same request at
# the same time).
_IN_TURN = """
local paths = {PATHS}
local extra = {HEADERS}
local headers = {}
local threads = 0
setup = function(thread)
  thread:set("offset", threads)
  threads = threads + 1
end
init = function(args)
  for i, line in ipairs(extra) do
    local h = {}
    for k, v in pairs(wrk.headers) do h[k] = v end
    local name, value = line:match("^([^:]+):%s*(.*)$")
    if name then h[name] = value end
    headers[i] = h
  end
end
local n = nil
request = function()
  if n == nil then n = (offset or 0) * math.floor(#paths / THREADS) end
  n = n + 1
  local i = (n - 1) % #paths + 1
  return wrk.format(nil, paths[i], headers[i])
end
"""


def _in_turn(paths: Sequence[str], headers: Sequence[str], threads: int) -> str:
    return (
        _IN_TURN.replace("{PATHS}", "{" + ", ".join(map(_lua_string, paths)) + "}")
        .replace("{HEADERS}", "{" + ", ".join(map(_lua_string, headers)) + "}")
        .replace("THREADS", str(threads))
    )


def _ms(text: str) -> float:
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run_wrk(
    url: str,
    *,
    connections: int = 50,
    threads: int = 2,
    seconds: int = 10,
    header: str = "",
    paths: Sequence[str] = (),
    headers: Sequence[str] = (),
    timeout_s: int = 2,
) -> WrkResult:
    """`wrk --latency` against one URL, parsed; non-2xx/3xx answers and socket errors count
    (a request unanswered after `timeout_s`, wrk's default 2 s, is a timeout error and out of
    the latencies). With `paths`, the requests go to those paths of the URL's server in turn;
    with `headers` too ("Name: value", one for each path), each path with its header."""
    wrk = require_tool("wrk", "sudo apt-get install wrk")
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command += [f"--timeout={timeout_s}s"]
    if header:
        command += ["-H", header]
    if headers and len(headers) != len(paths):
        raise ValueError("one header for each path")
    lua = _DONE + (_in_turn(paths, headers or [""] * len(paths), threads) if paths else "")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="md-wrk-") as script:
        script.write(lua)
        script.flush()
        out = subprocess.run(
            [*command, "-s", script.name, url],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, flags=re.M))
    p95 = re.search(r"^p95_us (\d+)$", out, flags=re.M)
    rps = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    transfer = re.search(r"Transfer/sec:\s+([0-9.]+)(B|KB|MB|GB)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    if not (rps and total and "50" in latency and "99" in latency):
        raise RuntimeError(f"could not read wrk output:\n{out}")
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if sockets:
        errors += sum(int(n) for n in sockets.groups())
    return WrkResult(
        url=url,
        requests_per_s=float(rps.group(1)),
        p50_ms=_ms(latency["50"]),
        p99_ms=_ms(latency["99"]),
        requests=int(total.group(1)),
        errors=errors,
        transfer_mib_per_s=(
            float(transfer.group(1)) * _UNITS_BYTES[transfer.group(2)] if transfer else 0.0
        ),
        p95_ms=int(p95.group(1)) / 1000 if p95 else float("nan"),
    )


def wrk_row(label: str, result: WrkResult, baseline: WrkResult | None = None) -> str:
    ratio = f"{result.requests_per_s / baseline.requests_per_s:6.3f}x" if baseline else "    base"
    return (
        f"{label:<28} {result.requests_per_s:>9.0f} req/s  p50 {result.p50_ms:6.2f} ms  "
        f"p95 {result.p95_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  "
        f"{result.transfer_mib_per_s:8.1f} MiB/s  {ratio}"
        + (f"  errors {result.errors}" if result.errors else "")
    )


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def emit_json(benchmark: str, **figures: Any) -> None:
    """The last line of every benchmark: one JSON object for scripts and CI to read."""
    clean = {k: asdict(v) if isinstance(v, WrkResult) else v for k, v in figures.items()}
    print(json.dumps({"benchmark": benchmark, **clean}, sort_keys=True))


def migrated_sqlite(data_dir: Path) -> str:
    """A fresh SQLite database in data_dir at the newest revision; returns its URL."""
    from microdrama.db import make_engine, upgrade_database

    data_dir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{data_dir / 'microdrama.db'}"
    engine = make_engine(url)
    upgrade_database(engine)
    engine.dispose()
    return url


def seed_catalog_rows(
    database_url: str, *, series: int = 6, episodes: int = 30, duration_ms: int = 90_000
) -> list[int]:
    """Published series whose episodes look transcoded (rows only, no media); their ids."""
    from microdrama.accounts import service as accounts_service
    from microdrama.accounts.models import Role
    from microdrama.catalog import service as catalog_service
    from microdrama.catalog.schemas import SeriesCreate
    from microdrama.catalog.videos import sync_episodes_with_asset
    from microdrama.db import make_engine, make_sessionmaker, session_scope
    from microdrama.media.models import AssetStatus, MediaAsset

    engine = make_engine(database_url)
    ids: list[int] = []
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            owner = accounts_service.create_account(
                db=db, display_name="Bench Studio", role=Role.creator
            )
            for s in range(series):
                data = SeriesCreate(
                    title=f"Bench Series {s + 1}",
                    synopsis="A series of rows for measuring the API. " * 4,
                    genre="romance",
                    tags=["contract marriage", "billionaire", "slow burn"],
                    content_warnings=["peril"],
                    free_episodes=5,
                    episode_price_coins=80,
                    accent_color="#ff5d8f",
                )
                row = catalog_service.create_series(db=db, owner=owner, data=data)
                for n in range(1, episodes + 1):
                    prefix = f"assets/bench-{s}-{n}/hls"
                    asset = MediaAsset(
                        owner_id=owner.id,
                        status=AssetStatus.ready,
                        source_key=f"assets/bench-{s}-{n}/source/original.mp4",
                        duration_ms=duration_ms,
                        master_playlist_key=f"{prefix}/master.m3u8",
                        poster_key=f"{prefix}/poster.jpg",
                        renditions=[],
                        thumbnails=[{"time_ms": 0, "key": f"{prefix}/thumbs/thumb_01.jpg"}],
                    )
                    db.add(asset)
                    db.flush()
                    catalog_service.add_episode(
                        db=db, series=row, media_asset_id=asset.id, title=f"Episode {n}", number=n
                    )
                    sync_episodes_with_asset(db=db, asset=asset)
                catalog_service.publish(db=db, series=row)
                ids.append(row.id)
    finally:
        engine.dispose()
    return ids


def uvicorn_command(port: int, factory: str = "bench_app:create_bench_app") -> list[str]:
    """The app under uvicorn as `microdrama serve` runs it (one process, no access log)."""
    return [
        PYTHON, "-m", "uvicorn", factory, "--factory",
        "--app-dir", str(BENCH_DIR),
        "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip


def app_env(data_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
    return {
        "MICRODRAMA_DATA_DIR": str(data_dir),
        "MICRODRAMA_DATABASE_URL": database_url,
        "MICRODRAMA_EMBEDDED_WORKER": "false",
        **extra,
    }


def render_source_clip(
    path: Path, *, width: int, height: int, seconds: float, fps: int = 30
) -> Path:
    """A demo episode (the seed's generator) to feed the pipeline."""
    from microdrama.demo.clips import ClipSpec, render_clip

    spec = ClipSpec(
        series_title="Contract Bride of the Midnight CEO",
        episode_number=3,
        episode_title="The Ring in the Rain",
        dialogue="You signed the contract. You don't get to leave.",
        scene="Penthouse, 2:14 a.m.",
        look="rose",
        seconds=seconds,
        width=width,
        height=height,
        fps=fps,
    )
    return render_clip(spec, path)


@dataclass
class PipelineRun:
    asset_id: int
    job_id: int
    ingest_s: float
    job_s: float
    master_playlist_key: str
    renditions: list[dict[str, Any]]
    # Set when the source was uploaded as the first episode of a published series.
    episode_id: int | None = None


def run_pipeline(settings: Any, source: Path, *, as_episode: bool = False) -> PipelineRun:
    """ingest_upload then Worker.run_next_job in this process, as the upload route and a worker do.

    With `as_episode`, the source is uploaded as episode 1 (free) of a new series through
    catalog.videos.upload_episode, and the series is published once the episode is ready.
    """
    from microdrama.accounts import service as accounts_service
    from microdrama.accounts.models import Role
    from microdrama.catalog import service as catalog_service
    from microdrama.catalog import videos
    from microdrama.catalog.schemas import SeriesCreate
    from microdrama.db import make_engine, make_sessionmaker, session_scope
    from microdrama.media import jobs, service
    from microdrama.object_storage import open_storage

    engine = make_engine(settings.effective_database_url)
    sessions = make_sessionmaker(engine)
    storage = open_storage(settings)
    series_id = episode_id = None
    try:
        with session_scope(sessions) as db:
            owner = accounts_service.create_account(
                db=db, display_name="Bench Creator", role=Role.creator
            )
            if as_episode:
                series = catalog_service.create_series(
                    db=db, owner=owner, data=SeriesCreate(title="Bench Series")
                )
                series_id = series.id
        started = time.perf_counter()
        with session_scope(sessions) as db:
            owner = accounts_service.get(db=db, account_id=owner.id)
            assert owner is not None
            if series_id is not None:
                series = catalog_service.get(db=db, series_id=series_id)
                assert series is not None
                episode, asset, job = videos.upload_episode(
                    db=db,
                    storage=storage,
                    settings=settings,
                    series=series,
                    owner=owner,
                    filename=source.name,
                    source=source,
                    number=1,
                )
                episode_id = episode.id
            else:
                asset, job = service.ingest_upload(
                    db=db,
                    storage=storage,
                    settings=settings,
                    owner=owner,
                    filename=source.name,
                    source=source,
                )
            asset_id, job_id = asset.id, job.id
        ingested = time.perf_counter()
        worker = jobs.Worker(sessions=sessions, storage=storage, settings=settings)
        worked = worker.run_next_job(worker_id="bench")
        finished = time.perf_counter()
        with session_scope(sessions) as db:
            job = service.get_job(db=db, job_id=job_id)
            if not worked or job.state.value != "done":
                raise RuntimeError(f"transcode job {job_id} ended {job.state.value}: {job.error}")
            key = job.asset.master_playlist_key or ""
            renditions = list(job.asset.renditions)
            if series_id is not None:
                series = catalog_service.get(db=db, series_id=series_id)
                assert series is not None
                catalog_service.publish(db=db, series=series)
        return PipelineRun(
            asset_id=asset_id,
            job_id=job_id,
            ingest_s=ingested - started,
            job_s=finished - ingested,
            master_playlist_key=key,
            renditions=renditions,
            episode_id=episode_id,
        )
    finally:
        engine.dispose()


# -- a generated catalog (bench/search.py, bench/api.py) ---------------------------------------
# Titles of 2 to 5 words drawn from micro-drama tropes and made-up words in English, Spanish,
# Portuguese, German and Vietnamese; synopses of 25 to 40 words, 2 to 4 tags, 20 genres, one
# creator per 20 series, one ready episode each (a tenth with a second one still transcoding)
# and about 20 viewers per series in the last week (of 500), each watching its first episode.

TROPES = [
    "vampire",
    "billionaire",
    "bride",
    "contract",
    "marriage",
    "ceo",
    "revenge",
    "wife",
    "secret",
    "baby",
    "alpha",
    "mate",
    "werewolf",
    "heiress",
    "twin",
    "mistaken",
    "identity",
    "second",
    "chance",
    "midnight",
    "queen",
    "king",
    "princess",
    "doctor",
    "boss",
    "love",
    "heart",
    "blood",
    "moon",
    "storm",
    "fire",
    "shadow",
    "divorce",
    "husband",
    "betrayal",
    "return",
    "café",
    "noche",
    "venganza",
    "corazón",
    "amor",
    "esposa",
    "segredo",
    "herdeira",
    "rache",
    "erbin",
    "đêm",
    "trăng",
    "máu",
]
GENRES = [f"genre{n:02d}" for n in range(20)]
LANGUAGES = ["en", "es", "pt", "de", "vi"]
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ra",
    "ne",
    "su",
    "ti",
    "va",
    "do",
    "re",
    "sa",
    "lu",
    "be",
    "no",
    "chi",
    "ma",
    "ri",
    "te",
    "zo",
    "an",
    "el",
    "or",
    "is",
    "ul",
]
CHUNK = 2_000


def _made_up(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def _vocabulary(rng: random.Random, size: int = 5_000) -> list[str]:
    return sorted({_made_up(rng) for _ in range(size)})


def _title(rng: random.Random, vocabulary: list[str]) -> str:
    words = [rng.choice(TROPES) if rng.random() < 0.6 else rng.choice(vocabulary)]
    words += [
        rng.choice(TROPES) if rng.random() < 0.5 else rng.choice(vocabulary)
        for _ in range(rng.randint(1, 4))
    ]
    return " ".join(w.capitalize() for w in words)


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 5:
        return word
    at = rng.randrange(1, len(word) - 1)
    return word[:at] + word[at + 1 :] if rng.random() < 0.5 else word[:at] + word[at] + word[at:]


def add_database_option(parser: argparse.ArgumentParser) -> None:
    """`--database`: the PostgreSQL server the benchmarks make their schemas on."""
    parser.add_argument(
        "--database",
        default=os.environ.get(
            "MICRODRAMA_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )


@contextmanager
def bench_database(backend: str, pg_base: str, prefix: str = "md_bench") -> Iterator[str]:
    """A fresh, migrated database of the backend (a temporary schema on PostgreSQL)."""
    from microdrama.db import make_engine, upgrade_database

    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"{prefix}-") as tmp:
            yield migrated_sqlite(Path(tmp))
        return
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(pg_base).update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = url.render_as_string(hide_password=False)
    engine = make_engine(rendered)
    upgrade_database(engine)
    engine.dispose()
    try:
        yield rendered
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _insert(conn: Any, table: Any, rows: list[dict[str, Any]]) -> list[Any]:
    ids: list[Any] = []
    for start in range(0, len(rows), CHUNK):
        result = conn.execute(
            insert(table).returning(table.id, sort_by_parameter_order=True),
            rows[start : start + CHUNK],
        )
        ids += list(result.scalars())
    return ids


def write_catalog(url: str, count: int, rng: random.Random) -> list[dict[str, Any]]:
    """The generated series as rows; answers what each query is drawn from."""
    import microdrama.models  # noqa: F401  (every table, for the foreign keys)
    from microdrama.accounts.models import Account, Role
    from microdrama.analytics.models import EpisodeView
    from microdrama.catalog.models import Episode, EpisodeState, Series, SeriesStatus
    from microdrama.db import make_engine, utcnow

    now = utcnow()
    vocabulary = _vocabulary(rng)
    engine = make_engine(url)
    with engine.begin() as conn:
        creators = [f"{_made_up(rng).capitalize()} Studio {n}" for n in range(max(1, count // 20))]
        creator_ids = _insert(
            conn,
            Account,
            [{"display_name": n, "role": Role.creator, "is_guest": False} for n in creators],
        )
        viewer_ids = _insert(
            conn, Account, [{"display_name": f"viewer {n}", "is_guest": True} for n in range(500)]
        )
        planned = []
        for _ in range(count):
            owner = rng.randrange(len(creators))
            planned.append(
                {
                    "title": _title(rng, vocabulary),
                    "synopsis": " ".join(
                        rng.choice(TROPES) if rng.random() < 0.2 else rng.choice(vocabulary)
                        for _ in range(rng.randint(25, 40))
                    ),
                    "genre": rng.choice(GENRES),
                    "tags": rng.sample(TROPES, rng.randint(2, 4)),
                    "language": rng.choice(LANGUAGES),
                    "owner_id": creator_ids[owner],
                    "status": SeriesStatus.published,
                    "published_at": now - timedelta(days=rng.uniform(1, 365)),
                    "free_episodes": rng.choice([0, 3, 5, 10]),
                    "creator": creators[owner],
                }
            )
        series_ids = _insert(
            conn, Series, [{k: v for k, v in p.items() if k != "creator"} for p in planned]
        )
        episodes = [
            {"series_id": s, "number": 1, "duration_ms": 90_000, "state": EpisodeState.ready}
            for s in series_ids
        ]
        episodes += [
            {"series_id": s, "number": 2, "duration_ms": 0, "state": EpisodeState.processing}
            for s in series_ids
            if rng.random() < 0.1
        ]
        episode_ids = _insert(conn, Episode, episodes)
        views = []
        for series_id, episode_id in zip(series_ids, episode_ids, strict=False):
            for viewer in rng.sample(viewer_ids, rng.randint(0, 40)):
                at = now - timedelta(hours=rng.uniform(1, 160))
                views.append(
                    {
                        "account_id": viewer,
                        "session_id": uuid.uuid4().hex,
                        "episode_id": episode_id,
                        "series_id": series_id,
                        "started_at": at,
                        "last_at": at,
                        "played": True,
                        # Watched to the end: a history For You learns from (bench/api.py).
                        "furthest_ms": 90_000,
                        "completed": True,
                    }
                )
        for start in range(0, len(views), CHUNK):
            conn.execute(insert(EpisodeView), views[start : start + CHUNK])
    engine.dispose()
    for plan, series_id in zip(planned, series_ids, strict=True):
        plan["id"] = series_id
    return planned


def search_queries(
    planned: list[dict[str, Any]], per_kind: int, rng: random.Random
) -> list[tuple[str, str, str | None, int | None]]:
    """Queries of seven kinds drawn from `per_kind` series: (kind, text, genre, the series it
    is meant to find or None). The exact title, its first word cut to 4 letters (typing), the
    title with a typo (a letter dropped or doubled) in each of its first two words, the
    creator's name, two letters, a word nothing has, and the title with its genre as a
    filter."""
    made: list[tuple[str, str, str | None, int | None]] = []
    for plan in rng.sample(planned, min(per_kind, len(planned))):
        words = plan["title"].split()
        made += [
            ("title", plan["title"], None, plan["id"]),
            ("typing", words[0][:4], None, None),
            ("typo", " ".join([*(_typo(rng, w) for w in words[:2]), *words[2:]]), None, plan["id"]),
            ("creator", plan["creator"], None, None),
            ("two letters", words[-1][:2], None, None),
            ("no match", "qwxzy", None, None),
            ("filtered", plan["title"], plan["genre"], plan["id"]),
        ]
    return made
