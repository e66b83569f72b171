"""`microdrama vip-share ...`: share a month's VIP income with creators from the command line."""

from __future__ import annotations

from datetime import datetime

import typer

import microdrama.models  # noqa: F401  (every table mapped: the catalog's relationships need them)
from microdrama.cli_database import open_database
from microdrama.config import get_settings
from microdrama.db import utcnow
from microdrama.errors import DomainError
from microdrama.payouts import vip_share
from microdrama.payouts.service import Month
from microdrama.payouts.vip_share import LATE_EVENTS, Settlement, dollars

app = typer.Typer(help="VIP income shared with creators, month by month.", no_args_is_help=True)


@app.command("settle")
def settle(
    month: str | None = typer.Option(
        None, "--month", help="The month to settle, YYYY-MM (default: the previous month, UTC)."
    ),
) -> None:
    """Credit each series' creator with their share of a month's VIP pool (safe to rerun:
    a month is settled once; a rerun prints what was settled)."""
    settings = get_settings()
    with open_database(settings) as sessions:
        now = utcnow()
        try:
            chosen = Month.parse(month) if month else vip_share.previous_month(now)
            result = vip_share.settle(factory=sessions, settings=settings, month=chosen, now=now)
        except DomainError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(1) from exc
    for line in describe(result, now=now):
        typer.echo(line)


def describe(result: Settlement, *, now: datetime) -> list[str]:
    """The command's report of a settlement, one line each."""
    month = result.month
    lines = [
        f"VIP share of {month}: net VIP income {dollars(result.vip_income_cents)}, "
        f"creators' share {result.share_percent} % -> pool {dollars(result.pool_cents)}"
    ]
    if result.settled_before:
        lines.append(f"{month} was settled before: nothing posted again")
    for share in result.shares:
        posted = f"transaction {share.transaction_id}" if share.transaction_id else "nothing posted"
        lines.append(
            f"  series {share.series_id} {share.title!r} (creator {share.creator_id}): "
            f"{share.watch_ms / 1000:,.1f} s of {result.total_watch_ms / 1000:,.1f} s VIP watch "
            f"-> {dollars(share.amount_cents)} ({posted})"
        )
    if result.nothing_to_share:
        lines.append(f"nothing posted: {result.nothing_to_share}")
    elif not result.settled_before:
        credited = sum(s.amount_cents for s in result.shares)
        lines.append(f"{result.posted} series credited, {dollars(credited)} in all")
        if now < month.ends_at + LATE_EVENTS:
            lines.append(
                f"note: players may still send views of {month} until "
                f"{month.ends_at + LATE_EVENTS:%Y-%m-%d}; they will not count"
            )
    return lines
