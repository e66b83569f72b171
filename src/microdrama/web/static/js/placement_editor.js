// @ts-check
// The timeline placement editor: pick an episode, drag on the timeline for when the product card
// shows, click the frame for where it points, choose the product, save. Brands and creators use
// the same page; only the API prefix differs (/api/brand or /api/studio).

import { api, ApiError, clearFormErrors, showFormErrors } from "./api.js";
import { attachStream } from "./media.js";
import { exposeForTests, fields, slot } from "./dom.js";

const data = JSON.parse(document.getElementById("page-data").textContent);
const base = data.party === "brand" ? "/api/brand" : "/api/studio";
const STEP_MS = 100; // times snap to a tenth of a second

const video = /** @type {HTMLVideoElement} */ (slot("video"));
const frame = slot("frame");
const timeline = slot("timeline");
const selection = slot("selection");
const form = /** @type {HTMLFormElement} */ (slot("form"));
const field = (/** @type {string} */ name) => fields(form)[name];
const deleteButton = /** @type {HTMLButtonElement} */ (form.querySelector('button[data-action="delete"]'));

const state = {
  episode: null,
  placements: [], // the campaign's live placements, all episodes
  editing: null, // the placement being edited, or null for a new one
  start_ms: null,
  end_ms: null,
  x_permille: 500,
  y_permille: 500,
  saving: false,
};
let stream = null;

// Test hook (see docs/shop-ui.md).
exposeForTests("__editor", state);

function showNotice(text) {
  const notice = slot("notice");
  slot("error").hidden = true;
  notice.textContent = text;
  notice.hidden = false;
}

function showError(error) {
  const box = slot("error");
  slot("notice").hidden = true;
  box.textContent = error instanceof ApiError ? error.message : String(error);
  box.hidden = false;
}

/**
 * @param {number} ms
 */
export function clockTenths(ms) {
  const tenths = Math.max(0, Math.round(ms / 100));
  const seconds = Math.floor(tenths / 10);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}.${tenths % 10}`;
}

const snap = (ms) => Math.round(ms / STEP_MS) * STEP_MS;
const clamp = (value, low, high) => Math.min(high, Math.max(low, value));
const duration = () => state.episode?.duration_ms || 1;
const productTitle = (id) => data.products.find((p) => p.id === id)?.title || `Product ${id}`;

function msAt(clientX) {
  const rect = timeline.getBoundingClientRect();
  return snap(clamp((clientX - rect.left) / rect.width, 0, 1) * duration());
}

// Rendering ----------------------------------------------------------------------------------

function renderSelection() {
  const hasRange = state.start_ms !== null && state.end_ms !== null && state.end_ms > state.start_ms;
  selection.hidden = !hasRange;
  if (hasRange) {
    selection.style.left = `${(state.start_ms / duration()) * 100}%`;
    selection.style.width = `${((state.end_ms - state.start_ms) / duration()) * 100}%`;
    for (const [handle, ms] of [
      [slot("handle-start"), state.start_ms],
      [slot("handle-end"), state.end_ms],
    ]) {
      handle.setAttribute("aria-valuemin", "0");
      handle.setAttribute("aria-valuemax", String(duration()));
      handle.setAttribute("aria-valuenow", String(ms));
      handle.setAttribute("aria-valuetext", clockTenths(ms));
    }
  }
  field("start").value = state.start_ms === null ? "" : (state.start_ms / 1000).toFixed(1);
  field("end").value = state.end_ms === null ? "" : (state.end_ms / 1000).toFixed(1);
}

function renderMarker() {
  const marker = slot("marker");
  marker.style.left = `${state.x_permille / 10}%`;
  marker.style.top = `${state.y_permille / 10}%`;
  field("x").value = String(state.x_permille);
  field("y").value = String(state.y_permille);
}

function inEpisode() {
  return state.placements.filter((p) => p.episode_id === state.episode?.id);
}

function renderPlacements() {
  const bars = slot("bars");
  const list = slot("list");
  bars.replaceChildren();
  list.replaceChildren();
  const mine = inEpisode();
  mine.forEach((placement, row) => {
    const label = `${productTitle(placement.product_id)} · ${clockTenths(placement.start_ms)}–${clockTenths(placement.end_ms)}`;
    const bar = document.createElement("button");
    bar.type = "button";
    bar.className = "timeline-bar";
    bar.dataset.testid = "placement-bar";
    bar.dataset.placementId = String(placement.id);
    bar.style.left = `${(placement.start_ms / duration()) * 100}%`;
    bar.style.width = `${((placement.end_ms - placement.start_ms) / duration()) * 100}%`;
    bar.style.top = `${6 + (row % 3) * 14}px`;
    bar.title = label;
    bar.setAttribute("aria-label", `Edit ${label}`);
    bar.setAttribute("aria-pressed", String(state.editing?.id === placement.id));
    bar.addEventListener("pointerdown", (event) => event.stopPropagation());
    bar.addEventListener("click", () => edit(placement));
    bars.append(bar);

    const item = document.createElement("li");
    item.dataset.testid = "editor-item";
    item.dataset.placementId = String(placement.id);
    const text = document.createElement("span");
    text.textContent = `${label} · at ${placement.x_permille}‰, ${placement.y_permille}‰`;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button small";
    button.textContent = "Edit";
    button.addEventListener("click", () => edit(placement));
    item.append(text, button);
    list.append(item);
  });
  slot("list-empty").hidden = mine.length > 0;
}

function renderForm() {
  slot("form-title").textContent = state.editing ? `Edit placement #${state.editing.id}` : "New placement";
  form.querySelector('[type="submit"]').textContent = state.editing ? "Save changes" : "Save placement";
  deleteButton.hidden = !state.editing;
}

