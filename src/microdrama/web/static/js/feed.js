// @ts-check
// The vertical swipe feed: one series per screen; only the visible card plays.
//
// Touch swipes use native CSS scroll-snap; keys and the mouse wheel move one card at a time.
// The visible card's first episode plays muted (tap to unmute); the next card's playlist and
// first segment are prefetched; cards further away release their players.
// `feedState` is its state; demo_progress.js refreshes it, tests and benchmarks read window.__feed.

import { analytics } from "./analytics.js";
import { attachStream, onNextFrame, playWithSoundIfAllowed } from "./media.js";
import { exposeForTests } from "./dom.js";

const feed = document.getElementById("feed");
const streams = new Map(); // card -> stream handle
/** @type {HTMLElement[]} */
let cards = [.../** @type {NodeListOf<HTMLElement>} */ (feed.querySelectorAll(".card"))];
let activeIndex = -1;
let muted = true;
let loadingMore = false;

export const feedState = {
  get index() { return activeIndex; },
  get card() { return cards[activeIndex]; },
  get video() { return cards[activeIndex]?.querySelector("video"); },
  get count() { return cards.length; },
  firstFrameAt: null,
  nextRequestedAt: null,
  /** Move to the next card; `{ instant: true }` skips the smooth scroll (benchmarks). */
  next: (options = {}) => go(activeIndex + 1, options),
  previous: (options = {}) => go(activeIndex - 1, options),
  /** Look again for series past the last card (the demo seed publishes while people watch). */
  refresh: () => {
    feed.dataset.exhausted = "false";
    return loadMore();
  },
};
exposeForTests("__feed", feedState);

function prepare(card, { small }) {
  const url = card.dataset.playlist;
  if (!url) return null;
  let entry = streams.get(card);
  if (entry) {
    entry.ready.then((stream) => stream.setBuffer(small ? 3 : 20));
    return entry;
  }
  const video = card.querySelector("video");
  analytics.watch(video, () => (cards[activeIndex] === card ? card.dataset.episodeId : null));
  video.muted = true;
  video.preload = "auto";
  // Show the prefetched first frame while the card slides in, instead of the poster.
  video.addEventListener("loadeddata", () => card.classList.add("has-frame"), { once: true });
  card.querySelector(".error-overlay").hidden = true;
  entry = {
    stream: null,
    ready: attachStream(video, url, {
      small,
      onFatal: (reason) => {
        console.warn("preview failed", card.dataset.seriesId, reason);
        card.querySelector(".error-overlay").hidden = false;
      },
    }),
  };
  const mine = entry;
  entry.ready.then((stream) => {
    if (streams.get(card) === mine) mine.stream = stream;
    else stream.destroy(); // released while hls.js was loading
  });
  streams.set(card, entry);
  return entry;
}

function release(card) {
  const entry = streams.get(card);
  if (!entry) return;
  streams.delete(card);
  entry.stream?.destroy();
  card.classList.remove("has-frame");
}

function activate(index) {
  if (index === activeIndex || !cards[index]) return;
  activeIndex = index;
  document.body.dataset.scrolled = String(index > 0);
  cards.forEach((card, i) => {
    const video = card.querySelector("video");
    card.classList.toggle("is-active", i === index);
    if (i !== index) video.pause();
    if (i === index + 1) prepare(card, { small: true });
    else if (Math.abs(i - index) > 1) release(card);
  });
  const card = cards[index];
  const video = card.querySelector("video");
  prepare(card, { small: false });
  onNextFrame(video, (now) => {
    card.classList.add("has-frame");
    if (cards[activeIndex] === card) feedState.firstFrameAt = now;
  });
  streams.get(card)?.ready.then(async () => {
    if (cards[activeIndex] !== card) return;
    muted = await playWithSoundIfAllowed(video, muted);
    showMuted();
  });
  if (index >= cards.length - 3) loadMore();
}

/** Scroll to a card; the IntersectionObserver then activates it. */
function go(index, { instant = false } = {}) {
  const target = cards[Math.max(0, Math.min(cards.length - 1, index))];
  if (!target || target === cards[activeIndex]) return;
  feedState.nextRequestedAt = performance.now();
  feedState.firstFrameAt = null;
  const smooth = !instant && !matchMedia("(prefers-reduced-motion: reduce)").matches;
  feed.scrollTo({ top: target.offsetTop, behavior: smooth ? "smooth" : "instant" });
}

function showMuted() {
  feed.dataset.muted = String(muted);
  for (const button of feed.querySelectorAll('[data-action="mute"]')) {
    button.setAttribute("aria-label", muted ? "Unmute" : "Mute");
    button.setAttribute("aria-pressed", String(muted));
  }
}

