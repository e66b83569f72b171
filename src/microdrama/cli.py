"""The microdrama command line: serve, worker, seed-demo, migrate, ingest, vip-share..."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from microdrama.cli_backup import backup as backup_command
from microdrama.cli_backup import restore as restore_command
from microdrama.cli_database import migrated_engine, open_database, open_session
from microdrama.cli_discovery import app as recs_app
from microdrama.cli_discovery import experiments_app, rankings_app
from microdrama.cli_payments import app as payments_app
from microdrama.cli_payouts import app as vip_share_app
from microdrama.config import get_settings
from microdrama.db import make_engine, upgrade_database
from microdrama.logs import configure_logging

if TYPE_CHECKING:
    import subprocess

    from microdrama.demo.status import SeedProgress

app = typer.Typer(
    help="microdrama: vertical micro-drama platform.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema to the newest revision."""
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    upgrade_database(engine)
    engine.dispose()
    typer.echo(f"database at newest revision: {engine.url.render_as_string(hide_password=True)}")


@app.command()
def serve(
    host: str = typer.Option(None, help="Address to bind (default from settings)."),
    port: int = typer.Option(None, help="Port to bind (default from settings)."),
    workers: int = typer.Option(1, help="Web processes (use >1 only with PostgreSQL)."),
    seed_demo: bool = typer.Option(
        False,
        "--seed-demo",
        help="On first run (no series yet), make the demo series in the background while "
        "serving; each appears in the feed as soon as it is ready.",
    ),
    demo_series: int = typer.Option(3, min=1, max=4, help="With --seed-demo: how many series."),
    demo_episodes: int = typer.Option(8, min=1, max=12, help="With --seed-demo: episodes each."),
    demo_seconds: float = typer.Option(
        15.0, min=2.0, max=60.0, help="With --seed-demo: length of each episode."
    ),
) -> None:
    """Run the web app and API (with an embedded transcode worker unless disabled)."""
    import signal

    import uvicorn

    from microdrama.demo.background import BackgroundSeed, DemoSize
    from microdrama.ops.multiproc import forget_multiprocess_dir, prepare_multiprocess_dir

    settings = get_settings()
    migrated_engine(settings).dispose()  # the schema first: every request needs it
    # Every web process writes its metrics there, and /metrics adds them up (before anything
    # imports prometheus_client, which chooses its mode then).
    metrics_dir = prepare_multiprocess_dir(settings.data_dir)
    host = host or settings.host
    port = port or settings.port
    typer.echo(f"microdrama is running at http://{host}:{port}/  (API docs: /docs)")
    seeder = None
    # Models run in their own processes, never in the web app's: one AI worker beside it.
    ai_worker = _start_ai_worker() if settings.embedded_ai_worker else None
    if seed_demo:
        size = DemoSize(series=demo_series, episodes=demo_episodes, seconds=demo_seconds)
        seeder = BackgroundSeed(settings=settings, progress=_seed_progress(), size=size)
        seeder.start()
    if seeder is not None or ai_worker is not None:
        # uvicorn shuts down gracefully on SIGTERM, then raises it again with the handler found
        # before it started: the default one would end the process before the seed and the AI
        # worker are stopped below. Turned into the KeyboardInterrupt that uvicorn.run returns
        # from, as on Ctrl-C.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        uvicorn.run(
            "microdrama.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            access_log=False,
            proxy_headers=True,
            forwarded_allow_ips=settings.trusted_proxies,
        )
    finally:
        if seeder is not None:
            seeder.stop()
        if ai_worker is not None:
            _stop_ai_worker(ai_worker)
        forget_multiprocess_dir(metrics_dir)


def _start_ai_worker() -> subprocess.Popen[bytes]:
    """`microdrama ai-worker` as a child process (same settings: the same environment)."""
    import subprocess
    import sys

    from microdrama.media.transcode import die_with_parent

    return subprocess.Popen(
        [sys.executable, "-m", "microdrama.cli", "ai-worker", "--quiet"],
        # Its own process group: a Ctrl-C at the terminal reaches the server, which stops it.
        start_new_session=True,
        preexec_fn=die_with_parent,  # and it never outlives a server that was killed
    )


def _stop_ai_worker(process: subprocess.Popen[bytes]) -> None:
    import subprocess

    process.terminate()  # the worker hands its job back to the queue and exits
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _seed_progress() -> SeedProgress:
    """Live bars on a terminal; elsewhere (a log file, a pipe) a plain line every few seconds."""
    import sys

    from microdrama.demo.progress import PlainSeedProgress, RichSeedProgress

    if sys.stdout.isatty():
        from rich.console import Console

        return RichSeedProgress(Console())
    return PlainSeedProgress(sys.stdout)


