"""What a viewer notices in a real Chromium: the feed plays, swipes, binges and resumes.

Every wait is on something the page shows (a video's clock, a label, the URL), never a sleep.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from microdrama.demo.clips import SAFE_AREA
from tests.support.browser import DESKTOP, SQLITE_ONLY, Site, _context
from tests.support.servers import running_server, server_env

# On PostgreSQL, the production database, the first journeys run behind nginx
# (test_nginx_journeys.py).
pytestmark = [pytest.mark.browser, SQLITE_ONLY]

WAIT_MS = 30_000

FEED_VIDEO_PLAYING = """(index) => {
  const v = document.querySelectorAll('[data-testid=feed-card] video')[index];
  return window.__feed && window.__feed.index === index && v.currentTime > 0.5 && !v.paused;
}"""


def _feed_video_state(page: Page, index: int) -> dict[str, float | bool]:
    return page.evaluate(
        """(index) => {
          const v = document.querySelectorAll('[data-testid=feed-card] video')[index];
          return {time: v.currentTime, paused: v.paused, width: v.videoWidth};
        }""",
        index,
    )


def _swipe_up(page: Page, *, x: int, from_y: int, to_y: int) -> None:
    """A finger dragged up the touch screen (real touch events, as a phone sends them)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send(
        "Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": from_y}]}
    )
    for y in range(from_y, to_y - 1, -25):
        cdp.send(
            "Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]}
        )
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def test_feed_opens_on_a_playing_series_with_its_length(page: Page, site: Site) -> None:
    page.goto("/")

    first_card = page.get_by_test_id("feed-card").first
    expect(first_card.get_by_role("heading")).to_have_text("Alpha's Secret")
    expect(first_card.get_by_test_id("series-meta")).to_have_text("2 episodes · 8 s")
    expect(first_card.get_by_role("link", name="Watch from episode 1")).to_be_visible()
    page.wait_for_function(
        """() => { const v = window.__feed && window.__feed.video;
                   return v && v.currentTime > 1 && v.videoWidth > 0; }""",
        timeout=WAIT_MS,
    )
    assert page.evaluate("window.__feed.video.muted") is True
    expect(first_card.get_by_role("button", name="Tap to unmute")).to_be_visible()


def test_arrow_key_and_wheel_move_one_series_at_a_time(page: Page, site: Site) -> None:
    page.goto("/")
    page.wait_for_function(FEED_VIDEO_PLAYING, arg=0, timeout=WAIT_MS)

    page.keyboard.press("ArrowDown")
    page.wait_for_function(FEED_VIDEO_PLAYING, arg=1, timeout=WAIT_MS)
    assert _feed_video_state(page, 0)["paused"] is True

    page.mouse.move(640, 400)
    page.mouse.wheel(0, 400)
    page.wait_for_function(FEED_VIDEO_PLAYING, arg=2, timeout=WAIT_MS)
    assert _feed_video_state(page, 1)["paused"] is True

    page.mouse.wheel(0, -400)
    page.wait_for_function(FEED_VIDEO_PLAYING, arg=1, timeout=WAIT_MS)
    assert _feed_video_state(page, 2)["paused"] is True


def test_touch_swipe_up_plays_the_next_series(phone_page: Page, site: Site) -> None:
    page = phone_page
    page.goto("/")
    page.wait_for_function(FEED_VIDEO_PLAYING, arg=0, timeout=WAIT_MS)

    _swipe_up(page, x=195, from_y=650, to_y=150)

    page.wait_for_function(FEED_VIDEO_PLAYING, arg=1, timeout=WAIT_MS)
    assert _feed_video_state(page, 0)["paused"] is True
    assert _feed_video_state(page, 1)["width"] > 0


def test_next_episode_starts_by_itself_when_one_ends(page: Page, site: Site) -> None:
    series = site.series["Contract Bride"]
    first, second = series.episode_ids[:2]
    page.goto(f"/series/{series.id}")
    expect(page.get_by_test_id("series-meta")).to_have_text("3 episodes · 12 s")
    expect(page.get_by_test_id("episode-tile")).to_have_count(3)

    page.get_by_role("link", name="Watch from episode 1").click()
    expect(page).to_have_url(re.compile(f"/watch/{first}$"))
    page.wait_for_function(
        "() => window.__player && window.__player.video.currentTime > 0.5", timeout=WAIT_MS
    )

    expect(page.get_by_test_id("episode-label")).to_have_text("Episode 2 / 3", timeout=WAIT_MS)
    expect(page).to_have_url(re.compile(f"/watch/{second}$"))
    page.wait_for_function(
        f"""() => window.__player.episodeId === {second}
                  && window.__player.video.currentTime > 0.5 && !window.__player.video.paused""",
        timeout=WAIT_MS,
    )
    # It came from the buffer filled while episode 1 played, not from a fresh load.
    assert page.evaluate("window.__player.lastSwitch") == "prefetched"
    assert page.evaluate("window.__player.firstFrameAt") is not None


