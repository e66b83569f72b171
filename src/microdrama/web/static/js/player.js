// @ts-check
// The binge player: one episode on screen, the next one buffering in a second <video>.
//
// Two <video> slots take turns. While an episode plays, the next episode's playlist and first
// segment load into the hidden slot with a small buffer; on `ended` the slots swap, so the next
// episode starts from already-decoded frames with no gap. With test hooks enabled (a setting),
// window.__player exposes the state for tests and benchmarks (see web/README.md).
//
// Paid episodes go through the paywall first (paywall.js): a locked episode is never loaded
// or prefetched; reaching one opens the sheet over the last frame, and once it is unlocked
// the episode's (gated) playlist is loaded fresh.

import { analytics } from "./analytics.js";
import { api, settledPurchase, showBalance } from "./api.js";
import { attachStream, clock, onNextFrame, playWithSoundIfAllowed } from "./media.js";
import { createPaywall } from "./paywall.js";
import { trackProgress } from "./progress.js";
import { createShop } from "./shop.js";
import { createSubtitles } from "./subtitles.js";
import { watchReminder } from "./reminder.js";
import { exposeForTests } from "./dom.js";

const data = JSON.parse(document.getElementById("player-data").textContent);
const series = data.series;
const episodes = series.episodes;
const byId = new Map(episodes.map((e) => [e.id, e]));
const watched = new Set(data.progress.filter((p) => p.completed).map((p) => p.episode_id));
// Episodes this viewer may play without asking: free ones, and paid ones already unlocked.
const playable = new Set([...episodes.filter((e) => !e.locked).map((e) => e.id), ...data.unlocked_episode_ids]);

const $ = (id) => document.getElementById(id);
const root = $("player");
const ui = {
  label: $("episode-label"),
  seek: /** @type {HTMLInputElement} */ ($("seek")),
  now: $("time-current"),
  total: $("time-total"),
  play: $("play-button"),
  mute: $("mute-button"),
  unmute: $("unmute"),
  next: /** @type {HTMLButtonElement} */ ($("next-button")),
  error: $("error"),
  end: $("series-end"),
  drawer: $("drawer"),
  episodesButton: $("episodes-button"),
  poster: /** @type {HTMLImageElement} */ ($("poster")),
  lockedPill: $("locked-pill"),
};

/** @typedef {{ video: HTMLVideoElement, stream: any, episodeId: number | null, token: number, failed?: boolean }} VideoSlot */
/** @type {VideoSlot[]} */
const slots = [$("video-a"), $("video-b")].map((video) => ({ video: /** @type {HTMLVideoElement} */ (video), stream: null, episodeId: null, token: 0 }));
let active = slots[0];
let muted = localStorage.getItem("md_muted") === "true";
let prefetchStarted = false;
let seeking = false;
let lockedEpisode = null; // the paid episode the viewer reached and has not unlocked yet
let switching = 0; // bumps on every requested switch: a slow paywall check yields to newer ones

const HAVE_CURRENT_DATA = 2;
const standby = () => (active === slots[0] ? slots[1] : slots[0]);
const currentEpisode = () => byId.get(active.episodeId);

const player = {
  get episodeId() { return active.episodeId; },
  get video() { return active.video; },
  /** performance.now() of the first frame presented after the last start/next(). */
  firstFrameAt: null,
  /** performance.now() of the `playing` event after the last start/next(): motion begins. */
  playingAt: null,
  /** performance.now() when next() (or the automatic advance) was requested. */
  nextRequestedAt: null,
  /** How the last episode change happened: "prefetched" (slot swap) or "cold" (fresh load). */
  lastSwitch: null,
  /** performance.now() of the last tap on an unlock button (or of the automatic unlock). */
  get unlockTappedAt() { return paywall.state.unlockTappedAt; },
  /** The locked episode the paywall is about, or null. */
  get lockedEpisodeId() { return lockedEpisode?.id ?? null; },
  next: () => advance(),
  play: (episodeId, seconds = 0) => switchTo(byId.get(episodeId), seconds),
};
exposeForTests("__player", player);

