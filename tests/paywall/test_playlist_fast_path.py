"""The gated rendition playlist answered from the process's cached facts (paywall/
playlist_fast_path.py): a repeat costs no database query, and a change of entitlement (a
refund, the creator moving the paywall) still shows on the very next request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.orm import Session

from microdrama.accounts import service as accounts
from microdrama.accounts.models import Account, SessionKind
from microdrama.catalog.models import Series
from microdrama.config import Settings
from microdrama.paywall import service as paywall
from tests.support.paywall import (
    ClientFactory,
    Show,
    key_url_in,
    unlock,
    variant_url,
    viewer_id,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def statements(app: FastAPI) -> Iterator[list[str]]:
    """Every SQL statement the app runs while the test does."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    engine = app.state.engine
    event.listen(engine, "before_cursor_execute", note)
    yield seen
    event.remove(engine, "before_cursor_execute", note)


def test_a_repeated_playlist_costs_no_query_and_its_key_still_plays(
    new_device: ClientFactory, show: Show, statements: list[str]
) -> None:
    guest = new_device()
    url = variant_url(guest, show.free_episode_id)
    first = guest.get(url)
    assert first.status_code == 200, first.text

    statements.clear()
    again = guest.get(url)

    assert again.status_code == 200
    assert again.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert again.headers["cache-control"] == "private, no-store"
    assert statements == []
    # The same playlist but for the viewer-bound key URL, and that key works.
    assert again.text.split("URI=")[0] == first.text.split("URI=")[0]
    assert again.text.splitlines()[-3:] == first.text.splitlines()[-3:]
    key = guest.get(key_url_in(again.text))
    assert key.status_code == 200 and key.content == show.keys[show.free_episode_id]
    # Another viewer's playlist carries a key URL of their own.
    other = new_device()
    assert key_url_in(other.get(url).text) != key_url_in(again.text)


def test_a_refund_locks_the_playlist_on_the_next_request(
    new_device: ClientFactory, show: Show, db: Session
) -> None:
    fan = new_device()
    unlock(db, viewer_id(fan), show.paid_episode_id)
    url = variant_url(fan, show.paid_episode_id)
    assert fan.get(url).status_code == 200
    assert fan.get(url).status_code == 200

    paywall.refund_unlock(
        db=db, viewer_id=viewer_id(fan), episode_id=show.paid_episode_id, reason="refund"
    )
    db.commit()

    locked = fan.get(url)
    assert locked.status_code == 403
    assert locked.json()["error"] == "episode_locked"
    assert "#EXT" not in locked.text


def test_the_creator_moving_the_paywall_locks_a_cached_free_episode_at_once(
    new_device: ClientFactory, show: Show, db: Session, settings: Settings
) -> None:
    guest = new_device()
    url = variant_url(guest, show.free_episode_id)
    assert guest.get(url).status_code == 200
    series = db.get(Series, show.series_id)
    assert series is not None
    owner = db.get(Account, series.owner_id)
    assert owner is not None
    token, _ = accounts.start_session(
        db=db, settings=settings, account=owner, kind=SessionKind.bearer
    )
    db.commit()

    studio = new_device()
    changed = studio.patch(
        f"/api/studio/series/{show.series_id}",
        json={"free_episodes": 0},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert changed.status_code == 200, changed.text

    locked = guest.get(url)
    assert locked.status_code == 403
    assert locked.json()["error"] == "episode_locked"


def test_a_repeated_master_playlist_costs_no_query_and_a_locked_one_still_gets_the_price(
    new_device: ClientFactory, show: Show, db: Session, statements: list[str]
) -> None:
    guest = new_device()
    master = f"/api/episodes/{show.free_episode_id}/hls/master.m3u8"
    first = guest.get(master)  # the guest's first visit: the route makes the guest
    assert first.status_code == 200, first.text
    assert guest.get(master).status_code == 200

    statements.clear()
    again = guest.get(master)

    assert again.status_code == 200
    assert statements == []
    assert again.text == first.text  # the route's answer, to the byte
    assert again.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert again.headers["cache-control"] == "private, no-store"
    assert guest.get(variant_url(guest, show.free_episode_id)).status_code == 200

    paid = f"/api/episodes/{show.paid_episode_id}/hls/master.m3u8"
    for _ in range(2):  # the second time from cached facts: still locked, with the price
        locked = guest.get(paid)
        assert locked.status_code == 403
        assert locked.json()["error"] == "episode_locked"
        assert locked.json()["price_coins"] > 0
    unlock(db, viewer_id(guest), show.paid_episode_id)
    assert guest.get(paid).status_code == 200
