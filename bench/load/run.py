"""Load test: simulated viewers bingeing against the stack, headless locust, loopback only.

    .venv/bin/python bench/load/run.py [--config nginx-pg|embedded|both] [--users 1000]
        [--spawn-rate 100] [--seconds 90]

Two configurations, each on a fresh database and media folder:
  nginx-pg  two `microdrama serve` processes and a `microdrama worker` on PostgreSQL (a
            temporary schema of MICRODRAMA_BENCH_DATABASE_URL's server), behind nginx with
            deploy/nginx's configuration (deploy/local_stack.py);
  embedded  the default: one `microdrama serve` on SQLite with its embedded worker, serving
            the media itself.

A small catalog is made first and transcoded by the configuration's own worker (4 series of
6 episodes of 6 s, the first 3 free at 60 coins an episode, one 640p rung). Then locust runs
`--users` viewers (bench/load/locustfile.py: feed, series, access, playlists, key, segments at
the pace of playback, events, progress, unlock, a purchase now and then) for `--seconds`;
statistics are reset once every viewer has started, so they describe the steady state. The
script prints requests/s, p50/p95/p99 per step and the errors, the CPU each part of the stack
used (web, worker, nginx, PostgreSQL, locust itself), and ends with one JSON line. Every
process it starts is stopped at the end; nothing but 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy.engine import make_url

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from common import bench_database, emit_json  # noqa: E402
from deploy.local_stack import (  # noqa: E402
    microdrama_command,
    running_process,
    running_stack,
    stack_env,
    wait_until_answering,
)
from deploy.nginx.render import free_port  # noqa: E402

SERIES = 4
EPISODES = 6
EPISODE_SECONDS = 6
FREE_EPISODES = 3
PRICE_COINS = 60
# Steps in the order a viewer takes them.
STEPS = [
    "feed", "series", "access", "master playlist", "rendition playlist", "key", "segment",
    "events", "progress", "purchase", "checkout (pay)", "unlock",
]  # fmt: skip


@dataclass
class Target:
    base_url: str
    # The processes whose CPU is counted, by part of the stack (asked again at the end: a
    # PostgreSQL backend may start during the run).
    parts: dict[str, Callable[[], list[int]]]
    data_dir: Path
    database_url: str


def _clip(path: Path, seconds: int, color: str) -> Path:
    """A small vertical source with sound (ffmpeg's test sources)."""
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=s=360x640:r=24:d={seconds}",
         "-f", "lavfi", "-i", f"sine=f=440:d={seconds}",
         "-vf", f"drawbox=x=0:y=0:w=360:h=80:color={color}:t=fill",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", str(path)],
        check=True,
    )  # fmt: skip
    return path


def seed_catalog(data_dir: Path, database_url: str, clips_dir: Path) -> int:
    """Series uploaded as a creator's would be; the target's own worker transcodes them.
    Returns the number of transcode jobs queued."""
    from microdrama.accounts import service as accounts
    from microdrama.accounts.models import Role
    from microdrama.catalog import service as catalog
    from microdrama.catalog.schemas import SeriesCreate
    from microdrama.catalog.videos import upload_episode
    from microdrama.config import Settings
    from microdrama.db import make_engine, make_sessionmaker, session_scope
    from microdrama.storage import LocalStorage

    settings = Settings(data_dir=data_dir, database_url=database_url, embedded_worker=False)
    engine = make_engine(settings.effective_database_url)
    storage = LocalStorage(settings.media_dir, settings.media_url_prefix)
    colors = ["red", "blue", "green", "purple", "orange", "teal"]
    jobs = 0
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            owner = accounts.create_account(db=db, display_name="Load Studio", role=Role.creator)
            for s in range(SERIES):
                series = catalog.create_series(
                    db=db,
                    owner=owner,
                    data=SeriesCreate(
                        title=f"Load Series {s + 1}",
                        genre="romance",
                        synopsis="A series made for the load test.",
                        free_episodes=FREE_EPISODES,
                        episode_price_coins=PRICE_COINS,
                    ),
                )
                for n in range(EPISODES):
                    clip = clips_dir / f"clip-{n}.mp4"
                    if not clip.exists():
                        _clip(clip, EPISODE_SECONDS, colors[n % len(colors)])
                    upload_episode(
                        db=db,
                        storage=storage,
                        settings=settings,
                        series=series,
                        owner=owner,
                        filename=clip.name,
                        source=clip,
                    )
                    jobs += 1
    finally:
        engine.dispose()
    return jobs