const paywall = createPaywall({
  root,
  series,
  episodes,
  onUnlocked(ids, episode) {
    for (const id of ids) playable.add(id);
    markDrawer();
    switchTo(episode, 0);
  },
  onOpenChange(open) {
    root.dataset.paywall = String(open);
    if (!open && lockedEpisode) showLocked();
  },
});
exposeForTests("__paywall", paywall.state);

const shop = createShop({
  root,
  current: () => ({ episodeId: active.episodeId, video: active.video }),
  onOpenChange(open) {
    root.dataset.shop = String(open);
  },
});
exposeForTests("__shop", shop.state);

const subtitles = createSubtitles({ button: $("cc-button"), box: $("captions") });
exposeForTests("__subtitles", subtitles.state);

const reminder = watchReminder(root, data.viewer.watch_reminder_minutes);

const progress = trackProgress(
  () => ({ episodeId: active.episodeId, video: active.video }),
  (episodeId, seconds, completed) => {
    remember(episodeId, completed ? 0 : seconds);
    if (completed) {
      watched.add(episodeId);
      markDrawer();
    }
  },
);
progress.install();

// The last position per episode on this device: a reload can reach the server before the
// beacon that saved the position as the page went away.
function remember(episodeId, seconds) {
  try {
    localStorage.setItem(`md_pos:${episodeId}`, JSON.stringify({ seconds, at: Date.now() }));
  } catch {}
}

function recalled(episodeId) {
  try {
    const saved = JSON.parse(localStorage.getItem(`md_pos:${episodeId}`));
    return saved && Date.now() - saved.at < 24 * 3600 * 1000 ? saved.seconds : null;
  } catch {
    return null;
  }
}

function setState(state) {
  root.dataset.state = state;
  ui.play.setAttribute("aria-label", state === "playing" ? "Pause" : "Play");
}

function markFirstFrame(slot) {
  const shown = (now) => {
    if (slot !== active) return;
    player.firstFrameAt = now;
    // The slot we left is released only now, so its last frame covered the switch.
    const left = standby();
    left.video.classList.remove("is-leaving");
    if (left.episodeId !== currentEpisode()?.next_episode_id) {
      left.token++;
      left.stream?.destroy();
      left.stream = null;
      left.episodeId = null;
    }
    window.dispatchEvent(new CustomEvent("md:firstframe", { detail: { episodeId: slot.episodeId, at: now } }));
  };
  if (slot.video.readyState >= HAVE_CURRENT_DATA) {
    // A prefetched episode already holds its first decoded frame: it is on screen with the
    // next paint after the swap (two rAFs: the frame that carries the change has been drawn).
    requestAnimationFrame(() => requestAnimationFrame(() => shown(performance.now())));
  } else {
    onNextFrame(slot.video, shown);
  }
  slot.video.addEventListener("playing", () => {
    if (slot === active) player.playingAt = performance.now();
  }, { once: true });
}

/** Load an episode into a slot; `small` keeps only a few seconds buffered (prefetch). */
async function load(slot, episode, { startSeconds = 0, small = false } = {}) {
  shop.prefetch(episode.id); // its placements, in parallel with the playlist
  subtitles.attach(slot.video, episode.id);
  slot.stream?.destroy();
  slot.stream = null;
  slot.episodeId = episode.id;
  const token = ++slot.token;
  const hint = active.stream?.hint?.();
  const stream = await attachStream(slot.video, episode.playlist_url, {
    startSeconds,
    small,
    hint,
    onFatal: (reason) => {
      console.warn("playback failed", episode.id, reason);
      if (slot === active && slot.token === token) showError();
      else slot.failed = true;
    },
  });
  if (slot.token !== token) {
    stream.destroy(); // superseded while hls.js was loading
    return;
  }
  slot.failed = false;
  slot.stream = stream;
}

