// @ts-check
// Playback events for the creators' analytics: a queue flushed in batches every few seconds,
// and by navigator.sendBeacon as the page goes away. Nothing here ever waits on the network
// in the way of playback: every send is fire-and-forget, and failures keep the events for later.

import { exposeForTests } from "./dom.js";

const ENDPOINT = "/api/events";
const FLUSH_EVERY_MS = 4000;
const PROGRESS_EVERY_MS = 5000;
const BEACON_CHUNK = 150; // sendBeacon bodies are limited to 64 KB
const MAX_QUEUE = 2000;
const SESSION_IDLE_MS = 30 * 60 * 1000;
const SESSION_KEY = "md_analytics_session";
const STASH_KEY = "md_analytics_queue";

function randomId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // plain http on a LAN address
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A binge session: this tab's, renewed after half an hour without events. */
function sessionId() {
  const now = Date.now();
  let saved = null;
  try {
    saved = JSON.parse(sessionStorage.getItem(SESSION_KEY));
  } catch {}
  const id = saved && now - saved.at < SESSION_IDLE_MS ? saved.id : randomId();
  try {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({ id, at: now }));
  } catch {}
  return id;
}

/**
 * @param {{ endpoint?: string, flushEveryMs?: number }} [options]
 */
export function createAnalytics({ endpoint = ENDPOINT, flushEveryMs = FLUSH_EVERY_MS } = {}) {
  let queue = [];
  let sending = false;
  const state = { sent: 0, queued: 0, lastError: null };
  // The view in progress: which episode, the furthest position seen, whether it finished.
  let view = null;

  try {
    queue = JSON.parse(localStorage.getItem(STASH_KEY)) || []; // left by a failed beacon
    localStorage.removeItem(STASH_KEY);
  } catch {}

  function record(kind, episodeId, positionSeconds = 0) {
    if (!episodeId) return;
    queue.push({
      event_id: randomId(),
      kind,
      episode_id: Number(episodeId),
      session_id: sessionId(),
      position_ms: Math.max(0, Math.round(positionSeconds * 1000)),
      occurred_at: new Date().toISOString(),
    });
    if (queue.length > MAX_QUEUE) queue.splice(0, queue.length - MAX_QUEUE);
    state.queued = queue.length;
  }

  async function flush() {
    if (sending || !queue.length) return;
    sending = true;
    const batch = queue.splice(0, 500);
    try {
      const answer = await fetch(endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ events: batch }),
        keepalive: true,
      });
      if (answer.status >= 500 || answer.status === 429) throw new Error(`HTTP ${answer.status}`);
      state.sent += batch.length; // a 4xx batch would fail again: it is dropped, not retried
    } catch (error) {
      queue.unshift(...batch); // offline or a server hiccup: the next flush retries
      state.lastError = String(error);
    } finally {
      sending = false;
      state.queued = queue.length;
    }
  }

  /** The page is going away: send what is queued without waiting for an answer. */
  function beacon() {
    while (queue.length) {
      const chunk = queue.slice(0, BEACON_CHUNK);
      const body = new Blob([JSON.stringify({ events: chunk })], { type: "application/json" });
      if (!navigator.sendBeacon?.(endpoint, body)) break;
      queue.splice(0, chunk.length);
      state.sent += chunk.length;
    }
    try {
      if (queue.length) localStorage.setItem(STASH_KEY, JSON.stringify(queue));
    } catch {}
    state.queued = queue.length;
  }

  function leaveView() {
    // The video still holds the second it was left at (timeupdate lags it by up to 250 ms).
    const left = Math.max(view?.position || 0, view?.video.currentTime || 0);
    if (view && !view.completed) record("swipe_away", view.episodeId, left);
    view = null;
  }

  const watched = new WeakSet();

  /**
   * Follow a <video>; `episodeOf()` is the episode it shows while it is the one on screen,
   * else null (a prefetching slot or an off-screen feed card fires events too).
   */
  function watch(video, episodeOf) {
    if (watched.has(video)) return;
    watched.add(video);
    let lastProgressAt = 0;
    video.addEventListener("playing", () => {
      const episodeId = episodeOf();
      if (!episodeId) return;
      if (view?.episodeId === episodeId && !view.completed) return; // resumed after a pause
      leaveView();
      view = { episodeId, video, position: video.currentTime, completed: false };
      lastProgressAt = performance.now();
      record("start", episodeId, video.currentTime);
    });
    video.addEventListener("timeupdate", () => {
      const episodeId = episodeOf();
      if (!episodeId || view?.episodeId !== episodeId || video.paused) return;
      view.position = video.currentTime;
      if (performance.now() - lastProgressAt >= PROGRESS_EVERY_MS) {
        lastProgressAt = performance.now();
        record("progress", episodeId, video.currentTime);
      }
    });
    video.addEventListener("pause", () => {
      const episodeId = episodeOf();
      if (episodeId && view?.episodeId === episodeId && !video.ended) {
        record("pause", episodeId, video.currentTime);
      }
    });
    video.addEventListener("seeked", () => {
      const episodeId = episodeOf();
      if (episodeId && view?.episodeId === episodeId) record("seek", episodeId, video.currentTime);
    });
    video.addEventListener("ended", () => {
      const episodeId = episodeOf();
      if (!episodeId || view?.episodeId !== episodeId) return;
      record("complete", episodeId, video.duration || video.currentTime);
      view.completed = true;
    });
  }

  setInterval(flush, flushEveryMs);
  addEventListener("pagehide", () => {
    leaveView();
    beacon();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") beacon();
  });

  return {
    state,
    watch,
    flush,
    /** The paywall opened over a locked episode. */
    paywallShown: (episodeId) => record("paywall_shown", episodeId),
    /** The viewer unlocked an episode (coins, the rest of the series, an ad, auto-unlock). */
    unlocked: (episodeId) => record("unlock", episodeId),
  };
}

/** The page's one tracker (player.js, feed.js and paywall.js share it). */
export const analytics = createAnalytics();
exposeForTests("__analytics", analytics.state);