def test_reload_and_return_resume_where_the_viewer_left(page: Page, site: Site) -> None:
    series = site.series["Midnight Heir"]
    episode = series.episode_ids[0]
    page.goto(f"/watch/{episode}")
    page.wait_for_function(
        "() => window.__player && window.__player.video.currentTime > 0.3", timeout=WAIT_MS
    )
    page.get_by_label("Seek").fill("6")
    page.wait_for_function("() => window.__player.video.currentTime > 7", timeout=WAIT_MS)
    left_at = page.evaluate("window.__player.video.currentTime")

    page.reload()
    page.wait_for_function(
        "() => window.__player && window.__player.firstFrameAt !== null", timeout=WAIT_MS
    )
    resumed_at = page.evaluate("window.__player.video.currentTime")
    assert left_at - 3 <= resumed_at <= left_at + 3

    page.goto("/")
    row = page.get_by_role("navigation", name="Continue watching")
    expect(row).to_be_visible()
    saved = page.request.get(f"/api/series/{series.id}/progress").json()["episodes"]
    saved_at = next(p["position_ms"] for p in saved if p["episode_id"] == episode) / 1000
    assert saved_at > 5

    row.get_by_role("link", name=re.compile("Continue Midnight Heir")).click()
    expect(page).to_have_url(re.compile(f"/watch/{episode}"))
    page.wait_for_function(
        "() => window.__player && window.__player.firstFrameAt !== null", timeout=WAIT_MS
    )
    resumed_at = page.evaluate("window.__player.video.currentTime")
    assert saved_at - 3 <= resumed_at <= saved_at + 3


def test_an_episode_that_fails_to_load_says_so_and_can_be_retried(page: Page, site: Site) -> None:
    series = site.series["Alpha's Secret"]
    episode = series.episode_ids[0]
    page.route("**/hls/**/*.m3u8", lambda route: route.fulfill(status=404, body="gone"))

    page.goto(f"/watch/{episode}")

    alert = page.get_by_test_id("player-error")
    expect(alert).to_be_visible(timeout=WAIT_MS)
    expect(alert).to_contain_text("This episode could not be loaded.")

    page.unroute("**/hls/**/*.m3u8")
    alert.get_by_role("button", name="Retry").click()
    expect(alert).to_be_hidden()
    page.wait_for_function(
        "() => window.__player.video.currentTime > 0.5 && window.__player.video.videoWidth > 0",
        timeout=WAIT_MS,
    )


# What the page scripts publish for tests and benchmarks when the setting enables them.
TEST_HOOKS = """() => ['__player', '__paywall', '__shop', '__subtitles', '__reminder',
  '__analytics', '__feed'].filter((name) => name in window)"""


def test_viewers_browsers_get_no_test_hooks_unless_the_setting_enables_them(
    browser: Browser, page: Page, site: Site, database_url: str
) -> None:
    episode = site.series["Contract Bride"].episode_ids[0]
    env = server_env(
        database_url=database_url, data_dir=site.data_dir, MICRODRAMA_EXPOSE_TEST_HOOKS="false"
    )
    with running_server(env, site.data_dir / "server-without-hooks.log") as base_url:
        context = browser.new_context(base_url=base_url, viewport=DESKTOP)
        viewer = context.new_page()
        errors: list[str] = []
        viewer.on("pageerror", lambda error: errors.append(str(error)))

        viewer.goto(f"/watch/{episode}")
        viewer.wait_for_function(
            "() => document.querySelector('#video-a').currentTime > 0.5", timeout=WAIT_MS
        )
        assert viewer.evaluate(TEST_HOOKS) == []

        viewer.goto("/")
        viewer.wait_for_function(
            "() => document.querySelector('[data-testid=feed-card] video').currentTime > 0.5",
            timeout=WAIT_MS,
        )
        assert viewer.evaluate(TEST_HOOKS) == []
        context.close()
        assert not errors, errors

    # The test servers enable them: the same page hands its state to the journeys.
    page.goto(f"/watch/{episode}")
    page.wait_for_function("() => window.__player !== undefined", timeout=WAIT_MS)
    assert set(page.evaluate(TEST_HOOKS)) >= {"__player", "__paywall", "__shop", "__analytics"}