async function prefetchNext() {
  prefetchStarted = true;
  const next = byId.get(currentEpisode()?.next_episode_id);
  if (!next) return;
  if (!playable.has(next.id)) {
    // A paid episode is prefetched only once the viewer may play it (unlocked, VIP...).
    const access = await api("GET", `/api/episodes/${next.id}/access`).catch(() => null);
    if (!access?.allowed) return;
    playable.add(next.id);
  }
  const spare = standby();
  if (spare.episodeId !== next.id && next.id === currentEpisode()?.next_episode_id) {
    spare.video.muted = true;
    load(spare, next, { small: true });
  }
}

async function start(slot, startSeconds) {
  prefetchStarted = false;
  ui.error.hidden = true;
  ui.end.hidden = true;
  setState("loading");
  slot.stream?.setBuffer(20);
  if (slot.video.currentTime !== startSeconds && slot.video.readyState > 0) {
    slot.video.currentTime = startSeconds;
  }
  markFirstFrame(slot);
  subtitles.follow(slot.video);
  muted = await playWithSoundIfAllowed(slot.video, muted);
  showMuted();
}

function activate(slot, episode) {
  const previous = active;
  active = slot;
  previous.video.pause();
  previous.video.classList.remove("is-active");
  // The old frame stays underneath until the new episode has one of its own.
  previous.video.classList.add("is-leaving");
  previous.video.setAttribute("aria-hidden", "true");
  slot.video.classList.remove("is-leaving");
  slot.video.classList.add("is-active");
  slot.video.removeAttribute("aria-hidden");
  slot.video.setAttribute("data-testid", "player-video");
  previous.video.removeAttribute("data-testid");
  showEpisode(episode);
}

/**
 * Switch to an episode: swap in the prefetched slot when it holds it, otherwise load it.
 * A paid episode the viewer may not play yet opens the paywall instead (`sequential`: reached
 * by autoplay or "next", where auto-unlock may pay for it).
 */
async function switchTo(episode, startSeconds = 0, { sequential = false } = {}) {
  if (!episode) return;
  const request = ++switching;
  player.nextRequestedAt = performance.now();
  player.firstFrameAt = null;
  player.playingAt = null;
  if (!playable.has(episode.id)) {
    const allowed = await paywall.gate(episode, { sequential });
    if (request !== switching) return;
    if (!allowed) {
      lockOn(episode);
      return;
    }
    playable.add(episode.id);
    markDrawer();
  }
  lockedEpisode = null;
  ui.lockedPill.hidden = true;
  paywall.close();
  if (episode.id !== active.episodeId) progress.leave();
  const spare = standby();
  if (spare.episodeId === episode.id && spare.stream && !spare.failed) {
    player.lastSwitch = "prefetched";
    activate(spare, episode);
    await start(spare, startSeconds);
  } else {
    player.lastSwitch = "cold";
    await load(spare, episode, { startSeconds });
    activate(spare, episode);
    await start(spare, startSeconds);
  }
}

function advance() {
  const next = byId.get(currentEpisode()?.next_episode_id);
  if (!next) {
    ui.end.hidden = false;
    return Promise.resolve();
  }
  return switchTo(next, 0, { sequential: true });
}

/** The paywall is open for `episode`: the last frame (or the poster) stays as the backdrop. */
function lockOn(episode) {
  lockedEpisode = episode;
  const video = active.video;
  if (!video.paused) video.pause();
  if (!active.stream || video.ended) setState("locked");
  ui.lockedPill.hidden = true;
}

/** The sheet was closed: a pill to reopen it, unless the viewer can still watch this one. */
function showLocked() {
  if (root.dataset.state !== "locked") return;
  ui.lockedPill.querySelector("span").textContent = `Unlock episode ${lockedEpisode.number}`;
  ui.lockedPill.hidden = false;
}

