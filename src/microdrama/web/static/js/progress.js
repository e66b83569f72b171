// @ts-check
// Saving where the viewer is: every few seconds, on pause, on end, and as the page goes away.

const SAVE_EVERY_MS = 5000;

function post(episodeId, positionSeconds, completed, { beacon = false } = {}) {
  const url = `/api/episodes/${episodeId}/progress`;
  const body = JSON.stringify({ position_ms: Math.max(0, Math.round(positionSeconds * 1000)), completed });
  if (beacon && navigator.sendBeacon?.(url, new Blob([body], { type: "application/json" }))) {
    return Promise.resolve();
  }
  return fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body,
    keepalive: beacon,
  }).catch(() => {}); // offline: the next save carries the position
}

/**
 * Track one player: `current()` returns {episodeId, video} of what is on screen.
 * `onSaved(episodeId, seconds, completed)` lets the page update its watched marks.
 */
/**
 * @param {() => any} current
 * @param {(episodeId: number, seconds: number, completed: boolean) => void} [onSaved]
 */
export function trackProgress(current, onSaved = () => {}) {
  let lastSavedAt = 0;
  let lastKey = "";

  function save(completed = false, options = {}) {
    const { episodeId, video } = current();
    if (!episodeId || !video || !(video.duration > 0)) return;
    const seconds = completed ? video.duration : video.currentTime;
    const key = `${episodeId}:${seconds.toFixed(1)}:${completed}`;
    if (key === lastKey) return;
    lastKey = key;
    lastSavedAt = performance.now();
    post(episodeId, seconds, completed, options);
    onSaved(episodeId, seconds, completed);
  }

  return {
    /** Call from timeupdate: saves at most every few seconds while playing. */
    tick() {
      if (performance.now() - lastSavedAt >= SAVE_EVERY_MS) save(false);
    },
    paused() {
      const { video } = current();
      if (video && !video.ended) save(false);
    },
    ended: () => save(true),
    /** Before switching away from an episode the viewer has not finished. */
    leave: () => save(false),
    install() {
      const flush = () => {
        const { video } = current();
        save(Boolean(video?.ended), { beacon: true });
      };
      addEventListener("pagehide", flush);
      document.addEventListener("visibilitychange", () => {
        if (document.visibilityState === "hidden") flush();
      });
    },
  };
}