# Where the first card's frame is drawn (object-fit and offsets applied), and the boxes of what
# lies over its top: the continue-watching row, the unmute cue and the top bar's links.
FRAME_AND_OVERLAYS = """() => {
  const card = document.querySelector('[data-testid=feed-card]');
  const v = card.querySelector('video');
  const box = v.getBoundingClientRect();
  const fit = getComputedStyle(v).objectFit;
  const scale = (fit === 'contain' ? Math.min : Math.max)(
      box.width / v.videoWidth, box.height / v.videoHeight);
  const w = v.videoWidth * scale, h = v.videoHeight * scale;
  const frame = {x: box.x + (box.width - w) / 2, y: box.y + (box.height - h) / 2, w, h,
                 videoWidth: v.videoWidth, videoHeight: v.videoHeight};
  const rect = (el) => { const r = el.getBoundingClientRect();
                         return {x: r.x, y: r.y, w: r.width, h: r.height}; };
  const overlays = [...document.querySelectorAll('.continue a, .topbar a, .topbar button')]
    .concat([card.querySelector('.unmute')]).filter(el => el && el.offsetParent !== null);
  return {frame, overlays: overlays.map(rect)};
}"""


@pytest.mark.parametrize("phone", [True, False], ids=["phone", "desktop"])
def test_nothing_covers_the_clips_title_safe_area_under_continue_watching(
    browser: Browser, site: Site, phone: bool
) -> None:
    context = _context(browser, site, phone=phone)
    page = context.new_page()
    try:
        series = site.series["Midnight Heir"]
        page.goto(f"/watch/{series.episode_ids[0]}")
        page.wait_for_function(
            "() => window.__player && window.__player.video.currentTime > 1", timeout=WAIT_MS
        )
        # Leaving the player saves the position (a beacon on page hide); the feed then has a
        # continue-watching row over its first card.
        page.goto("about:blank")
        progress_url = f"{site.base_url}/api/series/{series.id}/progress"
        for _ in range(100):
            saved = page.request.get(progress_url).json()["episodes"]
            if any(p["position_ms"] > 0 for p in saved):
                break
            page.wait_for_timeout(100)
        page.goto("/")
        expect(page.get_by_role("navigation", name="Continue watching")).to_be_visible()
        page.wait_for_function(FEED_VIDEO_PLAYING, arg=0, timeout=WAIT_MS)
        expect(page.get_by_test_id("feed-card").first.locator(".unmute")).to_be_visible()
        found = page.evaluate(FRAME_AND_OVERLAYS)
    finally:
        context.close()

    frame = found["frame"]
    # The demo clips' safe area is defined on a 720x1280 frame: scaled to this frame.
    sx, sy = frame["w"] / 720, frame["h"] / 1280
    safe = {
        "x": frame["x"] + SAFE_AREA.left * sx,
        "y": frame["y"] + SAFE_AREA.top * sy,
        "w": (SAFE_AREA.right - SAFE_AREA.left) * sx,
        "h": (SAFE_AREA.bottom - SAFE_AREA.top) * sy,
    }
    assert len(found["overlays"]) >= 2  # the continue row's card and the unmute cue at least
    for box in found["overlays"]:
        apart = (
            box["x"] + box["w"] <= safe["x"] + 1
            or safe["x"] + safe["w"] <= box["x"] + 1
            or box["y"] + box["h"] <= safe["y"] + 1
            or safe["y"] + safe["h"] <= box["y"] + 1
        )
        assert apart, f"{box} covers the title-safe area {safe} of the frame {frame}"


def test_on_a_letterboxed_phone_the_unmute_cue_sits_inside_the_frame(
    browser: Browser, site: Site
) -> None:
    # 390x844 is taller than 9:16: the frame is letterboxed (app.css), a black band above it.
    context = _context(browser, site, phone=True)
    page = context.new_page()
    try:
        page.goto("/")
        page.wait_for_function(FEED_VIDEO_PLAYING, arg=0, timeout=WAIT_MS)
        cue = page.get_by_test_id("feed-card").first.locator(".unmute")
        expect(cue).to_be_visible()
        found = page.evaluate(FRAME_AND_OVERLAYS)
        box = cue.bounding_box()
    finally:
        context.close()

    frame = found["frame"]
    assert frame["y"] > 20  # letterboxed: the premise of this test
    assert box is not None
    # Wholly on the picture, not half on the band where its dark circle disappears.
    assert frame["y"] <= box["y"] and box["y"] + box["height"] <= frame["y"] + frame["h"]
    sx = frame["w"] / 720
    assert box["x"] >= frame["x"] + SAFE_AREA.right * sx  # beside the clip's titles, not on them