function reopenPaywall() {
  if (lockedEpisode) switchTo(lockedEpisode, 0);
}

function showEpisode(episode) {
  shop.setEpisode(episode.id);
  // Out of the last episode's number: a draft's table read may be episode 6 with 1–5 unmade.
  const last = Math.max(episodes.length, ...episodes.map((e) => e.number));
  ui.label.textContent = `Episode ${episode.number} / ${last}`;
  document.title = `${series.title} · Episode ${episode.number} · microdrama`;
  const seconds = episode.duration_ms / 1000;
  ui.seek.max = String(seconds);
  ui.seek.value = "0";
  ui.seek.style.setProperty("--fill", "0%");
  ui.total.textContent = clock(seconds);
  ui.now.textContent = clock(0);
  ui.next.disabled = !episode.next_episode_id;
  if (ui.poster && episode.poster_url) ui.poster.src = episode.poster_url;
  history.replaceState(null, "", `/watch/${episode.id}`);
  markDrawer();
}

function markDrawer() {
  for (const tile of /** @type {NodeListOf<HTMLElement>} */ (ui.drawer.querySelectorAll("[data-episode-id]"))) {
    const id = Number(tile.dataset.episodeId);
    if (playable.has(id)) {
      const lock = tile.querySelector(".badge.locked");
      if (lock) {
        lock.remove();
        tile.setAttribute("aria-label", `Play episode ${byId.get(id).number}`);
      }
    }
    tile.classList.toggle("is-current", id === active.episodeId);
    tile.classList.toggle("watched", watched.has(id));
    if (id === active.episodeId) tile.setAttribute("aria-current", "true");
    else tile.removeAttribute("aria-current");
  }
}

function showError() {
  setState("error");
  ui.error.hidden = false;
  ui.error.querySelector("button").focus();
}

function showMuted() {
  ui.mute.setAttribute("aria-label", muted ? "Unmute" : "Mute");
  ui.mute.setAttribute("aria-pressed", String(muted));
  ui.unmute.hidden = !muted;
}

function setMuted(value) {
  muted = value;
  active.video.muted = value;
  localStorage.setItem("md_muted", String(value));
  showMuted();
}

function togglePlay() {
  const video = active.video;
  if (video.paused) video.play().catch(() => {});
  else video.pause();
}

function openDrawer(open) {
  ui.drawer.hidden = !open;
  ui.episodesButton.setAttribute("aria-expanded", String(open));
  if (open) ui.drawer.querySelector(/** @type {"button"} */ (".is-current, button"))?.focus();
}

// Every listener checks that its slot is on screen: the standby slot fires events too.
for (const slot of slots) {
  const { video } = slot;
  analytics.watch(video, () => (slot === active ? slot.episodeId : null));
  video.addEventListener("playing", () => {
    if (slot !== active) return;
    setState("playing");
    root.dataset.waiting = "false";
  });
  video.addEventListener("pause", () => {
    reminder.stop();
    if (slot !== active || video.ended) return;
    if (root.dataset.state !== "locked") setState("paused");
    progress.paused();
  });
  video.addEventListener("loadedmetadata", () => {
    video.classList.toggle("landscape", video.videoWidth > video.videoHeight);
  });
  video.addEventListener("waiting", () => {
    if (slot === active) root.dataset.waiting = "true";
  });
  video.addEventListener("timeupdate", () => {
    if (slot !== active) return;
    const t = video.currentTime;
    if (!seeking) {
      ui.seek.value = String(t);
      ui.seek.style.setProperty("--fill", `${(100 * t) / (Number(ui.seek.max) || 1)}%`);
    }
    ui.now.textContent = clock(t);
    if (!video.paused) {
      progress.tick();
      reminder.tick();
    }
    shop.update();
    if (!prefetchStarted && t >= 1) prefetchNext();
  });
  video.addEventListener("ended", () => {
    if (slot !== active) return;
    progress.ended();
    advance();
  });
}

