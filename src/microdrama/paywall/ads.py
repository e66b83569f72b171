"""Rewarded ads: "watch an ad to unlock one episode", granted only by a verified callback.

The flow mirrors AdMob's server-side verification (SSV): the app starts an ad session (a signed
token bound to the viewer, the episode and the time of issue), plays the ad, and the ad network
calls our SSV endpoint with a signed query (ad_network, ad_unit, custom_data = episode id,
reward_amount, timestamp, transaction_id, user_id, then signature and key_id). Only a callback
with a valid HMAC-SHA256 signature, a fresh timestamp and a never-seen transaction id, within
the viewer's daily cap, grants an Unlock(method=ad). The built-in sandbox network delivers its
callback through the very same verification function.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from microdrama.accounts.models import Account
from microdrama.catalog import service as catalog_service
from microdrama.catalog.models import EpisodeState
from microdrama.config import Settings
from microdrama.db import utcnow
from microdrama.errors import Conflict, DomainError
from microdrama.media.signed_tokens import SignedValues
from microdrama.paywall import service as paywall_service
from microdrama.paywall.entitlement import ads_left_today, entitlement, ready_episode
from microdrama.paywall.models import AdReward, UnlockMethod
from microdrama.storage import Storage
from microdrama.wallet import ledger

AD_SESSION_SALT = "microdrama.ad-session"
# An ad session older than this cannot be completed any more (the viewer left long ago).
AD_SESSION_MAX_AGE_MS = 60 * 60 * 1000
SANDBOX_AD_NETWORK = "microdrama-sandbox"
SANDBOX_AD_UNIT = "rewarded/unlock-one-episode"
SANDBOX_KEY_ID = "sandbox-1"
# A callback whose timestamp is further than this from our clock is refused (replay window).
CALLBACK_TOLERANCE_MS = 5 * 60 * 1000
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")

_render_lock = threading.Lock()


class AdLimitReached(DomainError, code="ad_limit_reached", status_code=429): ...


class AdSessionInvalid(DomainError, code="ad_session_invalid", status_code=403): ...


class AdNotFinished(Conflict, code="ad_not_finished"): ...


class AlreadyEntitled(Conflict, code="already_entitled"): ...


class AdCallbackInvalid(DomainError, code="ad_callback_invalid", status_code=400): ...


class AdCallbackStale(DomainError, code="ad_callback_stale", status_code=400): ...


class AdCallbackReplayed(Conflict, code="ad_callback_replayed"): ...


@dataclass(frozen=True)
class AdSession:
    ad_session: str
    ad_url: str
    duration_ms: int
    ads_left_today: int


@dataclass(frozen=True)
class AdGrant:
    granted: bool
    reason: str  # "unlocked", or the entitlement the viewer already had
    episode_id: int
    viewer_id: int
    transaction_id: str
    ads_left_today: int


def _now_ms(now: datetime | None) -> int:
    return int((now.timestamp() if now is not None else time.time()) * 1000)


def ad_duration_ms(settings: Settings) -> int:
    return settings.sandbox_ad_seconds * 1000


def ensure_sandbox_ad(*, storage: Storage, settings: Settings) -> str:
    """The built-in ad's storage key, rendering the video with ffmpeg on first use (one video
    per length, so a changed setting never plays an ad of the old length)."""
    key = f"ads/sandbox/rewarded-v1-{settings.sandbox_ad_seconds}s.mp4"
    if storage.exists(key):
        return key
    with _render_lock:
        if storage.exists(key):
            return key
        with tempfile.TemporaryDirectory(prefix="microdrama-ad-") as tmp:
            out = Path(tmp) / "ad.mp4"
            subprocess.run(_ad_command(settings, out), check=True, capture_output=True, timeout=120)
            storage.save_file(key, out)
    return key


def _ad_command(settings: Settings, out: Path) -> list[str]:
    seconds = settings.sandbox_ad_seconds
    text = ""
    if FONT.exists():
        lines = [
            ("Your ad here", 64, "h*0.36"),
            ("microdrama sandbox ad", 34, "h*0.46"),
            ("Reward\\: one episode unlocked", 30, "h*0.70"),
            ("%{eif\\:" + f"{seconds:.0f}" + "-t\\:d}", 96, "h*0.80"),
        ]
        text = "".join(
            f",drawtext=fontfile={FONT}:text='{line}':fontsize={size}:fontcolor=white"
            f":borderw=3:x=(w-tw)/2:y={y}"
            for line, size, y in lines
        )
    video = f"[0:v][1:v]overlay=x='(W-w)/2+(W/3)*sin(t*2)':y=H*0.12,format=yuv420p{text}[v]"
    return [
        settings.ffmpeg_bin, "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
        "-f", "lavfi", "-i", f"color=c=0x6a1b9a:s=540x960:r=30:d={seconds}",
        "-f", "lavfi", "-i", f"testsrc2=s=200x200:r=30:d={seconds}",
        "-f", "lavfi", "-i", f"sine=f=523:beep_factor=2:d={seconds}",
        "-filter_complex", video, "-map", "[v]", "-map", "2:a",
        "-c:v", "libx264", "-preset", settings.x264_preset, "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart", "-t", f"{seconds}",
        str(out),
    ]  # fmt: skip


# [viewer_id, episode_id, issued_ms, nonce]
_AD_SESSION = SignedValues(AD_SESSION_SALT, int, int, int, str)


def start_ad_session(
    *,
    db: Session,
    storage: Storage,
    settings: Settings,
    viewer: Account,
    episode_id: int,
    now: datetime | None = None,
) -> AdSession:
    """Start watching the built-in ad to unlock one episode (within today's cap)."""
    episode = ready_episode(db=db, episode_id=episode_id, viewer=viewer)
    current = entitlement(db=db, viewer=viewer, episode=episode, now=now)
    if current.allowed:
        raise AlreadyEntitled(
            "You can already watch this episode.", episode_id=episode.id, reason=current.reason
        )
    left = ads_left_today(db=db, settings=settings, viewer_id=viewer.id, now=now)
    if left <= 0:
        raise AdLimitReached(
            f"You have unlocked {settings.ad_unlocks_per_day} episodes with ads today; "
            "come back tomorrow.",
            ads_per_day=settings.ad_unlocks_per_day,
        )
    key = ensure_sandbox_ad(storage=storage, settings=settings)
    nonce = secrets.token_hex(16)
    token = _AD_SESSION.dumps(settings, [viewer.id, episode.id, _now_ms(now), nonce])
    return AdSession(
        ad_session=token,
        ad_url=storage.url(key),
        duration_ms=ad_duration_ms(settings),
        ads_left_today=left,
    )


def _read_ad_session(settings: Settings, ad_session: str) -> tuple[int, int, int, str]:
    payload = _AD_SESSION.loads(settings, ad_session)
    if payload is None:
        raise AdSessionInvalid("This ad session is not valid.")
    return payload[0], payload[1], payload[2], payload[3]


def sign_callback(*, secret: str, message: str) -> str:
    """The ad network's signature of a callback query (base64url HMAC-SHA256, no padding)."""
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def callback_query(
    *,
    settings: Settings,
    viewer_id: int,
    episode_id: int,
    transaction_id: str,
    now: datetime | None = None,
) -> str:
    """The SSV query string the sandbox ad network sends, signed like a real network's."""
    message = urlencode(
        [
            ("ad_network", SANDBOX_AD_NETWORK),
            ("ad_unit", SANDBOX_AD_UNIT),
            ("custom_data", str(episode_id)),
            ("reward_amount", "1"),
            ("reward_item", "episode"),
            ("timestamp", str(_now_ms(now))),
            ("transaction_id", transaction_id),
            ("user_id", str(viewer_id)),
        ]
    )
    signature = sign_callback(secret=settings.ad_network_secret, message=message)
    return f"{message}&signature={signature}&key_id={SANDBOX_KEY_ID}"


def complete_ad_session(
    *,
    db: Session,
    settings: Settings,
    viewer: Account,
    ad_session: str,
    now: datetime | None = None,
) -> AdGrant:
    """The ad finished playing: the sandbox network signs and delivers its SSV callback."""
    viewer_id, episode_id, issued_ms, nonce = _read_ad_session(settings, ad_session)
    if viewer_id != viewer.id:
        raise AdSessionInvalid("This ad session belongs to someone else.")
    elapsed_ms = _now_ms(now) - issued_ms
    if elapsed_ms > AD_SESSION_MAX_AGE_MS or elapsed_ms < 0:
        raise AdSessionInvalid("This ad session has expired; start the ad again.")
    if elapsed_ms < (duration_ms := ad_duration_ms(settings)):
        raise AdNotFinished("The ad has not finished yet.", remaining_ms=duration_ms - elapsed_ms)
    # The session's nonce is the network's transaction id: completing twice is a replay.
    query = callback_query(
        settings=settings,
        viewer_id=viewer_id,
        episode_id=episode_id,
        transaction_id=nonce,
        now=now,
    )
    return verify_callback(db=db, settings=settings, query=query, now=now)


def _parse_signed_query(settings: Settings, query: str) -> dict[str, str]:
    """The callback's parameters, if its signature is the ad network's; AdCallbackInvalid else."""
    message, marker, tail = query.partition("&signature=")
    if not marker:
        raise AdCallbackInvalid("The callback is not signed.")
    try:
        tail_params = dict(parse_qsl("signature=" + tail, strict_parsing=True))
    except ValueError as exc:
        raise AdCallbackInvalid("The callback's signature is malformed.") from exc
    if set(tail_params) != {"signature", "key_id"} or tail_params["key_id"] != SANDBOX_KEY_ID:
        raise AdCallbackInvalid("The callback is signed with an unknown key.")
    expected = sign_callback(secret=settings.ad_network_secret, message=message)
    if not hmac.compare_digest(expected.encode(), tail_params["signature"].encode()):
        raise AdCallbackInvalid("The callback's signature is not valid.")
    try:
        pairs = parse_qsl(message, strict_parsing=True, keep_blank_values=True)
    except ValueError as exc:
        raise AdCallbackInvalid("The callback's query is malformed.") from exc
    params = dict(pairs)
    if len(params) != len(pairs):
        raise AdCallbackInvalid("The callback repeats a parameter.")
    return params


def verify_callback(
    *, db: Session, settings: Settings, query: str, now: datetime | None = None
) -> AdGrant:
    """Verify an ad network's SSV callback and grant its reward once; never on a bad callback."""
    params = _parse_signed_query(settings, query)
    try:
        viewer_id = int(params["user_id"])
        episode_id = int(params["custom_data"])
        timestamp_ms = int(params["timestamp"])
        reward_amount = int(params["reward_amount"])
        transaction_id = params["transaction_id"]
    except (KeyError, ValueError) as exc:
        raise AdCallbackInvalid("The callback lacks a required parameter.") from exc
    if not 1 <= len(transaction_id) <= 128 or reward_amount != 1:
        raise AdCallbackInvalid("The callback's transaction or reward is not valid.")
    if abs(_now_ms(now) - timestamp_ms) > CALLBACK_TOLERANCE_MS:
        raise AdCallbackStale("The callback is too old (or from the future).")

    # One reward at a time per viewer, so concurrent callbacks cannot pass the cap together.
    viewer = db.scalar(select(Account).where(Account.id == viewer_id).with_for_update())
    episode = catalog_service.get_episode(db=db, episode_id=episode_id)
    if viewer is None or episode is None or episode.state != EpisodeState.ready:
        raise AdCallbackInvalid("The callback names an unknown viewer or episode.")
    if db.scalar(select(AdReward.id).where(AdReward.transaction_id == transaction_id)):
        raise AdCallbackReplayed("This ad view was already rewarded.")
    left = ads_left_today(db=db, settings=settings, viewer_id=viewer_id, now=now)
    if left <= 0:
        raise AdLimitReached(
            f"The daily limit of {settings.ad_unlocks_per_day} ad unlocks is reached.",
            ads_per_day=settings.ad_unlocks_per_day,
        )
    current = entitlement(db=db, viewer=viewer, episode=episode, now=now)
    try:
        with db.begin_nested():
            reward = AdReward(
                transaction_id=transaction_id,
                account_id=viewer_id,
                episode_id=episode_id,
                created_at=now or utcnow(),
            )
            db.add(reward)
            db.flush()
            if not current.allowed:
                paywall_service.grant_unlock(
                    db=db, viewer_id=viewer_id, episode=episode, method=UnlockMethod.ad
                )
                ledger.record_ad_unlock(
                    db=db,
                    viewer_id=viewer_id,
                    reference=f"ad_reward:{reward.id}",
                    memo=f"Unlocked episode {episode.number} of {episode.series.title}",
                    details={"episode_id": episode.id, "series_id": episode.series_id},
                )
    except IntegrityError as exc:  # the same transaction id, committed a moment ago
        raise AdCallbackReplayed("This ad view was already rewarded.") from exc
    return AdGrant(
        granted=not current.allowed,
        reason="unlocked" if not current.allowed else current.reason,
        episode_id=episode_id,
        viewer_id=viewer_id,
        transaction_id=transaction_id,
        ads_left_today=left - 1,
    )
