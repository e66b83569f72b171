// @ts-check
// The cue editor's "Make subtitles" section: captions from the episode's audio and
// translations of the track on screen, each an AI job whose progress shows here and which
// leaves a draft track; the editor (subtitles_editor.js) then opens it for review.

import { ApiError, api } from "./api.js";
import { notify, problem, say } from "./backoffice.js";
import { el, exposeForTests, slot } from "./dom.js";

const JOB_POLL_MS = 700;

/**
 * Follow an AI job (GET /api/studio/ai-jobs/{id}) until it ends: its result, or its error.
 * @param {number} id
 * @param {(job: any) => void} onProgress
 */
async function followJob(id, onProgress) {
  for (;;) {
    const job = await api("GET", `/api/studio/ai-jobs/${id}`);
    onProgress(job);
    if (job.final) {
      if (job.state === "done") return job.result;
      throw new ApiError(409, { message: job.error || job.message || `The job ended ${job.state}.` });
    }
    await new Promise((resolve) => setTimeout(resolve, JOB_POLL_MS));
  }
}

const root = document.querySelector("[data-testid=subtitle-editor]");
const data = JSON.parse(document.getElementById("editor-data").textContent);
const section = /** @type {HTMLElement} */ (slot("ai", root));
const targets = /** @type {HTMLSelectElement} */ (slot("translate-to", root));
const generateButton = /** @type {HTMLButtonElement} */ (section.querySelector("[data-action=generate-captions]"));
const translateButton = /** @type {HTMLButtonElement} */ (section.querySelector("[data-action=translate]"));
const episodeApi = `/api/studio/episodes/${data.episode_id}`;
let options = null; // GET subtitle-ai: captions_available, translations per track, active_jobs
let shown = null; // the language of the track on screen (null: none saved yet)
let running = null; // the job being followed

function showTargets() {
  const offered = (shown && options?.translations[shown]) || [];
  targets.replaceChildren(...offered.map((o) => el("option", { value: o.language }, `${o.label} (${o.language})`)));
  targets.disabled = translateButton.disabled = !offered.length || running !== null;
  generateButton.disabled = !options?.captions_available || running !== null;
  const hints = [];
  if (options && !options.captions_available) hints.push(options.captions_unavailable_reason);
  if (shown && !offered.length) hints.push(`No translation of ${shown} subtitles is available on this server.`);
  if (!shown) hints.push("Save or choose a track to translate it.");
  slot("ai-hint", section).textContent = hints.join(" ");
}

async function refresh() {
  options = await api("GET", `${episodeApi}/subtitle-ai`);
  showTargets();
}

/** Show the job's progress until it ends; then open what it made. */
async function follow(job) {
  running = job;
  showTargets();
  const bar = /** @type {HTMLProgressElement} */ (slot("ai-progress", section));
  const message = slot("ai-message", section);
  slot("ai-job", section).hidden = false;
  const onProgress = (update) => {
    bar.value = update.progress;
    message.textContent = update.message;
  };
  onProgress(job);
  try {
    const result = await followJob(job.id, onProgress);
    notify(`${message.textContent} Review the cues, then publish them.`);
    document.dispatchEvent(new CustomEvent("subtitles:made", { detail: { language: result.language } }));
  } catch (error) {
    say("notice", "");
    say("error", problem(error));
  } finally {
    running = null;
    slot("ai-job", section).hidden = true;
    await refresh().catch(() => {});
  }
}

async function start(path, body) {
  say("error", "");
  try {
    await follow(await api("POST", path, body ? { body } : undefined));
  } catch (error) {
    say("error", problem(error));
  }
}

generateButton.addEventListener("click", () => start(`${episodeApi}/captions`));
translateButton.addEventListener("click", () => {
  if (!shown || !targets.value) return;
  start(`${episodeApi}/subtitles/${encodeURIComponent(shown)}/translations`, { target_language: targets.value });
});
section.querySelector("[data-action=cancel-job]").addEventListener("click", () => {
  if (running) api("POST", `/api/studio/ai-jobs/${running.id}/cancel`).catch((error) => say("error", problem(error)));
});
document.addEventListener("subtitles:shown", (event) => {
  const detail = /** @type {CustomEvent} */ (event).detail;
  const known = options && detail.tracks.every((t) => t.language in options.translations);
  shown = detail.language;
  if (known) showTargets();
  else refresh().catch(() => {});
});
exposeForTests("__subtitleAI", { get options() { return options; }, get running() { return running; } });

refresh()
  .then(() => {
    section.hidden = false;
    // A job started before the page was (re)loaded: follow it again.
    if (options.active_jobs.length) follow(options.active_jobs[0]);
  })
  .catch(() => {
    section.hidden = true; // the server has no AI studio: the editor works as before
  });
