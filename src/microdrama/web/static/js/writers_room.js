// @ts-check
// The writers' room: the "New series" form, and a project's page (inline edits of the bible and
// the cards, AI jobs with progress, version history and restore, scripts, "Create the series").
import { cancelJob, followJob } from "./ai_jobs.js";
import { api, clearFormErrors } from "./api.js";
import { fail, notify, pageData, say } from "./backoffice.js";
import { el, slot } from "./dom.js";

const API = "/api/studio/writers-room";

const main = /** @type {HTMLElement} */ (document.querySelector("main"));

// Home ----------------------------------------------------------------------------------------

function initHome() {
  document.querySelector("[data-action=join]")?.addEventListener("click", async () => {
    try {
      await api("POST", "/api/studio/join");
      location.reload();
    } catch (error) {
      fail(error);
    }
  });
  const form = /** @type {HTMLFormElement | null} */ (document.querySelector("[data-form=new-project]"));
  form?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = {
      premise: String(data.get("premise") || "").trim(),
      trope: String(data.get("trope")),
      tone: String(data.get("tone") || "").trim() || "dramatic",
      episode_count: Number(data.get("episode_count")),
      free_episodes: Number(data.get("free_episodes")),
      episode_seconds: Number(data.get("episode_seconds")),
    };
    const button = /** @type {HTMLButtonElement} */ (form.querySelector("[type=submit]"));
    button.disabled = true;
    try {
      const project = await api("POST", API, { body });
      location.assign(project.url);
    } catch (error) {
      fail(error, { form, fields: { premise: "premise" } });
      button.disabled = false;
    }
  });
}

// Project -------------------------------------------------------------------------------------

class ProjectPage {
  constructor() {
    this.id = Number(main.dataset.projectId);
    this.data = pageData();
    this.jobId = null;
    main.addEventListener("click", (event) => this.onClick(event));
    main.addEventListener("submit", (event) => this.onSubmit(event));
    const focus = this.data.focus_episode;
    if (focus) {
      const card = document.getElementById(`card-${focus}`);
      card?.scrollIntoView({ block: "center" });
      if (this.data.rewrite) {
        /** @type {HTMLElement | null} */ (card?.querySelector("[data-testid=rewrite-cliffhanger]"))?.focus();
      }
    }
  }

  /** @param {Event} event */
  async onClick(event) {
    const target = /** @type {HTMLElement} */ (event.target);
    const button = /** @type {HTMLButtonElement | null} */ (target.closest("[data-action]"));
    if (!button) return;
    const action = button.dataset.action;
    const card = /** @type {HTMLElement | null} */ (button.closest("[data-episode]"));
    const episode = card ? Number(card.dataset.episode) : null;
    if (action === "generate") await this.generate(button, button.dataset.what, episode);
    else if (action === "create-series") await this.createSeries(button);
    else if (action === "history") await this.showHistory(button.dataset.part);
    else if (action === "show-script" && card) await this.showScript(card, episode);
    else if (action === "table-read" && card) await this.tableRead(button, card, episode);
    else if (action === "restore") await this.restore(button.dataset.part, Number(button.dataset.number));
    else if (action === "cancel-job" && this.jobId) {
      try {
        await cancelJob(this.jobId);
      } catch (error) {
        fail(error);
      }
    }
  }

  /** @param {SubmitEvent} event */
  async onSubmit(event) {
    const form = /** @type {HTMLFormElement} */ (event.target);
    if (!form.dataset.form || form.method === "dialog") return;
    event.preventDefault();
    clearFormErrors(form);
    try {
      if (form.dataset.form === "bible") {
        const project = await api("PATCH", `${API}/${this.id}/bible`, { body: bibleBody(form) });
        notify(`Bible saved (version ${project.versions.bible}).`);
        const history = main.querySelector("[data-testid=history-bible]");
        if (history) history.textContent = `History (v${project.versions.bible})`;
        const title = main.querySelector("[data-testid=project-title]");
        if (title) title.textContent = project.title;
      } else if (form.dataset.form === "card") {
        const card = /** @type {HTMLElement} */ (form.closest("[data-episode]"));
        const data = new FormData(form);
        const body = {};
        for (const name of ["title", "hook", "conflict", "turn", "cliffhanger_line"]) {
          body[name] = String(data.get(name) || "").trim();
        }
        const project = await api("PATCH", `${API}/${this.id}/cards/${card.dataset.episode}`, { body });
        const saved = slot("saved", form);
        saved.textContent = `Saved (version ${project.versions[`card:${card.dataset.episode}`]}).`;
        saved.hidden = false;
        const history = /** @type {HTMLElement} */ (form.querySelector("[data-testid=history-card]"));
        history.textContent = `v${project.versions[`card:${card.dataset.episode}`]}`;
      }
    } catch (error) {
      fail(error, { form });
    }
  }