@app.command()
def worker(
    concurrency: int = typer.Option(1, min=1, help="Jobs to transcode at the same time."),
) -> None:
    """Run transcode workers against the configured database until SIGTERM or Ctrl-C."""
    import signal
    import threading

    # catalog.videos registers the listener that moves episodes along with their videos.
    from microdrama.catalog import videos  # noqa: F401
    from microdrama.media.jobs import Worker, default_worker_id
    from microdrama.object_storage import open_storage
    from microdrama.ops.heartbeat import Heartbeat

    settings = get_settings()
    configure_logging(settings)
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        # The job in hand is abandoned (ffmpeg killed, job handed back to the queue) so a
        # deploy never waits for a long encode; a second signal is not needed.
        typer.echo(f"{signal.Signals(signum).name}: stopping after giving back the current job")
        stop.set()

    with open_database(settings) as sessions:
        storage = open_storage(settings)
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        worker_id = default_worker_id()
        typer.echo(f"transcode worker {worker_id} (concurrency {concurrency}) waiting for jobs")
        worker = Worker(sessions=sessions, storage=storage, settings=settings)
        with Heartbeat(sessions=sessions, worker_id=worker_id, queue="transcode"):
            worker.run(stop=stop, worker_id=worker_id, concurrency=concurrency)


@app.command("ai-worker")
def ai_worker(
    quiet: bool = typer.Option(False, "--quiet", help="Log warnings only (as under serve)."),
) -> None:
    """Run the AI worker until SIGTERM or Ctrl-C: it claims AI jobs (writers' room, table reads,
    captions, translations) one at a time and runs each in a child process."""
    import logging
    import signal
    import threading

    from microdrama.ai.jobs import AIWorker
    from microdrama.ops.heartbeat import Heartbeat

    settings = get_settings()
    configure_logging(settings, level=logging.WARNING if quiet else None)
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        # The job in hand is stopped (its process killed) and handed back to the queue.
        if not quiet:
            typer.echo(f"{signal.Signals(signum).name}: stopping after giving back the job")
        stop.set()

    with open_database(settings) as sessions:
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        worker = AIWorker(sessions=sessions, settings=settings)
        if not quiet:
            typer.echo(f"AI worker {worker.worker_id} waiting for jobs")
        with Heartbeat(sessions=sessions, worker_id=worker.worker_id, queue="ai"):
            worker.run(stop=stop)


ai_app = typer.Typer(help="AI jobs: writers' room, table reads, captions.", no_args_is_help=True)
app.add_typer(ai_app, name="ai")


@ai_app.command("run")
def ai_run(job_id: int = typer.Argument(..., help="Id of a queued AI job.")) -> None:
    """Run one queued AI job in this process, with its log on the terminal (debugging)."""
    import logging

    from microdrama.ai.jobs import run_job_here
    from microdrama.errors import DomainError
    from microdrama.object_storage import open_storage

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = get_settings()
    with open_database(settings) as sessions:
        storage = open_storage(settings)
        try:
            job = run_job_here(job_id=job_id, sessions=sessions, settings=settings, storage=storage)
        except DomainError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(1) from exc
    typer.echo(f"AI job {job.id} ({job.kind.value}): {job.state.value} {job.error or ''}".rstrip())
    if job.result is not None:
        import json

        typer.echo(json.dumps(job.result, indent=2)[:4000])
    raise typer.Exit(0 if job.state.value == "done" else 1)


@app.command()
def ingest(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The source video."),
    series: int = typer.Option(..., "--series", help="Id of the series to add the episode to."),
    title: str = typer.Option("", help="Episode title."),
    number: int | None = typer.Option(None, help="Episode number (default: the next one)."),
    wait: bool = typer.Option(False, help="Wait until a worker has transcoded it."),
) -> None:
    """Add a video file as the next episode of a series, as the upload in the studio does."""
    import time

    from microdrama.accounts import service as accounts_service
    from microdrama.catalog import service as catalog_service
    from microdrama.catalog import videos
    from microdrama.db import session_scope
    from microdrama.errors import DomainError
    from microdrama.media import service as media_service
    from microdrama.media.models import JobState
    from microdrama.object_storage import open_storage

    settings = get_settings()
    with open_database(settings) as sessions:
        storage = open_storage(settings)
        try:
            with session_scope(sessions) as db:
                found = catalog_service.get(db=db, series_id=series)
                owner = accounts_service.get(db=db, account_id=found.owner_id) if found else None
                if found is None or owner is None:
                    raise typer.BadParameter(f"no series with id {series}", param_hint="--series")
                episode, asset, job = videos.upload_episode(
                    db=db,
                    storage=storage,
                    settings=settings,
                    series=found,
                    owner=owner,
                    filename=file.name,
                    source=file,
                    title=title,
                    number=number,
                )
                job_id = job.id
            typer.echo(
                f"episode {episode.number} (id {episode.id}) of series {series}: "
                f"asset {asset.id}, transcode job {job_id} queued "
                f"({asset.duration_ms / 1000:.1f} s)"
            )
            while wait:
                with session_scope(sessions) as db:
                    state = media_service.get_job(db=db, job_id=job_id)
                if state.state in (JobState.done, JobState.failed):
                    typer.echo(f"job {job_id}: {state.state.value} {state.error or ''}".rstrip())
                    raise typer.Exit(0 if state.state == JobState.done else 1)
                typer.echo(f"job {job_id}: {state.state.value} {state.progress:.0%}")
                time.sleep(1.0)
        except DomainError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(1) from exc


