// @ts-check
// The search page: asks /api/search as the viewer types (debounced; an answer to an older
// query never replaces a newer one's), draws the results as poster cards, and keeps the page's
// address in step with the query and filters so Back and reload return to the same search.

import { api, explain, plural } from "./api.js";
import { el, exposeForTests, slot } from "./dom.js";

/**
 * One series found (discovery/search_schemas.py SearchHit).
 * @typedef {{ id: number, title: string, genre: string, language: string, creator: string,
 *   accent_color: string, poster_url: string | null, episode_count: number,
 *   free_episodes: number, first_episode_id: number | null, complete: boolean,
 *   viewers_last_week: number }} SearchHit
 */
/**
 * @typedef {{ query: string, items: SearchHit[], suggestions: SearchHit[],
 *   message: string | null }} SearchAnswer
 */

// Long enough to skip the requests of a word being typed, short enough to feel instant.
const DEBOUNCE_MS = 160;

const form = /** @type {HTMLFormElement} */ (slot("form"));
const input = /** @type {HTMLInputElement} */ (slot("q"));
const genre = /** @type {HTMLSelectElement} */ (slot("genre"));
const language = /** @type {HTMLSelectElement} */ (slot("language"));
const free = /** @type {HTMLInputElement} */ (slot("free"));
const complete = /** @type {HTMLInputElement} */ (slot("complete"));
const status = slot("status");
const results = slot("results");
const empty = slot("empty");
const suggestions = slot("suggestions");
const clearFilters = slot("clear-filters");

const state = exposeForTests("__search", {
  /** The query string of the last answer drawn. */
  shown: "",
  /** Answers drawn so far (tests wait on it). */
  answers: 0,
});
let asked = 0; // the number of the latest request: older answers are dropped
let timer = 0;

/** The search as the address and the API take it: empty fields left out. */
function currentQuery() {
  const query = new URLSearchParams();
  const text = input.value.trim();
  if (text) query.set("q", text);
  if (genre.value) query.set("genre", genre.value);
  if (language.value) query.set("language", language.value);
  if (free.checked) query.set("free", "true");
  if (complete.checked) query.set("complete", "true");
  return query;
}

const filtered = () => Boolean(genre.value || language.value || free.checked || complete.checked);

/**
 * A poster card: the poster and title open the series page, the play button its first episode.
 * @param {SearchHit} hit
 * @param {number} index
 */
function card(hit, index) {
  // The title's first letter on the series' colour, under the poster until it loads (and
  // instead of it when there is none or it fails).
  const initial = el("span", { class: "poster-initial", "aria-hidden": "true", text: hit.title.slice(0, 1) });
  const poster = hit.poster_url
    ? el("img", {
        src: hit.poster_url,
        alt: "",
        loading: index < 6 ? "eager" : "lazy",
        onerror: (/** @type {Event} */ event) => /** @type {HTMLElement} */ (event.target).remove(),
      })
    : null;
  const badges = el(
    "span",
    { class: "poster-badges" },
    hit.free_episodes > 0 ? el("span", { class: "badge free", text: `${hit.free_episodes} free` }) : null,
    hit.complete ? el("span", { class: "badge complete", text: "Complete" }) : null,
  );
  const meta = [hit.creator, plural(hit.episode_count, "episode")].filter(Boolean).join(" · ");
  return el(
    "li",
    { class: "poster-card", style: `--accent: ${hit.accent_color}`, dataset: { seriesId: String(hit.id) } },
    el(
      "a",
      { class: "poster-link", href: `/series/${hit.id}`, "data-testid": "search-result" },
      el("span", { class: "poster-frame" }, initial, poster, badges),
      el("span", { class: "poster-title", text: hit.title, "data-testid": "search-result-title" }),
      el("span", { class: "poster-meta", text: meta }),
    ),
    hit.first_episode_id
      ? el(
          "a",
          { class: "poster-play", href: `/watch/${hit.first_episode_id}`, "aria-label": `Play ${hit.title} from episode 1` },
          el("span", { class: "poster-play-icon", "aria-hidden": "true" }),
        )
      : null,
  );
}

/**
 * Draw an answer: the results, or the message with popular series instead.
 * @param {SearchAnswer} answer
 * @param {string} key the query string it answers
 */
function show(answer, key) {
  results.replaceChildren(...answer.items.map(card));
  const found = answer.items.length;
  if (found) {
    status.textContent = answer.query
      ? `${plural(found, "series", "series")} for “${answer.query}”`
      : plural(found, "series", "series");
  } else {
    status.textContent = answer.message || "";
  }
  suggestions.replaceChildren(...answer.suggestions.map(card));
  empty.hidden = found > 0 || answer.suggestions.length === 0;
  clearFilters.hidden = found > 0 || !filtered();
  state.shown = key;
  state.answers += 1;
}

async function search() {
  clearTimeout(timer);
  const query = currentQuery();
  const key = query.toString();
  history.replaceState(null, "", key ? `/search?${key}` : "/search");
  if (key === state.shown) return;
  const number = ++asked;
  document.body.dataset.searching = "true";
  try {
    const answer = await api("GET", `/api/search?${key}`);
    if (number === asked) show(answer, key);
  } catch (error) {
    if (number === asked) status.textContent = explain(error);
  } finally {
    if (number === asked) delete document.body.dataset.searching;
  }
}

function searchSoon() {
  clearTimeout(timer);
  timer = window.setTimeout(search, DEBOUNCE_MS);
}

/** Language codes as people read them ("es" → "Spanish"), where the browser knows them. */
function nameLanguages() {
  let names;
  try {
    names = new Intl.DisplayNames([navigator.language || "en"], { type: "language" });
  } catch {
    return;
  }
  for (const option of language.querySelectorAll("option[data-language]")) {
    try {
      option.textContent = names.of(/** @type {HTMLOptionElement} */ (option).value) || option.textContent;
    } catch {}
  }
}

input.addEventListener("input", searchSoon);
for (const control of [genre, language, free, complete]) control.addEventListener("change", search);
form.addEventListener("submit", (event) => {
  event.preventDefault();
  search();
  input.blur(); // a phone's keyboard goes away to show the results
});
clearFilters.addEventListener("click", () => {
  genre.value = "";
  language.value = "";
  free.checked = false;
  complete.checked = false;
  search();
});

nameLanguages();
const first = document.getElementById("search-data");
if (first?.textContent) show(JSON.parse(first.textContent), currentQuery().toString());
