"""`microdrama recs ...`, `microdrama rankings ...` and `microdrama experiments ...`:
discovery's jobs from the command line (housekeeping runs the first two too, when due)."""

from __future__ import annotations

from datetime import date

import typer

from microdrama.cli_database import open_database, open_session
from microdrama.config import get_settings
from microdrama.db import utcnow
from microdrama.discovery import experiments, rankings
from microdrama.discovery.experiment_schemas import Estimate, ExperimentResults, MetricResult

app = typer.Typer(help="The For You recommender.", no_args_is_help=True)
rankings_app = typer.Typer(help="The ranking charts.", no_args_is_help=True)
experiments_app = typer.Typer(
    help="Feed experiments (start them on /admin/experiments).", no_args_is_help=True
)


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


@experiments_app.command("results")
def experiment_results(
    experiment_id: int = typer.Option(0, "--id", help="The experiment (default: the latest)."),
) -> None:
    """Each arm's viewers and metrics with 95 % intervals, and the differences from For You."""
    with open_session(get_settings()) as db:
        chosen = (
            experiments.get(db=db, experiment_id=experiment_id)
            if experiment_id
            else next(iter(experiments.latest(db=db, limit=1)), None)
        )
        if chosen is None:
            typer.echo("no such experiment" if experiment_id else "no experiment yet", err=True)
            raise typer.Exit(1)
        typer.echo(results_table(experiments.results(db=db, experiment=chosen)))


@experiments_app.command("stop")
def stop_experiment() -> None:
    """Stop the running experiment: every viewer gets For You again (within seconds)."""
    with open_session(get_settings()) as db:
        try:
            stopped = experiments.stop(db=db)
        except experiments.NoExperimentRunning as exc:
            typer.echo(exc.message, err=True)
            raise typer.Exit(1) from exc
        typer.echo(f'stopped experiment {stopped.id} "{stopped.name}"')


def _figure(metric: MetricResult, value: float, signed: bool = False) -> str:
    text = f"{value * 100:+.1f}" if metric.kind == "proportion" else f"{value:+.2f}"
    return text if signed else text.lstrip("+")


def _cell(metric: MetricResult, estimate: Estimate, signed: bool = False) -> str:
    if estimate.value is None:
        return "-"
    text = _figure(metric, estimate.value, signed)
    if estimate.low is None or estimate.high is None:
        return text
    low, high = _figure(metric, estimate.low, signed), _figure(metric, estimate.high, signed)
    return f"{text} [{low}, {high}]"


def results_table(results: ExperimentResults) -> str:
    """The results as a plain table (proportions in %, their differences in points)."""
    experiment = results.experiment
    state = "running" if experiment.running else f"stopped {experiment.stopped_at:%Y-%m-%d %H:%M}"
    control, treatment = results.arms
    rows = [
        ("metric", f"{control.arm} (control)", str(treatment.arm), "difference (95 %)", "reading"),
        ("viewers", str(control.viewers), str(treatment.viewers), "", ""),
    ]
    for metric in results.metrics:
        rows.append(
            (
                metric.metric,
                _cell(metric, metric.control),
                _cell(metric, metric.treatment),
                _cell(metric, metric.difference, signed=True),
                metric.difference.summary,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = [
        f'experiment {experiment.id} "{experiment.name}": {experiment.treatment_order} for '
        f"{experiment.share_percent} % of viewers since {experiment.started_at:%Y-%m-%d %H:%M} "
        f"UTC, {state}",
        *(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in rows
        ),
        results.note,
    ]
    return "\n".join(lines)