function render() {
  renderSelection();
  renderMarker();
  renderPlacements();
  renderForm();
  slot("ghosts").dataset.key = "";
  renderGhosts(video.readyState >= 1 ? video.currentTime * 1000 : state.start_ms || 0);
}

// Editing ------------------------------------------------------------------------------------

function edit(placement) {
  state.editing = placement;
  state.start_ms = placement.start_ms;
  state.end_ms = placement.end_ms;
  state.x_permille = placement.x_permille;
  state.y_permille = placement.y_permille;
  field("product_id").value = String(placement.product_id);
  seek(placement.start_ms);
  render();
}

function startNew() {
  state.editing = null;
  state.start_ms = null;
  state.end_ms = null;
  render();
}

function seek(ms) {
  if (video.readyState >= 1) video.currentTime = ms / 1000;
  else video.dataset.pendingSeek = String(ms);
  movePlayhead(ms);
}

function movePlayhead(ms) {
  slot("playhead").style.left = `${(ms / duration()) * 100}%`;
  slot("now").textContent = clockTenths(ms);
  renderGhosts(ms);
}

// The cards on screen at the playhead (other than the one being edited), where they point.
function renderGhosts(ms) {
  const shown = inEpisode().filter((p) => p.start_ms <= ms && ms < p.end_ms && p.id !== state.editing?.id);
  const key = shown.map((p) => `${p.id}:${p.x_permille}:${p.y_permille}`).join(",");
  const ghosts = slot("ghosts");
  if (ghosts.dataset.key === key) return;
  ghosts.dataset.key = key;
  ghosts.replaceChildren(
    ...shown.map((p) => {
      const ghost = document.createElement("span");
      ghost.className = "frame-ghost";
      ghost.dataset.testid = "editor-ghost";
      ghost.textContent = productTitle(p.product_id);
      ghost.style.left = `${p.x_permille / 10}%`;
      ghost.style.top = `${p.y_permille / 10}%`;
      return ghost;
    }),
  );
}

async function loadPlacements() {
  state.placements = await api("GET", `${base}/campaigns/${data.campaign.id}/placements`);
}