  /**
   * @param {HTMLButtonElement} button
   * @param {string | undefined} what
   * @param {number | null} episode
   */
  async generate(button, what, episode) {
    const box = slot("job");
    const progress = /** @type {HTMLProgressElement} */ (slot("job-progress"));
    const message = slot("job-message");
    for (const b of main.querySelectorAll("[data-action=generate]")) /** @type {HTMLButtonElement} */ (b).disabled = true;
    say("error", "");
    try {
      const started = await api("POST", `${API}/${this.id}/generate`, {
        body: { what, episode: what === "plan" || what === "bible" ? null : episode },
      });
      this.jobId = started.job_id;
      box.hidden = false;
      message.textContent = "Waiting for the AI worker…";
      await followJob(started.job_id, (fraction, text) => {
        progress.value = fraction;
        message.textContent = text;
      });
      if (what === "script" && episode) {
        const card = /** @type {HTMLElement} */ (button.closest("[data-episode]"));
        await this.showScript(card, episode);
        const read = /** @type {HTMLElement | null} */ (card.querySelector("[data-action=table-read]"));
        if (read) read.hidden = false;
        message.textContent = `Script for episode ${episode} written.`;
        this.enableGenerate();
        return;
      }
      // The plan, the bible or a card changed: show it as the server has it now.
      go(episode ? `?episode=${episode}#card-${episode}` : "");
    } catch (error) {
      box.hidden = true;
      fail(error);
      this.enableGenerate();
    } finally {
      this.jobId = null;
    }
  }

  enableGenerate() {
    for (const b of main.querySelectorAll("[data-action=generate]")) /** @type {HTMLButtonElement} */ (b).disabled = false;
  }

  /**
   * @param {HTMLElement} card
   * @param {number | null} episode
   */
  async showScript(card, episode) {
    const box = slot("script", card);
    try {
      const read = await api("GET", `${API}/${this.id}/scripts/${episode}`);
      box.replaceChildren(
        el("p", { class: "bo-hint", text: `Script v${read.version} · about ${Math.round(read.estimated_seconds)} s` }),
        ...read.script.lines.map((line) =>
          line.kind === "dialogue"
            ? el("p", { dataset: { kind: "dialogue" } }, el("span", { class: "wr-speaker", text: `${line.character}: ` }), line.text)
            : el("p", { class: line.kind === "scene" ? "wr-scene" : "wr-action", dataset: { kind: line.kind }, text: line.text }),
        ),
      );
      box.hidden = false;
    } catch (error) {
      fail(error);
    }
  }

  /**
   * Voice the episode's script (one voice per character) into an animatic that goes to the
   * draft series as this episode's video; then a link to watch it in the player.
   * @param {HTMLButtonElement} button
   * @param {HTMLElement} card
   * @param {number | null} episode
   */
  async tableRead(button, card, episode) {
    const status = slot("table-read", card);
    button.disabled = true;
    status.hidden = false;
    status.textContent = "Waiting for the AI worker…";
    try {
      const started = await api("POST", "/api/studio/table-reads", { body: { project_id: this.id, episode } });
      this.jobId = started.job_id;
      const result = await followJob(started.job_id, (fraction, text) => {
        status.textContent = `${text} (${Math.round(fraction * 100)} %)`;
      });
      const seconds = Math.round(result.duration_ms / 1000);
      const cast = Object.entries(result.voices).map(([who, voice]) => `${who} (${voice})`).join(", ");
      await transcoded(result.series_id, result.episode_id, (percent) => {
        status.textContent = `Voiced (${seconds} s; ${cast}). Preparing the video: ${percent} %`;
      });
      status.replaceChildren(
        `Table read ready: ${seconds} s; ${cast}. `,
        el("a", { href: `/watch/${result.episode_id}`, "data-testid": "watch-table-read", text: "Watch it" }),
      );
    } catch (error) {
      status.hidden = true;
      fail(error);
    } finally {
      this.jobId = null;
      button.disabled = false;
    }
  }

