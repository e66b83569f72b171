// @ts-check
// The studio analytics page's Cliffhangers section: each episode's ending scored by how many
// of its finishers went on to the next one, against the catalog's expectation at that place.

import { el, exposeForTests, slot } from "./dom.js";

const section = /** @type {HTMLElement} */ (document.querySelector("[data-testid=cliffhangers]"));
const seriesId = /** @type {HTMLElement} */ (document.querySelector("[data-testid=studio-analytics]")).dataset.seriesId;
const list = slot("cliffhanger-list", section);
const errorBox = slot("cliffhanger-error", section);

const CHIPS = {
  strong: "Strong",
  typical: "Typical",
  weak: "Weak",
  not_enough_viewers: "Not enough viewers yet",
  no_next_episode: "Last episode",
};
const KINDS = { reveal: "a reveal", threat: "a threat", decision: "a decision", arrival: "an arrival" };

/** @param {number} share */
const pct = (share) => `${Math.round(share * 100)} %`;

/** A "62 % (57–67 %)" range, or the share alone when there is no interval. */
function shareWithRange(share, interval) {
  return interval ? `${pct(share)} (${Math.round(interval.low * 100)}–${pct(interval.high)})` : pct(share);
}

function facts(e) {
  const parts = [];
  if (e.continuation != null) {
    parts.push(el("span", {}, el("b", { text: shareWithRange(e.continuation, e.interval) }),
      ` of ${e.viewers.toLocaleString()} went on; expected ${pct(e.expected)}`,
      e.typical ? ` (typical ${Math.round(e.typical.low * 100)}–${pct(e.typical.high)})` : ""));
  } else if (e.label === "not_enough_viewers") {
    parts.push(`${e.viewers.toLocaleString()} finished it over a day ago`);
  }
  if (e.drop_off != null) {
    parts.push(`${pct(e.drop_off)} of ${e.reached_end.toLocaleString()} left in the last 10 s`);
  }
  const p = el("p", { class: "cliff-facts", dataset: { testid: "cliffhanger-facts" } });
  parts.forEach((part, i) => p.append(...(i ? [" · ", part] : [part])));
  return p;
}

function line(e) {
  if (!e.cliffhanger) return null;
  const kind = KINDS[e.cliffhanger.kind] ?? e.cliffhanger.kind;
  return el("p", { class: "cliff-line", dataset: { testid: "cliffhanger-line" } },
    "Ends on ", kind, ": ", el("q", { text: e.cliffhanger.line }),
    e.label === "weak"
      ? el("a", { href: e.cliffhanger.rewrite_url, dataset: { testid: "cliffhanger-rewrite" }, text: "Rewrite this ending" })
      : null);
}

function row(e) {
  return el("li", { class: "cliff-row", dataset: { testid: "cliffhanger-row", label: e.label, number: String(e.number) } },
    el("span", { class: "cliff-number", text: `Ep ${e.number}` }),
    el("span", { class: "cliff-title", text: e.title || `Episode ${e.number}` }),
    el("span", { class: `cliff-chip ${e.label}`, dataset: { testid: "cliffhanger-label" }, text: CHIPS[e.label] ?? e.label }),
    facts(e),
    line(e));
}

async function load() {
  try {
    const answer = await fetch(`/api/studio/series/${seriesId}/cliffhangers`, { credentials: "same-origin" });
    const body = await answer.json();
    if (!answer.ok) throw new Error(body.message || `HTTP ${answer.status}`);
    list.replaceChildren(...(body.episodes.length
      ? body.episodes.map(row)
      : [el("li", { class: "bo-empty", text: "No episodes yet." })]));
    errorBox.hidden = true;
    exposeForTests("__cliffhangers", body);
  } catch (error) {
    errorBox.textContent = `Could not load the cliffhanger scores: ${error.message}`;
    errorBox.hidden = false;
  } finally {
    section.setAttribute("aria-busy", "false");
  }
}

load();