async function openEpisode(episodeId) {
  const episode = data.episodes.find((e) => e.id === episodeId);
  if (!episode) return;
  state.episode = episode;
  stream?.destroy();
  stream = null;
  slot("duration").textContent = clockTenths(episode.duration_ms);
  const poster = /** @type {HTMLImageElement} */ (slot("poster"));
  const locked = slot("locked");
  const canPlay = episode.playable && episode.playlist_url;
  poster.hidden = canPlay || !episode.poster_url;
  if (episode.poster_url) poster.src = episode.poster_url;
  locked.hidden = Boolean(canPlay);
  video.hidden = !canPlay;
  if (canPlay) {
    video.poster = episode.poster_url || "";
    stream = await attachStream(video, episode.playlist_url, {
      onFatal: () => {
        video.hidden = true;
        poster.hidden = !episode.poster_url;
        locked.hidden = false;
      },
    });
  }
  startNew();
  movePlayhead(0);
}

function setRange(start, end) {
  state.start_ms = clamp(Math.min(start, end), 0, duration());
  state.end_ms = clamp(Math.max(start, end), 0, duration());
  renderSelection();
}

// The timeline: a drag on the empty track draws a new range; the handles move its ends.
let drag = null;

timeline.addEventListener("pointerdown", (event) => {
  if (event.button !== 0) return;
  const handle = /** @type {HTMLElement} */ (event.target).closest(".handle");
  const at = msAt(event.clientX);
  if (handle) {
    drag = { edge: handle.classList.contains("start") ? "start" : "end" };
  } else {
    drag = { anchor: at, moved: false };
  }
  timeline.setPointerCapture(event.pointerId);
  event.preventDefault();
});

timeline.addEventListener("pointermove", (event) => {
  if (!drag) return;
  const at = msAt(event.clientX);
  if (drag.edge === "start") setRange(Math.min(at, state.end_ms - STEP_MS), state.end_ms);
  else if (drag.edge === "end") setRange(state.start_ms, Math.max(at, state.start_ms + STEP_MS));
  else if (drag.moved || Math.abs(at - drag.anchor) >= STEP_MS) {
    drag.moved = true;
    setRange(drag.anchor, at);
  }
});

timeline.addEventListener("pointerup", (event) => {
  if (!drag) return;
  const finished = drag;
  drag = null;
  timeline.releasePointerCapture(event.pointerId);
  if (finished.edge || finished.moved) seek(state.start_ms);
  else seek(msAt(event.clientX)); // a plain click moves the playhead
});

function nudge(edge, delta) {
  if (state.start_ms === null) return;
  if (edge === "start") setRange(clamp(state.start_ms + delta, 0, state.end_ms - STEP_MS), state.end_ms);
  else setRange(state.start_ms, clamp(state.end_ms + delta, state.start_ms + STEP_MS, duration()));
  seek(edge === "start" ? state.start_ms : state.end_ms);
}

for (const [edge, handle] of /** @type {[string, HTMLElement][]} */ ([
  ["start", slot("handle-start")],
  ["end", slot("handle-end")],
])) {
  handle.addEventListener("keydown", (event) => {
    const step = event.shiftKey ? 1000 : STEP_MS;
    const delta = { ArrowLeft: -step, ArrowDown: -step, ArrowRight: step, ArrowUp: step }[event.key];
    if (delta === undefined) return;
    event.preventDefault();
    nudge(edge, delta);
  });
}

frame.addEventListener("click", (event) => {
  const rect = frame.getBoundingClientRect();
  state.x_permille = Math.round(clamp((event.clientX - rect.left) / rect.width, 0, 1) * 1000);
  state.y_permille = Math.round(clamp((event.clientY - rect.top) / rect.height, 0, 1) * 1000);
  renderMarker();
});

