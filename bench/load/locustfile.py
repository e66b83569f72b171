"""Simulated viewers bingeing, as the web player does it (locust; run by bench/load/run.py).

Each viewer is a new guest (a device cookie of its own) that opens the feed, picks a series,
and plays it episode by episode the way player.js and hls.js do: the gated master and
rendition playlists, the segment key, the segments at the pace of playback, a batch of
playback events (analytics.js) and the saved position (progress.js), then the next episode's
access. At the first locked episode it buys a coin pack now and then (the sandbox checkout, as
the paywall sheet does) and unlocks with coins; otherwise it swipes to another series.

Every request is named after its step ("segment", "key", "unlock"...) so the statistics read
per step. Tuned by environment variables (bench/load/run.py sets them):
  LOAD_SEGMENT_SECONDS  seconds of playback each segment stands for (pacing; default 2)
  LOAD_BUY_SHARE        share of viewers at a paywall who buy coins (default 0.2)
"""

from __future__ import annotations

import os
import random
import re
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from locust import FastHttpUser, between, task

SEGMENT_SECONDS = float(os.environ.get("LOAD_SEGMENT_SECONDS", "2"))
BUY_SHARE = float(os.environ.get("LOAD_BUY_SHARE", "0.2"))
GOOD_CARD = {"card_number": "4242 4242 4242 4242", "expiry": "12/39", "cvc": "123"}
_KEY_URI = re.compile(r'#EXT-X-KEY:.*URI="([^"]+)"')


def _path(url: str) -> str:
    """A URL of the app's as a path on the host under test (the app may name its own host)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _media_lines(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


class BingeViewer(FastHttpUser):
    """A guest who binges: a series at a time, episodes in order, a purchase now and then."""

    wait_time = between(0.5, 2.0)  # between series: a swipe, a look at the next card
    # A viewer's requests reuse its connection, as a browser's do.
    concurrency = 1

    def on_start(self) -> None:
        self.session_id = uuid.uuid4().hex
        self.coins = 0
        self.series_ids: list[int] = []

    def _events(self, episode_id: int, kinds: list[tuple[str, int]]) -> None:
        now = datetime.now(UTC).isoformat()
        batch = [
            {
                "event_id": uuid.uuid4().hex,
                "kind": kind,
                "episode_id": episode_id,
                "session_id": self.session_id,
                "position_ms": position_ms,
                "occurred_at": now,
            }
            for kind, position_ms in kinds
        ]
        self.client.post("/api/events", json={"events": batch}, name="events")

    def _buy_coins(self) -> bool:
        """The paywall's "Buy coins": a purchase, then the sandbox card page paid."""
        with self.client.post(
            "/api/purchases",
            json={"coin_pack": "coins_500", "return_to": "/wallet"},
            headers={"Idempotency-Key": str(uuid.uuid4())},
            name="purchase",
            catch_response=True,
        ) as created:
            if created.status_code != 201:
                created.failure(f"purchase: HTTP {created.status_code}")
                return False
            checkout = _path(created.json()["checkout_url"])
        with self.client.post(
            checkout,
            data={**GOOD_CARD, "return_to": "/wallet"},
            allow_redirects=False,
            name="checkout (pay)",
            catch_response=True,
        ) as paid:
            if paid.status_code != 303:
                paid.failure(f"checkout: HTTP {paid.status_code}")
                return False
        self.coins += 500
        return True

    def _unlock(self, episode_id: int, price_coins: int) -> bool:
        if self.coins < price_coins and (random.random() >= BUY_SHARE or not self._buy_coins()):
            return False  # swipes away to another series
        with self.client.post(
            f"/api/episodes/{episode_id}/unlock",
            json={"method": "coins"},
            headers={"Idempotency-Key": str(uuid.uuid4())},
            name="unlock",
            catch_response=True,
        ) as answer:
            if answer.status_code != 200:
                answer.failure(f"unlock: HTTP {answer.status_code} {answer.text[:200]}")
                return False
        self.coins -= price_coins
        self._events(episode_id, [("unlock", 0)])
        return True

    def _play(self, episode: dict[str, Any]) -> bool:
        """One episode as hls.js plays it; False when it could not be played."""
        episode_id = episode["id"]
        master = self.client.get(_path(episode["playlist_url"]), name="master playlist")
        if master.status_code != 200:
            return False
        rendition_url = urljoin(episode["playlist_url"], _media_lines(master.text)[-1])
        rendition = self.client.get(_path(rendition_url), name="rendition playlist")
        if rendition.status_code != 200:
            return False
        key = _KEY_URI.search(rendition.text)
        if key is not None:
            self.client.get(_path(urljoin(rendition_url, key.group(1))), name="key")
        self._events(episode_id, [("start", 0)])
        played_ms = 0
        for n, segment in enumerate(_media_lines(rendition.text)):
            self.client.get(_path(urljoin(rendition_url, segment)), name="segment")
            self._sleep(SEGMENT_SECONDS)
            played_ms += int(SEGMENT_SECONDS * 1000)
            if n % 2 == 1:
                self.client.post(
                    f"/api/episodes/{episode_id}/progress",
                    json={"position_ms": played_ms},
                    name="progress",
                )
        self._events(episode_id, [("progress", played_ms), ("complete", played_ms)])
        return True

    def _sleep(self, seconds: float) -> None:
        import gevent

        gevent.sleep(seconds)

    @task
    def binge_a_series(self) -> None:
        if not self.series_ids:
            feed = self.client.get("/api/feed", name="feed")
            self.series_ids = [item["id"] for item in feed.json()["items"]]
            if not self.series_ids:
                return
        series = self.client.get(
            f"/api/series/{random.choice(self.series_ids)}", name="series"
        ).json()
        for episode in series["episodes"]:
            if episode["locked"]:
                access = self.client.get(
                    f"/api/episodes/{episode['id']}/access", name="access"
                ).json()
                if not access["allowed"]:
                    self._events(episode["id"], [("paywall_shown", 0)])
                    if not self._unlock(episode["id"], access["price_coins"]):
                        return
            if not self._play(episode):
                return