@app.command("seed-demo")
def seed_demo(
    if_empty: bool = typer.Option(
        False, "--if-empty", help="Do nothing if the database already has series of its own."
    ),
    series: int = typer.Option(3, min=1, max=4, help="How many demo series (up to 4)."),
    episodes: int = typer.Option(8, min=1, max=12, help="Episodes per series."),
    seconds: float = typer.Option(15.0, min=2.0, max=60.0, help="Length of each episode."),
) -> None:
    """Generate demo series with ffmpeg and publish them through upload and transcode.

    Safe to rerun: published demo series are kept, an interrupted seed is completed, and a
    series appears in the feed only once all of its episodes are ready.
    """
    from rich.console import Console

    from microdrama.demo.progress import print_summary
    from microdrama.demo.seed import seed_demo as run_seed

    settings = get_settings()
    migrated_engine(settings).dispose()
    result = run_seed(
        settings=settings,
        series_count=series,
        episodes_per_series=episodes,
        seconds=seconds,
        if_empty=if_empty,
        progress=_seed_progress(),
    )
    print_summary(Console(), result)
    if not result.ok:
        raise typer.Exit(1)


ledger_app = typer.Typer(help="The double-entry ledger.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")


@ledger_app.command("verify")
def ledger_verify() -> None:
    """Recompute every balance from the entries; exit 1 on any discrepancy."""
    from microdrama.wallet import ledger

    with open_session(get_settings()) as db:
        problems = ledger.verify(db=db)
    for problem in problems:
        typer.echo(f"DISCREPANCY: {problem}", err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo("ledger verified: every transaction balances and every stored balance matches")


@ledger_app.command("expire-bonus")
def ledger_expire_bonus() -> None:
    """Expire bonus coins past their date (run daily, e.g. from cron)."""
    from microdrama.db import run_money_transaction
    from microdrama.wallet import viewer_coins

    with open_database(get_settings()) as sessions:
        expired = run_money_transaction(sessions, lambda db: viewer_coins.expire_bonus(db=db))
    typer.echo(f"{expired} bonus coins expired")


@app.command("create-admin")
def create_admin(
    email: str = typer.Argument(..., help="Email of the operator (created if new)."),
    password: str | None = typer.Option(
        None,
        envvar="MICRODRAMA_ADMIN_PASSWORD",
        help="Password for a new account (prompted for when needed and not given).",
    ),
) -> None:
    """Make the account with this email an operator (admin), creating it if needed."""
    from pydantic_core import PydanticCustomError

    from microdrama.accounts import service as accounts_service
    from microdrama.accounts.schemas import check_password, normalize_email

    with open_session(get_settings()) as db:
        try:
            email = normalize_email(email)
            exists = accounts_service.get_by_email(db=db, email=email) is not None
            if not exists and password is None:
                password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
            if password is not None and not exists:
                check_password(password)
            account = accounts_service.make_admin(db=db, email=email, password=password)
            account_id = account.id
        except PydanticCustomError as exc:
            typer.echo(f"error: {exc.message()}", err=True)
            raise typer.Exit(1) from exc
    verb = "is now" if exists else "created as"
    typer.echo(f"{email} (account {account_id}) {verb} an admin")


app.add_typer(payments_app, name="payments")
app.add_typer(vip_share_app, name="vip-share")
app.add_typer(recs_app, name="recs")
app.add_typer(rankings_app, name="rankings")
app.add_typer(experiments_app, name="experiments")
app.command("backup")(backup_command)
app.command("restore")(restore_command)


@app.command()
def housekeeping() -> None:
    """Expire bonus coins, renew due VIP passes, share last month's VIP pool with creators,
    forget old idempotency keys, abandoned uploads, expired sessions and old sign-in attempts,
    refresh the rankings and retrain For You when due (run from cron)."""
    from microdrama.housekeeping import run_once

    settings = get_settings()
    with open_database(settings) as sessions:
        chores = run_once(factory=sessions, settings=settings)
    vip_share = (
        f"VIP share of {chores.vip_share_month}: {chores.vip_share_posted} series credited, "
        if chores.vip_share_month
        else ""
    )
    typer.echo(
        f"{chores.bonus_coins_expired} bonus coins expired, {chores.vip_renewals} VIP renewals, "
        f"{vip_share}{chores.idempotency_keys_forgotten} idempotency keys forgotten, "
        f"{chores.shop_reservations_released} unpaid shop orders released, "
        f"{chores.stale_uploads_deleted} abandoned uploads, "
        f"{chores.unused_videos_deleted} unused videos, "
        f"{chores.orphan_files_swept} orphaned videos' files, {chores.sessions_ended} expired "
        f"sessions and {chores.login_attempts_forgotten} old sign-in attempts deleted; "
        f"rankings {'refreshed' if chores.rankings_refreshed else 'fresh'} "
        f"({chores.ranking_entries_forgotten} old entries forgotten), "
        f"For You {'retrained' if chores.recs_trained else 'fresh'}"
    )


if __name__ == "__main__":
    app()
