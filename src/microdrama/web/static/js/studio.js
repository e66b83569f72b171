// @ts-check
// The studio: series form, poster, resumable uploads (tus-js-client, global `tus`), episodes
// with live transcode progress, review; and the operators' moderation queue.
import { api, ApiError, clearFormErrors, showFormErrors } from "./api.js";
import { el, exposeForTests, testOverrides } from "./dom.js";

const $ = (sel, root = document) => root.querySelector(sel);
const UPLOADS_URL = "/api/studio/uploads";
const POLL_MS = 1000;

// Hooks for tests (when enabled): uploads by file name, and overrides set before the page loads.
const hooks = exposeForTests("__studio", testOverrides("__studio") || {});
hooks.uploads = {};

function showError(error) {
  const slot = $("[data-slot=error]");
  if (!slot) return;
  if (!error) {
    slot.hidden = true;
    return;
  }
  slot.textContent = error instanceof ApiError || error instanceof Error ? error.message : String(error);
  slot.hidden = false;
}

function list(value) {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// Home ----------------------------------------------------------------------------------------

function initHome() {
  const join = $("[data-action=join]");
  join?.addEventListener("click", async () => {
    try {
      await api("POST", "/api/studio/join");
      location.reload();
    } catch (error) {
      showError(error);
    }
  });
}

// Series page ---------------------------------------------------------------------------------

function formBody(form, creating) {
  const data = new FormData(form);
  const cap = String(data.get("series_cap_price_coins") || "").trim();
  const body = {
    title: String(data.get("title") || "").trim(),
    synopsis: String(data.get("synopsis") || ""),
    genre: String(data.get("genre") || "").trim() || "drama",
    language: String(data.get("language") || "").trim() || "en",
    tags: list(String(data.get("tags") || "")),
    content_warnings: list(String(data.get("content_warnings") || "")),
    free_episodes: Number(data.get("free_episodes") || 0),
    episode_price_coins: Number(data.get("episode_price_coins") || 0),
  };
  if (cap) body.series_cap_price_coins = Number(cap);
  else if (!creating) body.series_cap_price_coins = null;
  return body;
}

class SeriesPage {
  constructor(main) {
    this.main = main;
    this.id = main.dataset.seriesId ? Number(main.dataset.seriesId) : null;
    const data = $("#series-data");
    this.series = data ? JSON.parse(data.textContent) : null;
    this.pollTimer = null;
    this.active = new Set(); // uploads running in this page
    this.uploadRows = []; // finished uploads' rows, told their episode's state on each refresh
    hooks.page = this;
  }

  init() {
    const form = $("[data-form=series]");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save(form);
    });
    if (!this.id) return;
    $("[data-action=poster]").addEventListener("change", (e) => this.uploadPoster(e.target));
    $("[data-action=files]").addEventListener("change", (e) => {
      this.addFiles([...e.target.files]);
      e.target.value = "";
    });
    const zone = $("[data-slot=dropzone]");
    zone.addEventListener("dragover", (e) => {
      e.preventDefault();
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("over");
      this.addFiles([...e.dataTransfer.files]);
    });
    $("[data-action=submit]").addEventListener("click", () => this.submit());
    this.render();
    this.showUnfinished();
  }

  async save(form) {
    showError(null);
    clearFormErrors(form);
    const creating = !this.id;
    try {
      const body = formBody(form, creating);
      if (creating) {
        const created = await api("POST", "/api/studio/series", { body });
        location.assign(`/studio/series/${created.id}`);
        return;
      }
      this.series = await api("PATCH", `/api/studio/series/${this.id}`, { body });
      const saved = $("[data-slot=saved]");
      saved.hidden = false;
      setTimeout(() => (saved.hidden = true), 2500);
      this.render();
    } catch (error) {
      showFormErrors(form, error, { summary: $("[data-slot=error]") });
    }
  }

  async uploadPoster(input) {
    const file = input.files?.[0];
    if (!file) return;
    showError(null);
    const body = new FormData();
    body.append("file", file);
    const response = await fetch(`/api/studio/series/${this.id}/poster`, { method: "POST", body });
    const answer = await response.json().catch(() => null);
    input.value = "";
    if (!response.ok) {
      showError(new ApiError(response.status, answer));
      return;
    }
    this.series = answer;
    this.render();
  }

  // Uploads -----------------------------------------------------------------------------------

  addFiles(files, replaceEpisodeId = null) {
    for (const file of files) this.startUpload(file, replaceEpisodeId);
  }

  uploadRow(file, replaceEpisodeId) {
    const bar = el("progress", { max: 100, value: 0 });
    const status = el("span", { class: "bo-hint", "data-slot": "status" }, "Starting…");
    const row = el(
      "li",
      { class: "bo-upload", "data-testid": "upload-row", dataset: { file: file.name, state: "starting" } },
      el("b", {}, replaceEpisodeId ? `${file.name} (replacing an episode)` : file.name),
      bar,
      status,
    );
    $("[data-slot=uploads]").append(row);
    return {
      row,
      set(state, text, percent) {
        row.dataset.state = state;
        status.textContent = text;
        if (percent !== undefined) bar.value = percent;
        status.setAttribute("role", state === "failed" ? "alert" : "status");
      },
    };
  }

  async startUpload(file, replaceEpisodeId) {
    const ui = this.uploadRow(file, replaceEpisodeId);
    const seriesId = this.id;
    const metadata = {
      series_id: String(seriesId),
      filename: file.name,
      filetype: file.type || "application/octet-stream",
      title: "",
    };
    if (replaceEpisodeId) metadata.replaces_episode_id = String(replaceEpisodeId);
    const state = { file: file.name, bytesSent: 0, total: file.size, resumedFrom: null, state: "starting" };
    hooks.uploads[file.name] = state;
    const upload = new tus.Upload(file, {
      endpoint: UPLOADS_URL,
      chunkSize: hooks.chunkSize || 8 * 1024 * 1024,
      retryDelays: hooks.retryDelays || [0, 1000, 3000, 5000, 10000],
      metadata,
      removeFingerprintOnSuccess: true,
      // One fingerprint per (series, target, file): the same clip dropped into two series, or
      // used to replace an episode, is a different upload.
      fingerprint: async (f) =>
        ["microdrama", seriesId, replaceEpisodeId || "new", f.name, f.type, f.size, f.lastModified].join("-"),
      onProgress: (sent, total) => {
        state.bytesSent = sent;
        state.state = "uploading";
        const pct = total ? Math.floor((sent / total) * 100) : 0;
        ui.set("uploading", `${pct}% uploaded`, pct);
      },
      onError: (/** @type {any} */ error) => {
        this.active.delete(upload);
        const status = error.originalResponse?.getStatus?.();
        state.state = status && status >= 400 && status < 500 ? "failed" : "paused";
        // tus-js-client's own message is for developers (method, URL, request id): people read
        // the API's message, or a plain one.
        let message = state.state === "failed" ? "The server refused this file." : "the connection dropped";
        try {
          message = JSON.parse(error.originalResponse?.getBody?.()).message || message;
        } catch {}
        state.error = message;
        ui.set(
          state.state,
          state.state === "failed"
            ? `Refused: ${message}`
            : `Stopped (${message}). Drop the same file again to resume.`,
        );
        this.refresh();
      },
      onSuccess: async () => {
        this.active.delete(upload);
        state.state = "done";
        ui.set("done", "Uploaded; transcoding…", 100);
        try {
          // The row follows its episode from now on: transcoding, then ready (or failed).
          const finished = await api("GET", upload.url);
          if (finished.episode_id) this.uploadRows.push({ ui, episodeId: finished.episode_id, replacing: !!replaceEpisodeId });
        } catch {}
        this.refresh();
      },
    });
    state.upload = upload;
    this.active.add(upload);
    const previous = await upload.findPreviousUploads();
    if (previous.length) {
      upload.resumeFromPreviousUpload(previous[0]);
      state.resumedFrom = previous[0].uploadUrl;
      ui.set("resuming", "Resuming…");
    }
    upload.start();
  }

  async showUnfinished() {
    try {
      const uploads = await api("GET", `${UPLOADS_URL}?series_id=${this.id}`);
      const unfinished = uploads.filter((u) => u.state === "receiving" && u.offset_bytes > 0);
      const slot = $("[data-slot=unfinished]");
      slot.replaceChildren(
        ...unfinished.map((u) =>
          el(
            "li",
            { class: "bo-upload", "data-testid": "unfinished-upload" },
            `${u.filename}: ${Math.floor((u.offset_bytes / u.length_bytes) * 100)}% received — drop it again to continue.`,
          ),
        ),
      );
      slot.hidden = unfinished.length === 0;
    } catch {}
  }

  // Episodes ----------------------------------------------------------------------------------

  async refresh() {
    try {
      this.series = await api("GET", `/api/studio/series/${this.id}`);
      this.render();
    } catch (error) {
      showError(error);
    }
  }

  schedulePoll() {
    const busy = this.series.episodes.some((e) => e.state === "processing" || e.replacing);
    clearTimeout(this.pollTimer);
    if (busy) this.pollTimer = setTimeout(() => this.refresh(), POLL_MS);
  }

  async episodeAction(method, url, body) {
    showError(null);
    try {
      this.series = await api(method, url, { body });
      this.render();
    } catch (error) {
      showError(error);
    }
  }

  move(index, delta) {
    const ids = this.series.episodes.map((e) => e.id);
    const target = index + delta;
    if (target < 0 || target >= ids.length) return;
    [ids[index], ids[target]] = [ids[target], ids[index]];
    this.episodeAction("PUT", `/api/studio/series/${this.id}/episodes/order`, { episode_ids: ids });
  }

  replace(episode) {
    const input = el("input", { type: "file", accept: "video/*", hidden: true });
    input.addEventListener("change", () => {
      if (input.files?.length) this.addFiles([input.files[0]], episode.id);
      input.remove();
    });
    document.body.append(input);
    input.click();
  }

  episodeRow(episode, index, count) {
    const s = this.series;
    let status;
    if (episode.state === "processing" || episode.replacing) {
      const pct = Math.floor((episode.progress || 0) * 100);
      const label = episode.job_state === "queued" ? "queued" : `transcoding ${pct}%`;
      status = el(
        "span",
        { class: "bo-episode-progress" },
        el("progress", { max: 100, value: pct, "data-testid": "transcode-progress" }),
        el("span", {}, episode.replacing ? `new video ${label}` : label),
      );
    } else if (episode.state === "failed") {
      status = el("span", { class: "bo-error-text" }, `failed: ${episode.error || "unknown"}`);
    } else {
      status = el("span", { class: "bo-hint" }, clock(episode.duration_ms));
    }
    // A published series' new episode or new video waits for an operator; a refusal says why.
    let review = null;
    if (episode.awaiting_review) {
      const what = episode.state === "in_review" ? "waiting for review" : "new video waiting for review";
      review = el("span", { class: "bo-hint", "data-testid": "episode-review" }, what);
    } else if (episode.review_note) {
      const what = episode.state === "rejected" ? "refused" : "new video refused";
      review = el("span", { class: "bo-error-text", "data-testid": "episode-review" }, `${what}: ${episode.review_note}`);
    }
    const price = episode.number <= s.free_episodes ? "free" : `${s.episode_price_coins} coins`;
    return el(
      "li",
      {
        class: "bo-episode",
        "data-testid": "studio-episode",
        dataset: { episodeId: episode.id, state: episode.state, number: episode.number },
      },
      episode.thumbnail_url ? el("img", { src: episode.thumbnail_url, alt: "", width: 36, height: 64 }) : el("span", { class: "bo-noposter small" }),
      el("span", { class: "bo-episode-name" }, `${episode.number}. ${episode.title}`),
      el("span", { class: "bo-badge bo-badge-" + episode.state, "data-testid": "episode-state" }, episode.state),
      status,
      review,
      episode.replacement_error ? el("span", { class: "bo-error-text" }, `replacement failed: ${episode.replacement_error}`) : null,
      el("span", { class: "bo-hint" }, price),
      el(
        "span",
        { class: "bo-episode-actions" },
        el("button", { type: "button", class: "button small", "aria-label": "Move up", disabled: index === 0, onclick: () => this.move(index, -1), "data-testid": "move-up" }, "↑"),
        el("button", { type: "button", class: "button small", "aria-label": "Move down", disabled: index === count - 1, onclick: () => this.move(index, 1), "data-testid": "move-down" }, "↓"),
        el("button", { type: "button", class: "button small", onclick: () => this.replace(episode), "data-testid": "replace-episode" }, "Replace video"),
        el("a", { class: "button small", href: `/studio/episodes/${episode.id}/subtitles`, "data-testid": "episode-subtitles" }, "Subtitles"),
        episode.deletable
          ? el(
              "button",
              {
                type: "button",
                class: "button small",
                "data-testid": "delete-episode",
                onclick: () => {
                  if (confirm(`Delete episode ${episode.number}?`))
                    this.episodeAction("DELETE", `/api/studio/series/${this.id}/episodes/${episode.id}`);
                },
              },
              "Delete",
            )
          : null,
      ),
    );
  }

  /** Each finished upload's row says where its episode is: transcoding, ready or failed. */
  renderUploadRows() {
    for (const { ui, episodeId, replacing } of this.uploadRows) {
      const episode = this.series.episodes.find((e) => e.id === episodeId);
      if (!episode) continue;
      const pct = Math.floor((episode.progress || 0) * 100);
      const error = replacing ? episode.replacement_error : episode.error;
      if (error || (!replacing && episode.state === "failed")) {
        ui.set("failed", `Failed: ${error || "the video could not be converted."}`);
      } else if (episode.state === "processing" || (replacing && episode.replacing)) {
        ui.set("transcoding", episode.job_state === "queued" ? "Uploaded; queued for transcoding…" : `Uploaded; transcoding ${pct}%…`);
      } else if (episode.awaiting_review) {
        ui.set("ready", "Ready; waiting for review.");
      } else {
        ui.set("ready", "Ready.");
      }
    }
  }

  render() {
    const s = this.series;
    if (!s) return;
    this.renderUploadRows();
    const episodes = s.episodes;
    $("[data-slot=episodes]").replaceChildren(...episodes.map((e, i) => this.episodeRow(e, i, episodes.length)));
    const badge = $("[data-slot=status]");
    badge.textContent = s.status.replace("_", " ");
    badge.className = `bo-badge bo-badge-${s.status}`;
    const note = $("[data-slot=review-note]");
    note.hidden = !(s.status === "rejected" && s.review_note);
    $("span", note).textContent = s.review_note || "";
    $("[data-slot=cap-hint]").textContent = s.max_cap_price_coins
      ? `at most ${s.max_cap_price_coins}, empty = default discount`
      : "empty = default discount (checked once paid episodes exist)";
    const poster = $("[data-slot=poster]");
    if (s.poster_url) {
      poster.src = s.poster_url;
      poster.hidden = false;
    }
    const submit = $("[data-action=submit]");
    submit.disabled = !(s.status === "draft" || s.status === "rejected");
    submit.textContent = s.status === "in_review" ? "Waiting for review" : s.status === "published" || s.status === "scheduled" ? `Approved (${s.status})` : "Submit for review";
    this.schedulePoll();
  }

  async submit() {
    await this.episodeAction("POST", `/api/studio/series/${this.id}/submit`);
  }
}

