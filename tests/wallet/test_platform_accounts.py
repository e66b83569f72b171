"""The platform's own ledger accounts exist once each, however many first sales happen at once.

They have no owner, and the (kind, owner, currency) constraint treats NULL owners as distinct:
before the partial unique index, the first unlocks of a new install, sent at the same moment,
each created a "platform revenue" account, and from then on every coin unlock failed."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from microdrama import idempotency
from microdrama.accounts.models import Account
from microdrama.config import Settings
from microdrama.paywall import service as paywall
from microdrama.wallet import ledger
from microdrama.wallet.models import LedgerAccount
from tests.support.factories import make_series
from tests.support.wallet import top_up

VIEWERS = 8


def _unlock(
    factory: sessionmaker[Session], settings: Settings, viewer_id: int, episode_id: int
) -> dict[str, object]:
    """What POST /api/episodes/{id}/unlock runs in its money transaction."""
    (status, body), _ = idempotency.run_idempotent(
        factory=factory,
        account_id=viewer_id,
        key=uuid.uuid4().hex,
        request_hash=f"unlock {episode_id}",
        keep_hours=24,
        claim_first=False,
        effect=lambda db: (
            200,
            paywall.unlock_with_coins(
                db=db, settings=settings, viewer_id=viewer_id, episode_id=episode_id
            ),
        ),
    )
    assert status == 200, body
    return body


def test_the_first_unlocks_at_once_make_one_platform_account_and_unlocking_goes_on(
    db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    series = make_series(db, episodes=2, free_episodes=0)
    series.episode_price_coins = 60
    viewers = [Account(display_name=f"viewer {n}") for n in range(VIEWERS)]
    db.add_all(viewers)
    db.commit()
    first, second = (e.id for e in series.episodes)
    for viewer in viewers:
        top_up(db_factory, settings, viewer.id, coins=120)
    start = threading.Barrier(VIEWERS)

    def first_sale(viewer_id: int) -> dict[str, object]:
        start.wait()
        return _unlock(db_factory, settings, viewer_id, first)

    with ThreadPoolExecutor(VIEWERS) as pool:
        answers = list(pool.map(first_sale, [v.id for v in viewers]))

    assert [a["charged_coins"] for a in answers] == [60] * VIEWERS
    # The next unlock of each viewer works too (it failed with duplicates: "more than one row").
    for viewer in viewers:
        assert _unlock(db_factory, settings, viewer.id, second)["charged_coins"] == 60
    with db_factory() as check:
        per_kind = check.execute(
            select(LedgerAccount.kind, LedgerAccount.currency, func.count())
            .where(LedgerAccount.owner_id.is_(None))
            .group_by(LedgerAccount.kind, LedgerAccount.currency)
        ).all()
        assert per_kind and all(count == 1 for _kind, _currency, count in per_kind), per_kind
        assert ledger.verify(db=check) == []
