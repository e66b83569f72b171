"""Binge latency: from "next episode" to the next episode's first frame, in headless Chromium.

    .venv/bin/python bench/next_episode.py [--runs 20] [--cold-runs 10]

Seeds one demo series of short 720x1280 episodes through the real pipeline (seed-demo's code
path), serves it with the app under uvicorn on loopback and opens the binge player
(/watch/{id}) in headless Chromium through Playwright. The player exposes window.__player
(web/static/js/player.js): `next()` records `nextRequestedAt`, and `firstFrameAt` is set when
the next episode's first frame is presented (requestVideoFrameCallback, or two animation
frames after the swap when the frame was already decoded).

  next   the viewer's path: the current episode has played long enough for the player to
         prefetch the next one (it starts at 1 s), then next() is called (what `ended` does).
  cold   a jump to an episode that was not prefetched (the episode drawer), for comparison.

Target (issue): next-episode first frame median <= 250 ms on loopback. The baseline in the
same run is the first frame of the page's first episode, measured from navigation start.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from common import (
    app_env,
    emit_json,
    free_port,
    median,
    migrated_sqlite,
    percentile,
    running,
    uvicorn_command,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--autoplay-policy=no-user-gesture-required",
]
TARGET_MEDIAN_MS = 250.0

# Resolves with the switch's figures once the new episode's first frame is on screen.
SWITCH_JS = """
async ({ episodeId, timeoutMs }) => {
  const p = window.__player;
  if (episodeId === null) p.next(); else p.play(episodeId);
  const deadline = performance.now() + timeoutMs;
  while (p.firstFrameAt === null) {
    if (performance.now() > deadline) return { ms: null, how: p.lastSwitch, id: p.episodeId };
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
  return { ms: p.firstFrameAt - p.nextRequestedAt, how: p.lastSwitch, id: p.episodeId };
}
"""

# True once the current episode has played past the point where the player starts the
# prefetch (1 s) and the hidden slot holds a decoded frame of a loaded stream.
PREFETCHED_JS = """
() => {
  const active = window.__player.video;
  const spare = [...document.querySelectorAll("video")].find((v) => v !== active);
  return Boolean(
    window.__player.firstFrameAt !== null && active.currentTime >= 1.5 &&
    spare && spare.currentSrc && spare.readyState >= 2
  );
}
"""

STATE_JS = """
() => [...document.querySelectorAll("video")].map((v) => ({
  active: v === window.__player.video, readyState: v.readyState, paused: v.paused,
  currentTime: v.currentTime, src: Boolean(v.currentSrc), error: v.error && v.error.code,
}))
"""


def seed(data_dir: Path, database_url: str, episodes: int, seconds: float) -> list[int]:
    """One published demo series, through render, upload and transcode; its episode ids."""
    from microdrama.catalog import service as catalog_service
    from microdrama.config import Settings
    from microdrama.db import make_engine, make_sessionmaker, session_scope
    from microdrama.demo.seed import seed_demo

    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        embedded_worker=False,
        ladder_heights=[1280, 854],
        x264_preset="ultrafast",
    )
    result = seed_demo(
        settings=settings, series_count=1, episodes_per_series=episodes, seconds=seconds
    )
    if not result.ok:
        raise RuntimeError(f"seeding failed: {result.series}")
    engine = make_engine(database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            series = catalog_service.get(db=db, series_id=result.series[0].series_id)
            assert series is not None
            # Every episode free: the benchmark measures playback, not the paywall.
            series.free_episodes = len(series.episodes)
            return [e.id for e in series.episodes]
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="prefetched next() switches")
    parser.add_argument("--cold-runs", type=int, default=10, help="jumps without prefetch")
    parser.add_argument("--episode-seconds", type=float, default=4.0)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    next_ms: list[float] = []
    cold_ms: list[float] = []
    how: dict[str, int] = {}
    console: list[str] = []
    with tempfile.TemporaryDirectory(prefix="microdrama-bench-next-") as tmp:
        data_dir = Path(tmp)
        url = migrated_sqlite(data_dir)
        episodes = args.runs + 2
        print(f"seeding {episodes} episodes of {args.episode_seconds:.0f} s ...", flush=True)
        started = time.perf_counter()
        episode_ids = seed(data_dir, url, episodes, args.episode_seconds)
        print(f"  seeded in {time.perf_counter() - started:.0f} s", flush=True)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with (
            running(
                uvicorn_command(port),
                ready_url=f"{base}/api/feed",
                # The benchmark reads the player's clocks through window.__player.
                env=app_env(data_dir, url, MICRODRAMA_EXPOSE_TEST_HOOKS="true"),
            ),
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 390, "height": 844})
                page.on(
                    "console",
                    lambda msg: (
                        console.append(f"{msg.type}: {msg.text}")
                        if msg.type in ("warning", "error")
                        else None
                    ),
                )
                page.goto(f"{base}/watch/{episode_ids[0]}")
                try:
                    page.wait_for_function(
                        "window.__player && window.__player.firstFrameAt !== null",
                        timeout=20_000,
                    )
                except Exception:
                    print(f"the first episode never showed a frame: {page.evaluate(STATE_JS)}")
                    print("\n".join(console[-10:]))
                    raise
                first_frame_ms = float(page.evaluate("window.__player.firstFrameAt"))
                for run in range(args.runs):
                    # What a viewer gets at the end of an episode: the next one is prefetched.
                    page.wait_for_function(PREFETCHED_JS, timeout=15_000)
                    switch: dict[str, Any] = page.evaluate(
                        SWITCH_JS, {"episodeId": None, "timeoutMs": 10_000}
                    )
                    if not record(switch, next_ms, how, f"next {run + 1:2d}"):
                        recover(page, base, episode_ids, console)
                for run in range(args.cold_runs):
                    # Two episodes ahead (wrapping round): only the next one is prefetched.
                    current = episode_ids.index(page.evaluate("window.__player.episodeId"))
                    target = episode_ids[(current + 2) % len(episode_ids)]
                    page.wait_for_timeout(500)
                    switch = page.evaluate(SWITCH_JS, {"episodeId": target, "timeoutMs": 10_000})
                    if not record(switch, cold_ms, how, f"cold {run + 1:2d}"):
                        recover(page, base, episode_ids, console)
            finally:
                browser.close()

    print()
    print(f"first episode first frame after navigation: {first_frame_ms:7.1f} ms (baseline)")
    summary = {"next": next_ms, "cold": cold_ms}
    for name, values in summary.items():
        if values:
            print(
                f"{name:<5} median {median(values):7.1f} ms  p90 {percentile(values, 0.9):7.1f} ms"
                f"  min {min(values):6.1f}  max {max(values):6.1f}  (n={len(values)})"
                f"  ratio to first load {median(values) / first_frame_ms:.2f}"
            )
    met = bool(next_ms) and median(next_ms) <= TARGET_MEDIAN_MS
    print(
        f"next-episode median vs target {TARGET_MEDIAN_MS:.0f} ms: {'met' if met else 'NOT met'}; "
        f"switch kinds: {how}"
    )
    emit_json(
        "next_episode",
        runs=len(next_ms),
        next_median_ms=round(median(next_ms), 1),
        next_p90_ms=round(percentile(next_ms, 0.9), 1),
        cold_median_ms=round(median(cold_ms), 1) if cold_ms else None,
        cold_p90_ms=round(percentile(cold_ms, 0.9), 1) if cold_ms else None,
        first_load_ms=round(first_frame_ms, 1),
        next_ms=[round(v, 1) for v in next_ms],
        cold_ms=[round(v, 1) for v in cold_ms],
        switch_kinds=how,
        target_met=met,
    )


def record(switch: dict[str, Any], values: list[float], how: dict[str, int], label: str) -> bool:
    kind = str(switch.get("how"))
    how[kind] = how.get(kind, 0) + 1
    if switch.get("ms") is None:
        how["no first frame"] = how.get("no first frame", 0) + 1
        print(f"  {label}: no first frame within 10 s ({kind})", flush=True)
        return False
    values.append(float(switch["ms"]))
    print(f"  {label}: {values[-1]:7.1f} ms ({kind}, episode id {switch.get('id')})", flush=True)
    return True


def recover(page: Any, base: str, episode_ids: list[int], console: list[str]) -> None:
    """Show why a switch stalled, then reload the player to carry on measuring."""
    print(f"    video elements: {page.evaluate(STATE_JS)}", flush=True)
    for line in console[-5:]:
        print(f"    console {line}", flush=True)
    current = page.evaluate("window.__player.episodeId")
    page.goto(f"{base}/watch/{current or episode_ids[0]}")
    page.wait_for_function("window.__player && window.__player.firstFrameAt !== null")


if __name__ == "__main__":
    main()