function setMuted(value) {
  muted = value;
  const video = feedState.video;
  if (video) {
    video.muted = value;
    if (video.paused) video.play().catch(() => {});
  }
  showMuted();
}

async function loadMore() {
  if (loadingMore || feed.dataset.exhausted === "true") return;
  loadingMore = true;
  try {
    const response = await fetch(`/fragments/feed?offset=${cards.length}`);
    if (!response.ok) return;
    const html = (await response.text()).trim();
    const template = document.createElement("template");
    template.innerHTML = html;
    const added = [...template.content.querySelectorAll(".card")];
    if (added.length < Number(feed.dataset.pageSize)) feed.dataset.exhausted = "true";
    feed.append(...added);
    cards = [.../** @type {NodeListOf<HTMLElement>} */ (feed.querySelectorAll(".card"))];
    added.forEach((card) => observer.observe(card));
  } finally {
    loadingMore = false;
  }
}

const observer = new IntersectionObserver(
  (entries) => {
    for (const entry of entries) {
      if (entry.isIntersecting && entry.intersectionRatio >= 0.6) activate(cards.indexOf(/** @type {HTMLElement} */ (entry.target)));
    }
  },
  { root: feed, threshold: [0.6] },
);
cards.forEach((card) => observer.observe(card));

// One card per wheel gesture: trackpads send a long tail of small events after a flick.
let wheelLockedUntil = 0;
feed.addEventListener(
  "wheel",
  (event) => {
    if (event.ctrlKey) return; // pinch zoom
    event.preventDefault();
    const now = performance.now();
    if (now < wheelLockedUntil) {
      wheelLockedUntil = Math.max(wheelLockedUntil, now + 120);
      return;
    }
    if (Math.abs(event.deltaY) < 4) return;
    wheelLockedUntil = now + 500;
    go(activeIndex + Math.sign(event.deltaY));
  },
  { passive: false },
);

document.addEventListener("keydown", (event) => {
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  const keys = {
    ArrowDown: () => go(activeIndex + 1),
    PageDown: () => go(activeIndex + 1),
    j: () => go(activeIndex + 1),
    ArrowUp: () => go(activeIndex - 1),
    PageUp: () => go(activeIndex - 1),
    k: () => go(activeIndex - 1),
    m: () => setMuted(!muted),
    " ": () => {
      const video = feedState.video;
      if (video?.paused) video.play().catch(() => {});
      else video?.pause();
    },
  };
  if (event.key === " " && /** @type {HTMLElement} */ (event.target).closest?.("button, a")) return;
  const action = keys[event.key];
  if (action) {
    event.preventDefault();
    action();
  }
});

feed.addEventListener("click", async (event) => {
  const button = /** @type {HTMLElement} */ (/** @type {HTMLElement} */ (event.target).closest("[data-action]"));
  const card = /** @type {HTMLElement} */ (/** @type {HTMLElement} */ (event.target).closest(".card"));
  if (!button) {
    // A tap on the video itself: unmute first, then play/pause.
    if (!card || /** @type {HTMLElement} */ (event.target).closest("a")) return;
    if (muted) setMuted(false);
    else if (feedState.video?.paused) feedState.video.play().catch(() => {});
    else feedState.video?.pause();
    return;
  }
  const action = button.dataset.action;
  if (action === "mute") setMuted(!muted);
  else if (action === "unmute") setMuted(false);
  else if (action === "retry") {
    release(card);
    prepare(card, { small: false });
    if (card === cards[activeIndex]) {
      activeIndex = -1;
      activate(cards.indexOf(card));
    }
  } else if (action === "share") {
    const url = new URL(`/series/${card.dataset.seriesId}`, location.href).href;
    const title = card.querySelector(".title").textContent.trim();
    if (navigator.share) navigator.share({ title, url }).catch(() => {});
    else navigator.clipboard?.writeText(url).then(() => (button.querySelector(".label").textContent = "Copied"));
  }
});

// Progress bar of the playing card.
feed.addEventListener(
  "timeupdate",
  (event) => {
    const video = /** @type {HTMLVideoElement} */ (event.target);
    const fill = /** @type {HTMLElement} */ (video.closest(".card")?.querySelector(".bar-fill"));
    if (fill && video.duration) fill.style.width = `${(100 * video.currentTime) / video.duration}%`;
  },
  true,
);

showMuted();

// The row rendered with the page may predate the position the player saved as it closed.
fetch("/fragments/continue-watching")
  .then((response) => (response.ok ? response.text() : null))
  .then((html) => {
    const slot = document.getElementById("continue-slot");
    if (html !== null && slot && slot.innerHTML.trim() !== html.trim()) slot.innerHTML = html;
  })
  .catch(() => {});
