"""One answer to "can this viewer play this episode", for every gate."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from microdrama.accounts.models import Account, Role
from microdrama.catalog.models import Episode
from microdrama.db import utcnow
from microdrama.paywall import service as paywall
from microdrama.paywall.entitlement import Entitlement, entitlement
from tests.support.factories import make_series
from tests.support.paywall import give_vip, unlock


def _viewer(db: Session, role: Role = Role.viewer) -> Account:
    account = Account(display_name="Ana", role=role)
    db.add(account)
    db.commit()
    return account


def _episodes(db: Session) -> tuple[Episode, Episode]:
    series = make_series(db, episodes=3, free_episodes=2)
    db.commit()
    episodes = sorted(series.episodes, key=lambda e: e.number)
    return episodes[1], episodes[2]  # the last free one, the first paid one


def test_free_episodes_are_free_for_everyone_even_without_an_account(db: Session) -> None:
    free, paid = _episodes(db)

    assert entitlement(db=db, viewer=None, episode=free) == Entitlement(True, "free")
    assert entitlement(db=db, viewer=None, episode=paid) == Entitlement(False, "locked")
    assert entitlement(db=db, viewer=_viewer(db), episode=paid) == Entitlement(False, "locked")


def test_owner_and_admin_always_play(db: Session) -> None:
    _, paid = _episodes(db)
    owner = db.get(Account, paid.series.owner_id)

    assert entitlement(db=db, viewer=owner, episode=paid).reason == "owner"
    assert entitlement(db=db, viewer=_viewer(db, Role.admin), episode=paid).reason == "owner"


def test_an_unlock_entitles_until_it_is_refunded(db: Session) -> None:
    _, paid = _episodes(db)
    viewer = _viewer(db)
    unlock(db, viewer.id, paid.id)

    assert entitlement(db=db, viewer=viewer, episode=paid) == Entitlement(True, "unlocked")

    paywall.refund_unlock(db=db, viewer_id=viewer.id, episode_id=paid.id, reason="refund")
    db.commit()
    assert entitlement(db=db, viewer=viewer, episode=paid) == Entitlement(False, "locked")


def test_vip_entitles_while_the_pass_runs_and_not_a_second_after(db: Session) -> None:
    _, paid = _episodes(db)
    viewer = _viewer(db)
    give_vip(db, viewer.id, days_left=1)
    now = utcnow()

    assert entitlement(db=db, viewer=viewer, episode=paid, now=now).reason == "vip"
    later = now + timedelta(days=1, seconds=1)
    assert entitlement(db=db, viewer=viewer, episode=paid, now=later).reason == "locked"
