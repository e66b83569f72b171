"""The demo's logins: a creator, a brand, an operator and a viewer with coins, one per role.

The passwords are generated at the first seed and kept in the data folder
(`demo-logins.json`, readable by its owner only), never in the code: a published password
would open the operator's account of every install that ran the demo. Reruns reuse the file,
so the logins a person wrote down keep working; a lost file gets new passwords for the same
accounts. The accounts themselves are looked up before they are made (by email, and the
creator and the brand also by the names the seed has always given them), so a rerun adds
only what is missing.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from microdrama.accounts import service as accounts_service
from microdrama.accounts.models import Account, Role
from microdrama.config import Settings
from microdrama.demo.brand import DEMO_BRAND_NAME
from microdrama.demo.catalog import DEMO_CREATOR_NAME
from microdrama.wallet import viewer_coins

LOGINS_FILE = "demo-logins.json"
# Enough for a few paid episodes and a VIP-free binge of the demo series.
DEMO_VIEWER_COINS = 500
# The viewer's coins are a promotion grant; a year, so a demo folder kept around still works.
DEMO_VIEWER_COINS_VALID_DAYS = 365

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoRole:
    """One demo login: who it is and what the about page tells people to try with it."""

    key: str
    role: Role
    display_name: str
    email: str
    tries: str
    starts_at: str


DEMO_ROLES: tuple[DemoRole, ...] = (
    DemoRole(
        key="viewer",
        role=Role.viewer,
        display_name="Demo Viewer",
        email="viewer@demo.microdrama.test",
        tries=f"Watch the series, unlock paid episodes with {DEMO_VIEWER_COINS} coins, "
        "buy what you see in an episode.",
        starts_at="/",
    ),
    DemoRole(
        key="creator",
        role=Role.creator,
        display_name=DEMO_CREATOR_NAME,
        email="creator@demo.microdrama.test",
        tries="Upload episodes, publish the demo series, see analytics and earnings, "
        "accept brands' campaigns.",
        starts_at="/studio",
    ),
    DemoRole(
        key="brand",
        role=Role.brand,
        display_name=DEMO_BRAND_NAME,
        email="brand@demo.microdrama.test",
        tries="Edit products and stock, place them in episodes, follow the funnel, ship orders.",
        starts_at="/brand/products",
    ),
    DemoRole(
        key="operator",
        role=Role.admin,
        display_name="Demo Operator",
        email="operator@demo.microdrama.test",
        tries="Set coin packs and the revenue share, moderate episodes, approve brand "
        "applications and payouts, look at any brand's pages.",
        starts_at="/admin",
    ),
)


@dataclass(frozen=True)
class DemoLogin(DemoRole):
    """A demo role with its password (from the data folder)."""

    password: str


@dataclass
class DemoLogins:
    logins: list[DemoLogin] = field(default_factory=list)
    # Keys of the logins this run made or changed (the command prints them then).
    created: list[str] = field(default_factory=list)
    accounts: dict[str, Account] = field(default_factory=dict)
    # Where the passwords are kept (the data folder's demo-logins.json).
    path: Path | None = None

    @property
    def creator(self) -> Account:
        """The demo creator, owner of the demo series."""
        return self.accounts["creator"]


def logins_path(settings: Settings) -> Path:
    return settings.data_dir / LOGINS_FILE


def read_logins(settings: Settings) -> dict[str, str]:
    """Role key → password from the data folder; empty when there is no (readable) file."""
    try:
        stored = json.loads(logins_path(settings).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(stored, dict):
        return {}
    return {
        key: value["password"]
        for key, value in stored.items()
        if isinstance(value, dict) and isinstance(value.get("password"), str)
    }


def demo_logins(settings: Settings) -> list[DemoLogin]:
    """The logins the data folder holds, in role order (for the about page)."""
    passwords = read_logins(settings)
    return [_login(role, passwords[role.key]) for role in DEMO_ROLES if role.key in passwords]


def _login(role: DemoRole, password: str) -> DemoLogin:
    return DemoLogin(**vars(role), password=password)


def _write_logins(settings: Settings, logins: list[DemoLogin]) -> None:
    """Write the file readable by its owner only, replacing it in one step."""
    path = logins_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {login.key: {"email": login.email, "password": login.password} for login in logins}
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        json.dump(body, out, indent=2)
    os.chmod(temporary, 0o600)  # an older file with wider modes keeps them through O_TRUNC
    os.replace(temporary, path)


def _account_for(db: Session, role: DemoRole) -> tuple[Account, bool]:
    """The demo account of this role and whether this call made it."""
    account = accounts_service.get_by_email(db=db, email=role.email)
    if account is None and role.role in (Role.creator, Role.brand):
        # Earlier seeds made the creator and the brand by name, without a login.
        account = accounts_service.get_named(db=db, display_name=role.display_name)
    if account is not None:
        return account, False
    return accounts_service.create_account(
        db=db, display_name=role.display_name, role=role.role
    ), True


def grant_demo_coins(
    *, db: Session, settings: Settings, account_id: int, coins: int, to: str
) -> None:
    """Give a demo account coins through the wallet's ledger: a promotion grant, valid for
    DEMO_VIEWER_COINS_VALID_DAYS (`to` names who gets them in the ledger's reference)."""
    viewer_coins.grant_bonus(
        db=db,
        settings=settings,
        account_id=account_id,
        coins=coins,
        source="demo",
        reference=f"demo-{to}-coins:{account_id}",
        valid_days=DEMO_VIEWER_COINS_VALID_DAYS,
        memo=f"{coins} demo coins",
    )


def ensure_demo_accounts(*, db: Session, settings: Settings) -> DemoLogins:
    """Make (or find) the demo creator, brand, operator and viewer, give each a login whose
    password lives in the data folder, and give a new viewer its coins through the wallet."""
    passwords = read_logins(settings)
    result = DemoLogins(path=logins_path(settings))
    for role in DEMO_ROLES:
        account, made = _account_for(db, role)
        password = passwords.get(role.key)
        if password is None or account.email != role.email or account.password_hash is None:
            password = password or secrets.token_urlsafe(12)
            accounts_service.set_login(db=db, account=account, email=role.email, password=password)
            result.created.append(role.key)
        if account.role != role.role:
            account.role = role.role
        if made and role.role == Role.viewer:
            grant_demo_coins(
                db=db,
                settings=settings,
                account_id=account.id,
                coins=DEMO_VIEWER_COINS,
                to="viewer",
            )
        result.logins.append(_login(role, password))
        result.accounts[role.key] = account
    db.flush()
    if result.created or set(passwords) != {login.key for login in result.logins}:
        _write_logins(settings, result.logins)
        # No passwords in logs: where to read them (a background seed prints no summary).
        log.info(
            "demo logins for %s are in %s (and on /about in development)",
            ", ".join(result.created),
            result.path,
        )
    return result


def print_logins(console: Console, logins: DemoLogins) -> None:
    """The logins made or changed by this run, once; afterwards only where to find them."""
    fresh = [login for login in logins.logins if login.key in logins.created]
    if fresh:
        table = Table(title="Demo logins (new)", title_justify="left")
        for column in ("role", "email", "password", "start at"):
            table.add_column(column)
        for login in fresh:
            table.add_row(login.key, login.email, login.password, login.starts_at)
        console.print(table)
    console.print(
        f"The demo logins are kept in {logins.path} (readable by its owner only) and shown "
        "on /about while the environment is development."
    )