ui.seek.addEventListener("input", () => {
  seeking = true;
  const t = Number(ui.seek.value);
  ui.seek.style.setProperty("--fill", `${(100 * t) / (Number(ui.seek.max) || 1)}%`);
  ui.now.textContent = clock(t);
});
ui.seek.addEventListener("change", () => {
  active.video.currentTime = Number(ui.seek.value);
  seeking = false;
});
$("tap-layer").addEventListener("click", () => {
  if (root.dataset.state === "locked") reopenPaywall();
  else if (muted && ui.unmute.hidden === false && !active.video.paused) setMuted(false);
  else togglePlay();
});
ui.play.addEventListener("click", togglePlay);
ui.mute.addEventListener("click", () => setMuted(!muted));
ui.unmute.addEventListener("click", () => setMuted(false));
ui.next.addEventListener("click", () => advance());
ui.episodesButton.addEventListener("click", () => openDrawer(ui.drawer.hidden));
$("drawer-close").addEventListener("click", () => openDrawer(false));
$("retry-button").addEventListener("click", () => {
  const episode = currentEpisode();
  const at = active.video.currentTime || 0;
  ui.error.hidden = true;
  load(active, episode, { startSeconds: at }).then(() => start(active, at));
});
ui.lockedPill.addEventListener("click", reopenPaywall);
ui.drawer.addEventListener("click", (event) => {
  const tile = /** @type {HTMLElement} */ (/** @type {HTMLElement} */ (event.target).closest("[data-episode-id]"));
  if (!tile) return;
  openDrawer(false);
  const episode = byId.get(Number(tile.dataset.episodeId));
  if (episode.id !== active.episodeId) switchTo(episode, 0);
});
document.addEventListener("keydown", (event) => {
  if (/** @type {HTMLElement} */ (event.target).closest?.("input, textarea, #paywall, #product-sheet") && event.key !== "Escape") return;
  const video = active.video;
  const keys = {
    " ": togglePlay,
    k: togglePlay,
    m: () => setMuted(!muted),
    n: () => advance(),
    ArrowRight: () => { video.currentTime = Math.min(video.duration || 0, video.currentTime + 5); },
    ArrowLeft: () => { video.currentTime = Math.max(0, video.currentTime - 5); },
    Escape: () => {
      openDrawer(false);
      paywall.close();
      shop.close();
    },
  };
  if (/** @type {HTMLElement} */ (event.target).closest?.("button, a") && (event.key === " " || event.key === "Enter")) return;
  const action = keys[event.key];
  if (action) {
    event.preventDefault();
    action();
  }
});

// Go: the requested episode, at the requested second (a paid one: through the paywall).
const first = byId.get(data.episode_id);
const local = data.explicit_start ? null : recalled(first.id);
const startAt = local !== null && local < first.duration_ms / 1000 - 3 ? local : data.start_seconds;
const purchaseId = new URLSearchParams(location.search).get("purchase");
showMuted();
showEpisode(first);
if (playable.has(first.id)) {
  load(active, first, { startSeconds: startAt }).then(() => start(active, startAt));
  if (purchaseId) {
    // Bought from elsewhere and back on a playable episode: just say how it went.
    settledPurchase(purchaseId).then((purchase) => {
      paywall.toast(purchase.status === "paid" ? "Payment received" : "The payment did not go through");
      return api("GET", "/api/wallet");
    }).then((wallet) => showBalance(wallet.total_coins)).catch(() => {});
  }
} else {
  // Opened on a paid episode (from the series grid, or back from checkout): its poster is the
  // backdrop of the sheet until the viewer may play it.
  active.episodeId = first.id;
  setState("locked");
  if (purchaseId) {
    paywall.resumePurchase(purchaseId, first).then((allowed) => {
      if (!allowed) return lockOn(first);
      playable.add(first.id);
      return switchTo(first, startAt);
    });
  } else {
    switchTo(first, startAt);
  }
}
