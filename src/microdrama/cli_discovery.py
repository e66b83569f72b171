"""`microdrama recs ...` and `microdrama rankings ...`: discovery's jobs from the command line
(housekeeping runs them too, when due)."""

from __future__ import annotations

from datetime import date

import typer

from microdrama.cli_database import open_database
from microdrama.config import get_settings
from microdrama.db import utcnow
from microdrama.discovery import rankings

app = typer.Typer(help="The For You recommender.", no_args_is_help=True)
rankings_app = typer.Typer(help="The ranking charts.", no_args_is_help=True)


@app.command("train")
def train(
    algorithm: str = typer.Option("als", help="The model: als, bpr, cosine or bm25."),
) -> None:
    """Retrain For You from the stored events and replace every viewer's candidates."""
    # Imported here, as cli.py imports inside its commands: the other commands then start
    # without loading numpy, scipy and implicit.
    from microdrama.discovery import training
    from microdrama.discovery.recommender import Algorithm

    try:
        chosen = Algorithm(algorithm)
    except ValueError:
        raise typer.BadParameter(f"no algorithm {algorithm!r}", param_hint="--algorithm") from None
    with open_database(get_settings()) as sessions:
        run = training.train(sessions, algorithm=chosen)
    typer.echo(
        f"recs run {run.id}: {run.algorithm} on {run.interactions} histories of "
        f"{run.viewers} viewers with {run.series} series in {run.seconds:.1f} s"
    )


@rankings_app.command("refresh")
def refresh_rankings(
    day: str = typer.Option("", help="The day to compute, YYYY-MM-DD (default: today, UTC)."),
) -> None:
    """Compute every chart of a day from the stored views and unlocks and replace its rows."""
    chosen = _past_day(day) if day else None
    with open_database(get_settings()) as factory:
        summary = rankings.refresh_in_own_transaction(factory, day=chosen)
    before = " (and the day before, first)" if summary.previous_day_computed else ""
    typer.echo(
        f"rankings of {summary.day}{before}: {summary.entries} entries on {summary.charts} "
        f"charts, {summary.series} series, in {summary.seconds:.1f} s"
    )


def _past_day(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a day (YYYY-MM-DD)", param_hint="--day"
        ) from None
    if day > utcnow().date():
        raise typer.BadParameter(
            f"{day} has not begun: rankings are computed from what happened", param_hint="--day"
        )
    return day
