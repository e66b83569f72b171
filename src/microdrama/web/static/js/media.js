// @ts-check
// HLS playback for a <video>: hls.js where MSE exists, the browser's own HLS otherwise.

let hlsPromise = null;

const hasMse = () => "MediaSource" in window || "ManagedMediaSource" in window;

/** hls.js, loaded on first use (its <link rel=preload> already fetched it). Null when unusable. */
export function loadHls() {
  if (!hlsPromise) {
    hlsPromise = !hasMse()
      ? Promise.resolve(null)
      : new Promise((resolve) => {
          const script = document.createElement("script");
          script.src = document.body.dataset.hlsUrl; // base.html, with the file's content hash
          script.onload = () => resolve(window.Hls && window.Hls.isSupported() ? window.Hls : null);
          script.onerror = () => resolve(null);
          document.head.append(script);
        });
  }
  return hlsPromise;
}

/**
 * Start loading `url` into `video`. Returns a handle with `destroy()` and `setBuffer(seconds)`.
 * `onFatal` is called once when the stream cannot be played (after hls.js' own retries).
 * `small` keeps the buffer to a few seconds: used to prefetch what the viewer may watch next.
 * @param {HTMLVideoElement} video
 * @param {string} url
 * @param {{ startSeconds?: number, small?: boolean, onFatal?: (reason: string) => void,
 *   hint?: { level?: number, bandwidth?: number } }} [options]
 */
export async function attachStream(video, url, { startSeconds = 0, small = false, onFatal, hint } = {}) {
  const Hls = await loadHls();
  let failed = false;
  const fail = (reason) => {
    if (!failed) {
      failed = true;
      onFatal?.(reason);
    }
  };
  const onVideoError = () => fail(video.error ? `media error ${video.error.code}` : "media error");
  video.addEventListener("error", onVideoError);

  if (Hls) {
    const hls = new Hls({
      startPosition: startSeconds,
      maxBufferLength: small ? 3 : 20,
      maxMaxBufferLength: small ? 4 : 40,
      backBufferLength: 10,
      capLevelToPlayerSize: true,
      startLevel: hint?.level ?? -1,
      abrEwmaDefaultEstimate: hint?.bandwidth || 2_000_000,
    });
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (data.fatal) fail(`${data.type}: ${data.details}`);
    });
    hls.loadSource(url);
    hls.attachMedia(video);
    return {
      hls,
      setBuffer(seconds) {
        hls.config.maxBufferLength = seconds;
        hls.config.maxMaxBufferLength = seconds * 2;
      },
      hint: () => ({ level: hls.currentLevel >= 0 ? hls.currentLevel : undefined, bandwidth: hls.bandwidthEstimate }),
      destroy() {
        video.removeEventListener("error", onVideoError);
        hls.destroy();
        video.removeAttribute("src");
        video.load();
      },
    };
  }

  if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.preload = small ? "metadata" : "auto";
    video.src = startSeconds > 0 ? `${url}#t=${startSeconds}` : url;
    return {
      hls: null,
      setBuffer(seconds) {
        if (seconds > 4) video.preload = "auto";
      },
      hint: () => undefined,
      destroy() {
        video.removeEventListener("error", onVideoError);
        video.removeAttribute("src");
        video.load();
      },
    };
  }

  fail("this browser cannot play HLS");
  return { hls: null, setBuffer() {}, hint: () => undefined, destroy() {} };
}

/**
 * Calls `callback(now)` when the next video frame is presented (or when playback starts).
 * @param {HTMLVideoElement} video
 * @param {(now: number) => void} callback
 */
export function onNextFrame(video, callback) {
  if ("requestVideoFrameCallback" in HTMLVideoElement.prototype) {
    video.requestVideoFrameCallback((now) => callback(now));
  } else {
    video.addEventListener("playing", () => callback(performance.now()), { once: true });
  }
}

/**
 * Play, falling back to muted playback when the browser refuses sound. Resolves to muted state.
 * @param {HTMLVideoElement} video
 * @param {boolean} wantMuted
 * @returns {Promise<boolean>}
 */
export async function playWithSoundIfAllowed(video, wantMuted) {
  video.muted = wantMuted;
  try {
    await video.play();
    return video.muted;
  } catch (error) {
    if (error.name !== "NotAllowedError" || video.muted) return video.muted;
    video.muted = true;
    await video.play().catch(() => {});
    return true;
  }
}

/**
 * @param {number} seconds
 */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds || 0));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}