for (const name of ["start", "end"]) {
  field(name).addEventListener("change", () => {
    const start = Number.parseFloat(field("start").value);
    const end = Number.parseFloat(field("end").value);
    if (!Number.isFinite(start) || !Number.isFinite(end)) return;
    // Typed times stay as typed: an end before the start is a mistake to point out, not to
    // fix by swapping the two behind the person's back.
    state.start_ms = clamp(snap(start * 1000), 0, duration());
    state.end_ms = clamp(snap(end * 1000), 0, duration());
    renderSelection();
    if (state.end_ms <= state.start_ms) {
      showError(`The end (${clockTenths(state.end_ms)}) must be after the start (${clockTenths(state.start_ms)}).`);
    } else {
      slot("error").hidden = true;
    }
  });
}
for (const name of ["x", "y"]) {
  field(name).addEventListener("change", () => {
    const value = clamp(Math.round(Number.parseFloat(field(name).value) || 0), 0, 1000);
    state[`${name}_permille`] = value;
    renderMarker();
  });
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (state.saving) return;
  // An end before the start goes to the server all the same: its refusal is what is shown.
  if (state.start_ms === null || state.end_ms === null) {
    showError("Drag on the timeline (or type a start and an end) to choose when the card shows.");
    return;
  }
  const body = {
    episode_id: state.episode.id,
    product_id: Number(field("product_id").value),
    start_ms: state.start_ms,
    end_ms: state.end_ms,
    x_permille: state.x_permille,
    y_permille: state.y_permille,
  };
  state.saving = true;
  clearFormErrors(form);
  try {
    const saved = state.editing
      ? await api("PATCH", `${base}/placements/${state.editing.id}`, { body })
      : await api("POST", `${base}/campaigns/${data.campaign.id}/placements`, { body });
    await loadPlacements();
    edit(state.placements.find((p) => p.id === saved.id) || saved);
    showNotice(`Saved: ${productTitle(saved.product_id)} from ${clockTenths(saved.start_ms)} to ${clockTenths(saved.end_ms)}.`);
  } catch (error) {
    slot("notice").hidden = true;
    // Each refusal under its field (start_ms → Start, x_permille → X), the summary on top.
    showFormErrors(form, error, { summary: slot("error"), fields: { x_permille: "x", y_permille: "y" } });
  } finally {
    state.saving = false;
  }
});

deleteButton.addEventListener("click", async () => {
  const placement = state.editing;
  if (!placement) return;
  try {
    await api("DELETE", `${base}/placements/${placement.id}`);
    await loadPlacements();
    startNew();
    showNotice(`Deleted the placement of ${productTitle(placement.product_id)}.`);
  } catch (error) {
    showError(error);
  }
});

form.querySelector('[data-action="new"]').addEventListener("click", startNew);

const playButton = document.querySelector('[data-action="play"]');
playButton.addEventListener("click", () => {
  if (video.paused) video.play().catch(() => {});
  else video.pause();
});
video.addEventListener("play", () => (playButton.textContent = "Pause"));
video.addEventListener("pause", () => (playButton.textContent = "Play"));
video.addEventListener("timeupdate", () => movePlayhead(video.currentTime * 1000));
video.addEventListener("loadedmetadata", () => {
  if (video.dataset.pendingSeek) {
    video.currentTime = Number(video.dataset.pendingSeek) / 1000;
    delete video.dataset.pendingSeek;
  }
});

slot("episode").addEventListener("change", (event) => {
  openEpisode(Number(/** @type {HTMLInputElement} */ (event.target).value)).then(render);
});

async function start() {
  try {
    await loadPlacements();
  } catch (error) {
    showError(error);
  }
  const wanted = Number(new URLSearchParams(location.search).get("episode"));
  const first = data.episodes.find((e) => e.id === wanted) || data.episodes[0];
  if (!first) {
    showError("This series has no ready episodes yet.");
    return;
  }
  /** @type {HTMLSelectElement} */ (slot("episode")).value = String(first.id);
  await openEpisode(first.id);
  render();
  document.body.dataset.ready = "true";
}

start();