  /** @param {HTMLButtonElement} button */
  async createSeries(button) {
    button.disabled = true;
    try {
      const created = await api("POST", `${API}/${this.id}/series`);
      notify(`Draft series created with ${created.episodes} planned episodes.`);
      button.replaceWith(el("a", { class: "button", href: created.url, "data-testid": "series-link", text: "Open the series" }));
    } catch (error) {
      fail(error);
      button.disabled = false;
    }
  }

  /** @param {string | undefined} part */
  async showHistory(part) {
    const dialog = /** @type {HTMLDialogElement} */ (slot("history"));
    try {
      const history = await api("GET", `${API}/${this.id}/history/${encodeURIComponent(part)}`);
      slot("history-title").textContent = `History of the ${part.replace(":", " ")}`;
      slot("history-list").replaceChildren(
        ...history.versions.map((v) =>
          el(
            "li",
            { "data-testid": "version" },
            el("b", { text: `v${v.number}` }),
            ` ${v.source}${v.note ? ` (${v.note})` : ""} · ${new Date(v.created_at).toLocaleString()} `,
            v.number === history.current
              ? el("span", { class: "bo-hint", text: "current" })
              : el("button", {
                  class: "button small",
                  type: "button",
                  "data-action": "restore",
                  "data-part": part,
                  "data-number": v.number,
                  "data-testid": "restore-version",
                  text: "Restore",
                }),
            el("pre", { text: summary(v.content) }),
          ),
        ),
      );
      if (!dialog.open) dialog.showModal();
    } catch (error) {
      fail(error);
    }
  }

  /**
   * @param {string | undefined} part
   * @param {number} number
   */
  async restore(part, number) {
    try {
      await api("POST", `${API}/${this.id}/history/${encodeURIComponent(part)}/${number}/restore`);
      const episode = part.startsWith("card:") ? part.slice(5) : null;
      go(episode ? `?episode=${episode}#card-${episode}` : "");
    } catch (error) {
      fail(error);
    }
  }
}

/**
 * Wait for the episode's new video to be transcoded (the studio's series answer, every 2 s).
 * @param {number} seriesId
 * @param {number} episodeId
 * @param {(percent: number) => void} onProgress
 */
async function transcoded(seriesId, episodeId, onProgress) {
  for (;;) {
    const series = await api("GET", `/api/studio/series/${seriesId}`);
    const episode = series.episodes.find((/** @type {{id: number}} */ e) => e.id === episodeId);
    if (!episode) throw new Error("The table read's episode is gone from the series.");
    const error = episode.replacement_error || episode.error;
    if (episode.state === "failed" || episode.replacement_state === "failed") throw new Error(error || "The video could not be prepared.");
    if (episode.state === "ready" && !episode.replacing) return;
    onProgress(Math.round((episode.progress || 0) * 100));
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

/**
 * Load the page again at `query` (e.g. "?episode=3#card-3"), even when only the hash differs.
 * @param {string} query
 */
function go(query) {
  const url = `${location.pathname}${query}`;
  history.replaceState(null, "", url);
  location.reload();
}

/** @param {HTMLFormElement} form */
function bibleBody(form) {
  const data = new FormData(form);
  const characters = [...form.querySelectorAll("[data-character]")].map((fieldset) => {
    const value = (name) => String(/** @type {HTMLInputElement} */ (fieldset.querySelector(`[name=${name}]`)).value).trim();
    return {
      name: value("name"),
      role: value("role"),
      want: value("want"),
      secret: value("secret"),
      relationship: value("relationship"),
      voice: value("voice") || null,
    };
  });
  return {
    title: String(data.get("title") || "").trim(),
    logline: String(data.get("logline") || "").trim(),
    characters,
  };
}

/** A version's content in a few lines: what a creator compares. */
function summary(content) {
  if (content.cliffhanger_line !== undefined) return `${content.title}\n${content.hook}\n…${content.cliffhanger_line}`;
  if (content.logline !== undefined) return `${content.title}\n${content.logline}`;
  if (content.lines) return content.lines.slice(0, 4).map((l) => (l.character ? `${l.character}: ${l.text}` : l.text)).join("\n");
  if (content.beats) return content.beats.map((b) => `Ep ${b.episode} ${b.label}: ${b.summary}`).join("\n");
  return JSON.stringify(content).slice(0, 300);
}

if (main.dataset.projectId) new ProjectPage();
else initHome();