def publish_when_transcoded(data_dir: Path, database_url: str, timeout_s: float = 600) -> None:
    from sqlalchemy import select

    from microdrama.catalog import service as catalog
    from microdrama.catalog.models import Series
    from microdrama.config import Settings
    from microdrama.db import make_engine, make_sessionmaker, session_scope
    from microdrama.media.models import JobState, TranscodeJob

    settings = Settings(data_dir=data_dir, database_url=database_url, embedded_worker=False)
    engine = make_engine(settings.effective_database_url)
    factory = make_sessionmaker(engine)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            with session_scope(factory) as db:
                states = list(db.scalars(select(TranscodeJob.state)))
            if JobState.failed in states:
                raise RuntimeError("a transcode failed: see the worker's log")
            if all(state == JobState.done for state in states):
                break
            if time.monotonic() > deadline:
                raise TimeoutError("the catalog was not transcoded in time")
            time.sleep(0.5)
        with session_scope(factory) as db:
            for series in db.scalars(select(Series).order_by(Series.id)):
                catalog.publish(db=db, series=series)
    finally:
        engine.dispose()


def _tree(pid: int) -> list[int]:
    try:
        process = psutil.Process(pid)
        return [pid, *(child.pid for child in process.children(recursive=True))]
    except psutil.NoSuchProcess:
        return []


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    seconds = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        seconds[pid] = times.user + times.system
    return seconds


def _cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two readings (a process that started in between, from zero)."""
    return sum(used - before.get(pid, 0.0) for pid, used in after.items())


def _backends_of(clients: list[int], pg_port: int) -> list[int]:
    """The PostgreSQL backends serving these processes' connections (a backend's title names
    its client's address and port: "postgres: ... 127.0.0.1(47498) idle")."""
    ports = set()
    for pid in clients:
        try:
            connections = psutil.Process(pid).net_connections(kind="tcp")
        except psutil.NoSuchProcess:
            continue
        ports |= {c.laddr.port for c in connections if c.raddr and c.raddr.port == pg_port}
    backends = []
    for process in psutil.process_iter(["name", "cmdline"]):
        title = " ".join(process.info["cmdline"] or [])
        if process.info["name"] == "postgres" and any(f"({port})" in title for port in ports):
            backends.append(process.pid)
    return backends


@contextmanager
def nginx_pg_target(pg_base: str, users: int, keep: bool) -> Iterator[Target]:
    with ExitStack() as stack:
        tmp = _work_dir(stack, keep)
        os.chmod(tmp, 0o755)
        data_dir = tmp / "data"
        data_dir.mkdir()
        database_url = stack.enter_context(bench_database("postgresql", pg_base, "md_load"))
        served = stack.enter_context(
            running_stack(
                data_dir=data_dir,
                database_url=database_url,
                web=2,
                workers=1,
                extra_env=_load_env(users),
                nginx_workers=1,
            )
        )
        print(f"nginx-pg: nginx {served.base_url} -> {', '.join(served.web_urls)}", flush=True)
        web_pids = [p.pid for p in psutil.process_iter(["cmdline"]) if _serves(p, served.web_urls)]
        worker_pids = [w.pid for w in served.workers]
        nginx_pid = int((served.nginx_dir / "nginx.pid").read_text())
        yield Target(
            base_url=served.base_url,
            parts={
                "web (2 processes)": lambda: [pid for w in web_pids for pid in _tree(w)],
                "worker": lambda: worker_pids,
                "nginx": lambda: _tree(nginx_pid),
                "postgresql (this stack's backends)": lambda: _backends_of(
                    web_pids + worker_pids, make_url(pg_base).port or 5432
                ),
            },
            data_dir=data_dir,
            database_url=database_url,
        )


