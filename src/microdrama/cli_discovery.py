"""`microdrama recs ...`: the For You recommender from the command line."""

from __future__ import annotations

import typer

from microdrama.cli_database import open_database
from microdrama.config import get_settings

app = typer.Typer(help="The For You recommender.", no_args_is_help=True)


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
