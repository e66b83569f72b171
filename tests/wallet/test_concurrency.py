"""Many requests at once against two server processes: money never goes wrong."""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Account
from microdrama.accounts.service import hash_device_token, new_device_token
from microdrama.config import Settings
from microdrama.wallet import ledger, viewer_coins
from tests.support.factories import make_series
from tests.support.servers import running_servers, server_env
from tests.support.wallet import top_up


def _guest(db: Session) -> tuple[Account, str]:
    token = new_device_token()
    viewer = Account(device_token_hash=hash_device_token(token))
    db.add(viewer)
    db.commit()
    return viewer, token


def _two_servers(stack: ExitStack, database_url: str, tmp_path: Path) -> list[str]:
    env = server_env(database_url=database_url, data_dir=tmp_path / "data")
    logs = [tmp_path / f"server{n}.log" for n in (1, 2)]
    return stack.enter_context(running_servers(env, logs))


def test_fifty_concurrent_unlocks_with_coins_for_one_charge_exactly_once(
    database_url: str,
    tmp_path: Path,
    db: Session,
    db_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    series = make_series(db, episodes=50, free_episodes=0)
    series.episode_price_coins = 60
    db.commit()
    episode_ids = [e.id for e in series.episodes]
    viewer, token = _guest(db)
    top_up(db_factory, settings, viewer.id, coins=60)

    with ExitStack() as stack:
        servers = _two_servers(stack, database_url, tmp_path)

        def unlock(i: int) -> int:
            with httpx.Client(base_url=servers[i % 2], cookies={"md_device": token}) as http:
                answer = http.post(
                    f"/api/episodes/{episode_ids[i]}/unlock",
                    json={"method": "coins"},
                    headers={"Idempotency-Key": uuid.uuid4().hex},
                    timeout=60,
                )
                return answer.status_code

        with ThreadPoolExecutor(max_workers=25) as pool:
            statuses = Counter(pool.map(unlock, range(50)))

    assert statuses == {200: 1, 402: 49}
    with db_factory() as session:
        assert viewer_coins.balances(db=session, account_id=viewer.id).total == 0
        assert ledger.verify(db=session) == []


def test_one_key_sent_twenty_times_at_once_debits_once_with_identical_answers(
    database_url: str,
    tmp_path: Path,
    db: Session,
    db_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    series = make_series(db, episodes=3, free_episodes=1)
    series.episode_price_coins = 60
    db.commit()
    locked_id = series.episodes[2].id
    viewer, token = _guest(db)
    top_up(db_factory, settings, viewer.id, coins=600)
    key = uuid.uuid4().hex

    with ExitStack() as stack:
        servers = _two_servers(stack, database_url, tmp_path)

        def unlock(i: int) -> tuple[int, str]:
            with httpx.Client(base_url=servers[i % 2], cookies={"md_device": token}) as http:
                answer = http.post(
                    f"/api/episodes/{locked_id}/unlock",
                    json={"method": "coins"},
                    headers={"Idempotency-Key": key},
                    timeout=60,
                )
                return answer.status_code, answer.text

        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(unlock, range(20)))

    assert {status for status, _ in answers} == {200}
    assert len({body for _, body in answers}) == 1
    with db_factory() as session:
        assert viewer_coins.balances(db=session, account_id=viewer.id).total == 540
        assert ledger.verify(db=session) == []