// Moderation ----------------------------------------------------------------------------------

function initModeration() {
  for (const form of /** @type {NodeListOf<HTMLFormElement>} */ (document.querySelectorAll("[data-form=episode-review]"))) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showError(null);
      const decision = /** @type {HTMLButtonElement} */ (/** @type {SubmitEvent} */ (event).submitter)?.value || "approve";
      const url = `/api/admin/moderation/episodes/${form.dataset.episodeId}/${decision}`;
      try {
        const reason = String(new FormData(form).get("reason") || "");
        await api("POST", url, decision === "reject" ? { body: { reason } } : {});
        form.closest("[data-testid=episode-review-item]").remove();
      } catch (error) {
        showFormErrors(form, error, { summary: $("[data-slot=error]") });
      }
    });
    for (const button of form.querySelectorAll("button")) button.disabled = false;
  }
  for (const form of /** @type {NodeListOf<HTMLFormElement>} */ (document.querySelectorAll("[data-form=review]"))) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showError(null);
      const decision = /** @type {HTMLButtonElement} */ (/** @type {SubmitEvent} */ (event).submitter)?.value || "approve";
      const id = form.dataset.seriesId;
      const data = new FormData(form);
      try {
        if (decision === "reject") {
          await api("POST", `/api/admin/moderation/${id}/reject`, { body: { reason: String(data.get("reason") || "") } });
        } else {
          const at = String(data.get("publish_at") || "");
          if (decision === "schedule" && !at) throw new Error("Pick the date and time to publish at.");
          const body = decision === "schedule" ? { publish_at: new Date(at).toISOString() } : {};
          await api("POST", `/api/admin/moderation/${id}/approve`, { body });
        }
        form.closest("[data-testid=review-item]").remove();
      } catch (error) {
        showFormErrors(form, error, { summary: $("[data-slot=error]") });
      }
    });
    for (const button of form.querySelectorAll("button")) button.disabled = false;
  }
}

const main = document.querySelector("main");
if (main?.dataset.testid === "studio-home") initHome();
else if (main?.dataset.testid === "studio-series-page") new SeriesPage(main).init();
else if (main?.dataset.testid === "moderation-page") initModeration();
