// @ts-check
// The studio's subtitle editor: one track per language; upload a WebVTT/SRT file or edit the
// cues as a list, preview the episode with the cue under the playhead, save as JSON (PUT).

import { ApiError, api } from "./api.js";
import { attachStream } from "./media.js";
import { notify, problem, say } from "./backoffice.js";
import { el, exposeForTests, slot } from "./dom.js";

const root = document.querySelector("[data-testid=subtitle-editor]");
const data = JSON.parse(document.getElementById("editor-data").textContent);
const base = `/api/studio/episodes/${data.episode_id}/subtitles`;
const video = root.querySelector("video");
const languages = /** @type {HTMLSelectElement} */ (slot("languages", root));
const labelInput = /** @type {HTMLInputElement} */ (slot("label", root));
let tracks = [];
let language = null;
let cues = []; // [{start_ms, end_ms, text}] as edited, saved or not
let dirty = false;

/**
 * "1:02.500" (or "62.5", "00:01:02.500") → milliseconds; NaN when unreadable.
 * @param {string} text
 */
export function parseTime(text) {
  const parts = text.trim().replace(",", ".").split(":");
  if (!parts.length || parts.length > 3 || parts.some((p) => p === "" || Number.isNaN(Number(p)))) return NaN;
  return Math.round(parts.reduce((total, part) => total * 60 + Number(part), 0) * 1000);
}

/**
 * @param {number} ms
 */
export function formatTime(ms) {
  const minutes = Math.floor(ms / 60000);
  const seconds = ((ms % 60000) / 1000).toFixed(3).padStart(6, "0");
  return `${minutes}:${seconds}`;
}

function markDirty(value = true) {
  dirty = value;
  slot("dirty", root).textContent = dirty ? "Unsaved changes" : "";
}

function timeInput(cue, field, index) {
  const input = el("input", { type: "text", class: "bo-time", value: formatTime(cue[field]), "aria-label": `Cue ${index + 1} ${field === "start_ms" ? "start" : "end"}`, "data-testid": `cue-${field === "start_ms" ? "start" : "end"}` });
  input.addEventListener("change", () => {
    const ms = parseTime(input.value);
    input.setCustomValidity(Number.isNaN(ms) ? "Write a time like 1:02.500" : "");
    if (Number.isNaN(ms)) return input.reportValidity();
    cue[field] = ms;
    markDirty();
    showCurrent();
  });
  return input;
}

function renderCues() {
  slot("cues", root).replaceChildren(...cues.map((cue, index) => {
    const text = el("textarea", { rows: 2, maxlength: 500, "aria-label": `Cue ${index + 1} text`, "data-testid": "cue-text" });
    text.value = cue.text;
    text.addEventListener("input", () => {
      cue.text = text.value;
      markDirty();
      showCurrent();
    });
    const remove = el("button", { type: "button", "aria-label": `Delete cue ${index + 1}`, "data-testid": "cue-delete" }, "Delete");
    remove.addEventListener("click", () => {
      cues.splice(index, 1);
      markDirty();
      renderCues();
    });
    const seek = el("button", { type: "button", "aria-label": `Play from cue ${index + 1}` }, "▶");
    seek.addEventListener("click", () => {
      video.currentTime = cue.start_ms / 1000;
      video.play().catch(() => {});
    });
    return el("tr", { class: "bo-cue-row", "data-testid": "cue-row" },
      el("td", {}, timeInput(cue, "start_ms", index)),
      el("td", {}, timeInput(cue, "end_ms", index)),
      el("td", {}, text),
      el("td", {}, el("div", { class: "bo-cue-actions" }, seek, remove)));
  }));
  showCurrent();
}

/** The cue under the playhead, shown over the preview and highlighted in the list. */
function showCurrent() {
  const ms = video.currentTime * 1000;
  const rows = slot("cues", root).children;
  const current = [];
  cues.forEach((cue, index) => {
    const on = cue.start_ms <= ms && ms < cue.end_ms;
    rows[index]?.classList.toggle("is-current", on);
    if (on) current.push(cue.text);
  });
  const box = slot("preview-cue", root);
  box.replaceChildren(...current.map((text) => el("span", {}, text)));
}

function showTracks() {
  const options = tracks.map((t) => el("option", { value: t.language }, `${t.label} (${t.language}) · ${t.cue_count} cues${t.draft ? " · draft" : ""}`));
  if (language && !tracks.some((t) => t.language === language)) options.push(el("option", { value: language }, `${language} (new, not saved)`));
  languages.replaceChildren(...options);
  languages.value = language ?? "";
  languages.disabled = options.length === 0;
  slot("language-name", root).textContent = language ? `· ${language}` : "· choose or start a language";
  const current = tracks.find((t) => t.language === language);
  slot("draft", root).hidden = !current?.draft;
  // subtitles_ai.js offers translations of the track on screen.
  document.dispatchEvent(new CustomEvent("subtitles:shown", { detail: { language: current ? language : null, tracks } }));
}