def _serves(process: psutil.Process, urls: list[str]) -> bool:
    cmdline = process.info.get("cmdline") or []
    if "serve" not in cmdline or "--port" not in cmdline:
        return False
    port = cmdline[cmdline.index("--port") + 1]
    return any(url.endswith(f":{port}") for url in urls)


def _work_dir(stack: ExitStack, keep: bool) -> Path:
    """The target's data folder: removed at the end unless kept (its logs are in logs/)."""
    if keep:
        path = Path(tempfile.mkdtemp(prefix="md-load-"))
        print(f"data, logs and locust's CSV files kept in {path}", flush=True)
        return path
    return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="md-load-")))


@contextmanager
def embedded_target(users: int, keep: bool) -> Iterator[Target]:
    with ExitStack() as stack:
        tmp = _work_dir(stack, keep)
        data_dir = tmp / "data"
        data_dir.mkdir()
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = {
            **stack_env(data_dir=data_dir, database_url="", public_url=base_url),
            # The embedded default: the worker runs inside the one web process.
            "MICRODRAMA_EMBEDDED_WORKER": "true",
            **_load_env(users),
        }
        server = stack.enter_context(
            running_process(
                microdrama_command("serve", "--host", "127.0.0.1", "--port", str(port)),
                env=env,
                log_path=data_dir / "logs" / "serve.log",
            )
        )
        wait_until_answering(f"{base_url}/static/favicon.ico", server)
        print(f"embedded: {base_url} (SQLite, embedded worker)", flush=True)
        yield Target(
            base_url=base_url,
            parts={"web + embedded worker (1 process)": lambda: _tree(server.pid)},
            data_dir=data_dir,
            database_url=f"sqlite:///{(data_dir / 'microdrama.db').resolve()}",
        )


def _load_env(users: int) -> dict[str, str]:
    return {
        "MICRODRAMA_LADDER_HEIGHTS": "[640]",
        "MICRODRAMA_X264_PRESET": "ultrafast",
        "MICRODRAMA_WORKER_POLL_SECONDS": "0.2",
        # Every simulated viewer is a guest from 127.0.0.1: no sign-in happens here, but keep
        # the per-address limits out of the measurement all the same.
        "MICRODRAMA_LOGIN_MAX_FAILURES_PER_IP": str(max(50, users)),
    }


def run_locust(
    base_url: str, *, users: int, spawn_rate: float, seconds: int, out_dir: Path
) -> tuple[dict[str, dict[str, Any]], list[dict[str, str]], float]:
    """Headless locust against base_url; returns per-step stats, failures and its CPU time."""
    prefix = out_dir / "locust"
    ramp_s = users / spawn_rate
    command = [
        sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless",
        "--host", base_url, "--users", str(users), "--spawn-rate", str(spawn_rate),
        "--run-time", f"{int(ramp_s + seconds)}s", "--reset-stats", "--stop-timeout", "5",
        "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    with (out_dir / "locust.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=HERE)
        try:
            process.wait(timeout=ramp_s + seconds + 120)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    # Reaped, its CPU time is in this process's children's times.
    cpu = os.times().children_user + os.times().children_system
    stats = {}
    with open(f"{prefix}_stats.csv", newline="") as f:
        for row in csv.DictReader(f):
            stats[row["Name"]] = row
    with open(f"{prefix}_failures.csv", newline="") as f:
        failures = list(csv.DictReader(f))
    return stats, failures, cpu


