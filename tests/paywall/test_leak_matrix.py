"""Premium content must not leak: who gets playlists and keys, and who gets nothing at all."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from itsdangerous import URLSafeSerializer
from sqlalchemy.orm import Session

from microdrama.catalog.models import Series, SeriesStatus
from microdrama.config import Settings
from microdrama.media.protection import KEY_TOKEN_SALT, issue_key_token, key_url
from microdrama.paywall import service as paywall
from tests.support.hls import decodes_cleanly, decrypt_with_ffmpeg, looks_like_mpegts
from tests.support.paywall import (
    PRICE_COINS,
    ClientFactory,
    Show,
    give_vip,
    key_url_for,
    key_url_in,
    unlock,
    variant_url,
    viewer_id,
)

pytestmark = pytest.mark.slow


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def _assert_no_key(response: Response, key: bytes, *, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert key not in response.content
    assert response.json()["error"] == error


def test_an_entitled_viewer_gets_the_key_and_the_paid_episode_really_plays(
    client: TestClient, db: Session, show: Show, tmp_path: Path
) -> None:
    unlock(db, viewer_id(client), show.paid_episode_id)

    master = client.get(f"/api/episodes/{show.paid_episode_id}/hls/master.m3u8")
    assert master.status_code == 200
    assert master.headers["cache-control"] == "private, no-store"
    playlist = client.get(variant_url(client, show.paid_episode_id))
    assert playlist.status_code == 200
    assert playlist.headers["cache-control"] == "private, no-store"
    segment_urls = [
        line for line in playlist.text.splitlines() if line and not line.startswith("#")
    ]
    assert segment_urls and all(u.startswith("/media/assets/") for u in segment_urls)
    key = client.get(key_url_in(playlist.text))

    assert key.status_code == 200
    assert key.headers["content-type"] == "application/octet-stream"
    assert key.headers["cache-control"] == "private, no-store"
    assert key.content == show.keys[show.paid_episode_id] and len(key.content) == 16

    # The segments are public static files, but encrypted: useless without the key ...
    segments_dir = tmp_path / "segments"
    segments_dir.mkdir()
    for url in segment_urls:
        segment = client.get(url)
        assert segment.status_code == 200
        assert segment.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert not looks_like_mpegts(segment.content)
        (segments_dir / Path(url).name).write_bytes(segment.content)
    # ... and with the served key, ffmpeg's HLS demuxer plays the whole episode.
    played = decrypt_with_ffmpeg(
        playlist=playlist.text,
        key=key.content,
        segments_dir=segments_dir,
        work_dir=tmp_path / "player",
        segments=len(segment_urls),
    )
    assert decodes_cleanly(played)
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(played)],
        capture_output=True,
        text=True,
        check=True,
    )
    info = json.loads(probe.stdout)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"]) == (180, 320)
    assert float(info["format"]["duration"]) == pytest.approx(3.0, abs=0.2)


def test_the_wrong_key_does_not_play(client: TestClient, show: Show, tmp_path: Path) -> None:
    playlist = client.get(variant_url(client, show.free_episode_id)).text
    segments_dir = tmp_path / "segments"
    segments_dir.mkdir()
    first = next(line for line in playlist.splitlines() if line and not line.startswith("#"))
    (segments_dir / Path(first).name).write_bytes(client.get(first).content)

    try:
        played = decrypt_with_ffmpeg(
            playlist=playlist,
            key=show.keys[show.paid_episode_id],  # another episode's key
            segments_dir=segments_dir,
            work_dir=tmp_path / "player",
        )
    except subprocess.CalledProcessError:
        return  # ffmpeg could not even read it
    assert not decodes_cleanly(played)


def test_free_episodes_play_for_any_guest_through_the_same_encrypted_path(
    new_device: ClientFactory, show: Show
) -> None:
    guest = new_device()

    key = guest.get(key_url_for(guest, show.free_episode_id))

    assert key.status_code == 200
    assert key.content == show.keys[show.free_episode_id]


def test_a_series_taken_back_to_draft_gives_viewers_no_playlist_and_no_key(
    new_device: ClientFactory, show: Show, db: Session
) -> None:
    guest = new_device()
    key_url = key_url_for(guest, show.free_episode_id)  # issued while the series was live
    series = db.get(Series, show.series_id)
    assert series is not None
    series.status = SeriesStatus.draft
    db.commit()
    guest.app.state.public_cache.clear()  # as a studio change does (and the playlists' facts)

    master = guest.get(f"/api/episodes/{show.free_episode_id}/hls/master.m3u8")
    variant = guest.get(f"/api/episodes/{show.free_episode_id}/hls/320p/index.m3u8")
    key = guest.get(key_url)

    for response in (master, variant, key):
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "not_found"
    assert show.keys[show.free_episode_id] not in key.content


def test_locked_playlists_are_not_issued_to_viewers_without_a_right_to_them(
    client: TestClient, show: Show, settings: Settings
) -> None:
    master = client.get(f"/api/episodes/{show.paid_episode_id}/hls/master.m3u8")
    variant = client.get(f"/api/episodes/{show.paid_episode_id}/hls/320p/index.m3u8")

    for response in (master, variant):
        assert response.status_code == 403
        body = response.json()
        assert body["error"] == "episode_locked"
        assert body["price_coins"] == PRICE_COINS
        assert body["price_cents"] == round(PRICE_COINS * settings.coin_value_millicents / 1000)
        assert "#EXT" not in response.text
    assert client.get("/api/episodes/999999/hls/master.m3u8").status_code == 404
    # Nor as static files: stored playlists never leave through /media.
    stored = f"/media/assets/{show.paid_episode_id}/hls"
    assert client.get(f"{stored}/master.m3u8").status_code == 404
    assert client.get(f"{stored}/320p/index.m3u8").status_code == 404


Attack = Callable[..., Response]


def _anonymous(*, app: FastAPI, url: str, **_: object) -> Response:
    # A request with no cookie at all is a brand-new guest: not the token's viewer.
    return TestClient(app).get(url)


def _other_viewer(*, app_client: ClientFactory, url: str, **_: object) -> Response:
    return app_client().get(url)


def _no_token(*, fan: TestClient, show: Show, **_: object) -> Response:
    return fan.get(f"/api/keys/{show.paid_episode_id}")


def _token_for_another_episode(*, fan: TestClient, show: Show, **_: object) -> Response:
    free_token = _token(key_url_for(fan, show.free_episode_id))
    return fan.get(key_url(episode_id=show.paid_episode_id, token=free_token))


def _expired_token(*, fan: TestClient, show: Show, settings: Settings, **_: object) -> Response:
    issued = time.time() - settings.key_token_seconds - 1
    token = issue_key_token(
        settings=settings, viewer_id=viewer_id(fan), episode_id=show.paid_episode_id, now_s=issued
    )
    return fan.get(key_url(episode_id=show.paid_episode_id, token=token))


def _tampered_token(*, fan: TestClient, url: str, **_: object) -> Response:
    token = _token(url)
    # Change the payload (another viewer id would be the point of tampering), keep the signature.
    payload, _, signature = token.partition(".")
    flipped = payload[:-1] + ("A" if payload[-1] != "A" else "B")
    return fan.get(url.replace(token, f"{flipped}.{signature}"))


def _token_signed_with_another_secret(*, fan: TestClient, show: Show, **_: object) -> Response:
    forged = URLSafeSerializer("not-our-secret", salt=KEY_TOKEN_SALT).dumps(
        [viewer_id(fan), show.paid_episode_id, int(time.time())]
    )
    return fan.get(key_url(episode_id=show.paid_episode_id, token=str(forged)))


def _refunded_unlock(
    *, fan: TestClient, show: Show, db: Session, url: str, **_: object
) -> Response:
    paywall.refund_unlock(
        db=db, viewer_id=viewer_id(fan), episode_id=show.paid_episode_id, reason="refund"
    )
    db.commit()
    return fan.get(url)  # the token is still fresh


def _expired_vip(
    *, app_client: ClientFactory, show: Show, db: Session, settings: Settings, **_: object
) -> Response:
    lapsed = app_client()
    give_vip(db, viewer_id(lapsed), days_left=-0.01)
    token = issue_key_token(
        settings=settings, viewer_id=viewer_id(lapsed), episode_id=show.paid_episode_id
    )
    return lapsed.get(key_url(episode_id=show.paid_episode_id, token=token))


@pytest.mark.parametrize(
    ("attack", "status", "error"),
    [
        (_anonymous, 403, "key_token_invalid"),
        (_other_viewer, 403, "key_token_invalid"),
        (_no_token, 401, "key_token_missing"),
        (_token_for_another_episode, 403, "key_token_invalid"),
        (_expired_token, 403, "key_token_expired"),
        (_tampered_token, 403, "key_token_invalid"),
        (_token_signed_with_another_secret, 403, "key_token_invalid"),
        (_refunded_unlock, 403, "episode_locked"),
        (_expired_vip, 403, "episode_locked"),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else str(v),
)
def test_nobody_else_gets_a_single_key_byte(
    attack: Attack,
    status: int,
    error: str,
    app: FastAPI,
    client: TestClient,
    new_device: ClientFactory,
    db: Session,
    show: Show,
    settings: Settings,
) -> None:
    fan = client
    unlock(db, viewer_id(fan), show.paid_episode_id)
    url = key_url_for(fan, show.paid_episode_id)
    assert fan.get(url).content == show.keys[show.paid_episode_id]  # the fan's own key works

    response = attack(
        fan=fan, app=app, app_client=new_device, url=url, show=show, db=db, settings=settings
    )

    _assert_no_key(response, show.keys[show.paid_episode_id], status=status, error=error)


def test_an_active_vip_plays_every_episode_and_loses_it_when_the_pass_ends(
    new_device: ClientFactory, db: Session, show: Show
) -> None:
    vip = new_device()
    give_vip(db, viewer_id(vip), days_left=3)

    url = key_url_for(vip, show.paid_episode_id)
    assert vip.get(url).content == show.keys[show.paid_episode_id]

    from microdrama.payments.models import VipPass

    for vip_pass in db.query(VipPass).filter_by(account_id=viewer_id(vip)):
        vip_pass.revoked_at = vip_pass.starts_at  # refunded
    db.commit()
    _assert_no_key(
        vip.get(url), show.keys[show.paid_episode_id], status=403, error="episode_locked"
    )
    assert vip.get(f"/api/episodes/{show.paid_episode_id}/hls/master.m3u8").status_code == 403
