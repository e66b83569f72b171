"""The seed's progress as rich bars on a terminal, plain lines elsewhere, and its summary."""

from __future__ import annotations

import time
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from microdrama.demo.accounts import DemoLogins, print_logins
from microdrama.demo.audience import AudienceResult
from microdrama.demo.seed import SeedResult
from microdrama.demo.status import SeedProgress


class RichSeedProgress(SeedProgress):
    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self._progress = Progress(
            TextColumn("[bold]{task.description:<22}"),
            BarColumn(bar_width=36),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("[dim]{task.fields[detail]}"),
            console=self.console,
        )
        self._render: TaskID | None = None
        self._ready: TaskID | None = None

    def start(self, *, episodes_total: int, episodes_to_render: int) -> None:
        self._progress.start()
        self._render = self._progress.add_task(
            "Rendering clips", total=episodes_to_render, detail=""
        )
        self._ready = self._progress.add_task("Episodes ready", total=episodes_total, detail="")

    def rendered(self, title: str) -> None:
        if self._render is not None:
            self._progress.update(self._render, advance=1, detail=title)

    def transcoding(self, *, done: float, running: list[str]) -> None:
        if self._ready is not None:
            detail = f"transcoding {', '.join(running)}" if running else ""
            # MofN shows whole episodes; the bar itself moves with the running job's progress.
            self._progress.update(self._ready, completed=done, detail=detail)

    def published(self, title: str) -> None:
        self._progress.console.print(f"[green]published[/green] {title}: it plays in the feed now")

    def logins(self, logins: DemoLogins) -> None:
        print_logins(self.console, logins)

    def audience(self, result: AudienceResult) -> None:
        self._progress.console.print(audience_line(result))

    def finish(self) -> None:
        if self._render is None:  # never started: the run was skipped
            return
        self._progress.update(self._render, detail="")
        self._progress.stop()


class PlainSeedProgress(SeedProgress):
    """A line every `every_seconds` ("seed: 9/24 episodes ready, 2 transcoding") for output
    that is not a terminal (a log file, a pipe, a service manager), where live bars print
    nothing readable until the end."""

    def __init__(self, out: TextIO, *, every_seconds: float = 5.0) -> None:
        self.out = out
        self.every_seconds = every_seconds
        self.total = 0
        self.ready = 0
        self.running = 0
        self.published_titles: list[str] = []
        self.said = ""
        self.said_at = 0.0

    def _line(self) -> str:
        return f"seed: {self.ready}/{self.total} episodes ready, {self.running} transcoding"

    def _say(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()
        self.said_at = time.monotonic()

    def start(self, *, episodes_total: int, episodes_to_render: int) -> None:
        self.total = episodes_total
        self._say(
            f"seed: preparing {episodes_total} demo episodes ({episodes_to_render} clips to render)"
        )

    def transcoding(self, *, done: float, running: list[str]) -> None:
        self.ready, self.running = int(done), len(running)
        line = self._line()
        # Every few seconds, and not the same line twice in a row.
        if line != self.said and time.monotonic() - self.said_at >= self.every_seconds:
            self._say(line)
            self.said = line

    def published(self, title: str) -> None:
        self._say(f"seed: {title} published ({self.ready}/{self.total} episodes ready)")

    def logins(self, logins: DemoLogins) -> None:
        # A plain table (no colours, no live redraws) for a log file or a pipe.
        print_logins(Console(file=self.out, width=120, no_color=True), logins)
        self.out.flush()

    def audience(self, result: AudienceResult) -> None:
        self._say(f"seed: {audience_line(result)}")

    def finish(self) -> None:
        if self.total:
            self._say(f"seed: ended with {self.ready}/{self.total} episodes ready")


def print_summary(console: Console, result: SeedResult) -> None:
    """One table of what the feed now holds."""
    if result.skipped:
        console.print("The database already has series; demo seeding skipped (--if-empty).")
        return
    table = Table(title=f"Demo catalog ({result.seconds:.0f} s)", title_justify="left")
    table.add_column("series")
    for column in ("genre", "lang", "eps", "runtime", "free", "price", "status"):
        left = column in {"genre", "lang", "status"}
        table.add_column(column, justify="left" if left else "right")
    for s in result.series:
        minutes, seconds = divmod(round(s.runtime_ms / 1000), 60)
        table.add_row(
            f"{s.title} [dim]#{s.series_id}[/dim]",
            s.genre,
            s.language,
            str(s.episodes),
            f"{minutes}:{seconds:02d}",
            str(s.free_episodes),
            f"{s.episode_price_coins}c",
            s.outcome,
        )
    console.print(table)
    console.print(f"{result.clips_rendered} clips rendered and transcoded.")
    if result.audience is not None:
        console.print(audience_line(result.audience))


def audience_line(result: AudienceResult) -> str:
    return (
        f"simulated audience: {result.viewers} viewers ({result.new_viewers} new), "
        f"{result.sessions} sessions, {result.views} episode views, {result.completions} "
        f"completed, {result.unlocks} unlocks, {result.follows} follows "
        f"({result.events} new events)"
    )