def measure(
    name: str, target: Target, *, users: int, spawn_rate: float, seconds: int, out_dir: Path
) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    before = {part: _cpu_seconds(pids()) for part, pids in target.parts.items()}
    children_before = os.times().children_user + os.times().children_system
    machine_before = psutil.cpu_times()
    started = time.monotonic()
    stats, failures, children_after = run_locust(
        target.base_url, users=users, spawn_rate=spawn_rate, seconds=seconds, out_dir=out_dir
    )
    wall = time.monotonic() - started
    machine_after = psutil.cpu_times()
    cores = {
        part: _cpu_used(before[part], _cpu_seconds(pids())) / wall
        for part, pids in target.parts.items()
    }
    cores["locust (load generator)"] = (children_after - children_before) / wall
    busy = sum(
        getattr(machine_after, f) - getattr(machine_before, f)
        for f in ("user", "system", "nice", "irq", "softirq")
    )
    cores["whole machine (incl. others' work)"] = busy / wall

    print(f"\n{name}: {users} viewers, {seconds} s after all started (wall {wall:.0f} s)")
    print(f"{'step':<20} {'requests':>9} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}"
          f" {'errors':>7}")  # fmt: skip
    rows = {}
    for step in [*STEPS, "Aggregated"]:
        row = stats.get(step)
        if row is None:
            continue
        figures = {
            "requests": int(row["Request Count"]),
            "requests_per_s": round(float(row["Requests/s"]), 1),
            "p50_ms": _ms(row["50%"]),
            "p95_ms": _ms(row["95%"]),
            "p99_ms": _ms(row["99%"]),
            "errors": int(row["Failure Count"]),
        }
        rows[step] = figures
        print(
            f"{'all steps' if step == 'Aggregated' else step:<20} {figures['requests']:>9} "
            f"{figures['requests_per_s']:>8.1f} {figures['p50_ms']:>7.0f} "
            f"{figures['p95_ms']:>7.0f} {figures['p99_ms']:>7.0f} {figures['errors']:>7}"
        )
    for failure in failures[:10]:
        print(f"  error x{failure['Occurrences']}: {failure['Name']}: {failure['Error'][:160]}")
    print("CPU used (cores, of the machine's 2):")
    for part, used in cores.items():
        print(f"  {part:<36} {used:5.2f}")
    return {
        "steps": rows,
        "cores": {k: round(v, 2) for k, v in cores.items()},
        "errors": rows.get("Aggregated", {}).get("errors"),
        "load_average": os.getloadavg()[0],
    }


def _ms(value: str) -> float:
    return float(value) if value not in ("", "N/A") else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", choices=["nginx-pg", "embedded", "both"], default="both")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--spawn-rate", type=float, default=50)
    parser.add_argument("--seconds", type=int, default=90, help="after every viewer started")
    parser.add_argument(
        "--pg",
        default=os.environ.get(
            "MICRODRAMA_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
        help="the PostgreSQL server (a temporary schema is made in it and dropped)",
    )
    parser.add_argument("--keep", action="store_true", help="keep data folders and logs")
    args = parser.parse_args()
    if args.users > 5000 or args.seconds > 900:
        sys.exit("bounded: at most 5,000 viewers and 900 s")
    configs = ["nginx-pg", "embedded"] if args.config == "both" else [args.config]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="md-load-clips-") as clips_name:
        clips = Path(clips_name)
        for config in configs:
            target_cm = (
                nginx_pg_target(args.pg, args.users, args.keep)
                if config == "nginx-pg"
                else embedded_target(args.users, args.keep)
            )
            with target_cm as target:
                started = time.monotonic()
                jobs = seed_catalog(target.data_dir, target.database_url, clips)
                publish_when_transcoded(target.data_dir, target.database_url)
                print(f"catalog: {jobs} episodes transcoded in {time.monotonic() - started:.0f} s")
                results[config] = measure(
                    config,
                    target,
                    users=args.users,
                    spawn_rate=args.spawn_rate,
                    seconds=args.seconds,
                    out_dir=target.data_dir / "load",
                )
    emit_json("load", users=args.users, seconds=args.seconds, **results)


if __name__ == "__main__":
    main()
