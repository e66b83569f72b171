"""The microdrama command line: serve, worker, seed-demo, migrate, ingest."""

from __future__ import annotations

import typer

from microdrama.config import get_settings
from microdrama.db import make_engine, upgrade_database

app = typer.Typer(help="microdrama: vertical micro-drama platform.", no_args_is_help=True)


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
) -> None:
    """Run the web app and API (with an embedded transcode worker unless disabled)."""
    import uvicorn

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    typer.echo(f"microdrama is running at http://{host}:{port}/  (API docs: /docs)")
    uvicorn.run(
        "microdrama.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    app()
