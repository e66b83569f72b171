"""`microdrama payments ...`: the store catalog and VIP renewals from the command line."""

from __future__ import annotations

import typer
from sqlalchemy.orm import Session

from microdrama.cli_database import open_database
from microdrama.config import get_settings
from microdrama.db import run_money_transaction, utcnow
from microdrama.payments import catalog as store_catalog
from microdrama.payments import renewals
from microdrama.payments.models import CoinPack, VipPlan

app = typer.Typer(help="Coin packs, VIP plans and VIP renewals.", no_args_is_help=True)


@app.command("seed-catalog")
def seed_catalog() -> None:
    """Add the default coin packs and VIP plans that are missing (edits are kept)."""

    def seed(db: Session) -> tuple[list[CoinPack], list[VipPlan]]:
        store_catalog.ensure_default_catalog(db=db)
        return store_catalog.catalog(db=db)

    with open_database(get_settings()) as sessions:
        packs, plans = run_money_transaction(sessions, seed)
    for pack in packs:
        bonus = f" + {pack.bonus_coins} bonus" if pack.bonus_coins else ""
        typer.echo(f"coin pack {pack.code}: {pack.price_cents} cents = {pack.coins} coins{bonus}")
    for plan in plans:
        typer.echo(f"VIP plan {plan.code}: {plan.price_cents} cents for {plan.period_days} days")


@app.command("renew-vip")
def renew_vip() -> None:
    """Charge auto-renewing VIP passes that end within a day (run hourly, e.g. from cron)."""
    settings = get_settings()
    with open_database(settings) as sessions:
        done = run_money_transaction(
            sessions,
            lambda db: renewals.renew_due_vip_passes(db=db, settings=settings, now=utcnow()),
        )
    for renewal in done:
        detail = f" ({renewal.detail})" if renewal.detail else ""
        typer.echo(
            f"account {renewal.account_id}: purchase {renewal.purchase_id} {renewal.status}{detail}"
        )
    typer.echo(f"{len(done)} VIP renewals")