async function open(lang) {
  if (dirty && !confirm("Discard unsaved changes?")) {
    languages.value = language;
    return;
  }
  language = lang;
  const track = tracks.find((t) => t.language === lang);
  labelInput.value = track?.label ?? "";
  cues = track ? (await api("GET", `${base}/${encodeURIComponent(lang)}`)).cues : [];
  markDirty(false);
  showTracks();
  renderCues();
}

async function loadTracks() {
  tracks = await api("GET", base);
}

function useAnswer(answer) {
  cues = answer.cues;
  language = answer.language;
  labelInput.value = answer.label;
  markDirty(false);
}

async function save() {
  if (!language) return say("error", "Choose a language first.");
  const body = { cues: cues.map(({ start_ms, end_ms, text }) => ({ start_ms, end_ms, text })) };
  if (labelInput.value.trim()) body.label = labelInput.value.trim();
  try {
    useAnswer(await api("PUT", `${base}/${encodeURIComponent(language)}`, { body }));
    await loadTracks();
    showTracks();
    renderCues();
    notify(`Saved ${cues.length} cues in ${language}.`);
  } catch (error) {
    say("notice", "");
    say("error", problem(error));
  }
}

root.querySelector("[data-action=save]").addEventListener("click", save);
root.querySelector("[data-action=add]").addEventListener("click", () => {
  const start = Math.round(video.currentTime * 1000);
  cues.push({ start_ms: start, end_ms: start + 2000, text: "New line" });
  cues.sort((a, b) => a.start_ms - b.start_ms);
  markDirty();
  renderCues();
});
root.querySelector("[data-action=new]").addEventListener("click", () => {
  const code = /** @type {HTMLInputElement} */ (slot("new-language", root)).value.trim();
  if (!/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(code)) return say("error", "A language code looks like en, es or pt-BR.");
  say("error", "");
  open(code).catch((error) => say("error", problem(error)));
  labelInput.value = labelInput.value || code;
});
root.querySelector("[data-action=delete-track]").addEventListener("click", async () => {
  if (!language || !confirm(`Delete the ${language} subtitles?`)) return;
  try {
    if (tracks.some((t) => t.language === language)) await api("DELETE", `${base}/${encodeURIComponent(language)}`);
    markDirty(false);
    await loadTracks();
    await open(tracks[0]?.language ?? null);
    say("notice", "Track deleted.");
  } catch (error) {
    say("error", problem(error));
  }
});
root.querySelector("[data-action=publish]").addEventListener("click", async () => {
  if (!language) return;
  if (dirty) return say("error", "Save your changes before publishing.");
  try {
    useAnswer(await api("POST", `${base}/${encodeURIComponent(language)}/publish`));
    await loadTracks();
    showTracks();
    renderCues();
    notify(`The ${language} subtitles are published: viewers can turn them on.`);
  } catch (error) {
    say("error", problem(error));
  }
});
// A track made by an AI job (subtitles_ai.js): list it and open it.
document.addEventListener("subtitles:made", (event) => {
  const made = /** @type {CustomEvent} */ (event).detail.language;
  loadTracks()
    .then(() => {
      if (!dirty) return open(made);
      showTracks(); // the editor keeps the unsaved cues; the new track waits in the list
      say("notice", `The ${made} draft is ready: save or discard your changes, then choose it.`);
    })
    .catch((error) => say("error", problem(error)));
});
languages.addEventListener("change", () => open(languages.value).catch((error) => say("error", problem(error))));

root.querySelector("[data-form=upload]").addEventListener("submit", async (event) => {
  event.preventDefault();
  const code = language || /** @type {HTMLInputElement} */ (slot("new-language", root)).value.trim() || data.default_language;
  const form = new FormData(/** @type {HTMLFormElement} */ (event.target));
  if (labelInput.value.trim()) form.set("label", labelInput.value.trim());
  const response = await fetch(`${base}/${encodeURIComponent(code)}`, { method: "POST", body: form, credentials: "same-origin" })
    .catch(() => null);
  const answer = response ? await response.json().catch(() => null) : null;
  if (!response || !response.ok) {
    say("notice", "");
    return say("error", problem(new ApiError(response?.status ?? 0, answer)));
  }
  useAnswer(answer);
  await loadTracks();
  showTracks();
  renderCues();
  /** @type {HTMLFormElement} */ (event.target).reset();
  notify(`Uploaded ${answer.cues.length} cues in ${answer.language}.`);
});

video.addEventListener("timeupdate", showCurrent);
video.addEventListener("seeked", showCurrent);
window.addEventListener("beforeunload", (event) => {
  if (dirty) event.preventDefault();
});

if (data.playlist_url) {
  attachStream(video, data.playlist_url, { onFatal: () => { slot("preview-note", root).textContent = "The preview could not be loaded."; } });
} else {
  slot("preview-note", root).textContent = "The episode is still being prepared: the preview appears once it is ready.";
}
exposeForTests("__subtitleEditor", { get cues() { return cues; }, get language() { return language; }, get dirty() { return dirty; } });

loadTracks()
  .then(() => open(tracks[0]?.language ?? null))
  .catch((error) => say("error", problem(error)))
  .finally(() => root.setAttribute("aria-busy", "false"));
