"""Concurrent payout requests from two server processes never exceed the earnings."""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Role
from microdrama.config import Settings
from microdrama.payouts import service as payouts
from microdrama.payouts.models import PayoutStatus
from microdrama.wallet import ledger
from tests.support.accounts import signed_in
from tests.support.payouts import earn_from_unlocks
from tests.support.servers import running_servers, server_env


def test_concurrent_payout_requests_beyond_the_balance_only_what_fits_succeeds(
    database_url: str,
    tmp_path: Path,
    db_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    creator, creator_id = signed_in(db_factory, settings, role=Role.creator, name="Studio Nova")
    _, viewer_id = signed_in(db_factory, settings, role=Role.viewer, name="Fan")
    earn_from_unlocks(
        db_factory, settings, creator_id=creator_id, viewer_id=viewer_id, prices=[5_000]
    )  # 3,000 coins earned: room for two requests of 1,100 coins, not three

    env = server_env(database_url=database_url, data_dir=tmp_path / "data")
    with ExitStack() as stack:
        logs = [tmp_path / f"server{n}.log" for n in (1, 2)]
        servers = stack.enter_context(running_servers(env, logs))

        def request(i: int) -> int:
            with httpx.Client(base_url=servers[i % 2], headers=creator) as http:
                answer = http.post(
                    "/api/studio/payouts",
                    json={"currency": "COIN", "amount": 1_100},
                    headers={"Idempotency-Key": uuid.uuid4().hex},
                    timeout=60,
                )
                return answer.status_code

        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = Counter(pool.map(request, range(12)))

    assert statuses == {201: 2, 409: 10}
    with db_factory() as db:
        held = payouts.list_payouts(db=db, owner_id=creator_id, status=PayoutStatus.pending)
        assert sum(p.amount for p in held) == 2_200
        assert ledger.verify(db=db) == []
