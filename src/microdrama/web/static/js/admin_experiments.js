// @ts-check
// Feed experiments (operator): start one, stop it, and read each arm's results with their 95 %
// intervals and the difference from For You.

import { api } from "./api.js";
import { busy, dateTime, failField, notify, problem, say } from "./backoffice.js";
import { el, fields, slot } from "./dom.js";

const root = /** @type {HTMLElement} */ (document.querySelector("[data-testid=admin-experiments-page]"));
const startForm = /** @type {HTMLFormElement} */ (root.querySelector("[data-form=start]"));
const stopButton = /** @type {HTMLButtonElement} */ (slot("stop", root));

/** @type {Record<string, string>} */
const ORDER_NAMES = { for_you: "For You", popularity: "Popularity", newest: "Newest first" };

/**
 * How a metric's values read: minutes and counts with decimals, continuation as a percentage
 * (its difference in percentage points).
 * @param {string} metric
 * @param {number} value
 * @param {boolean} [signed]
 */
function figure(metric, value, signed = false) {
  const sign = signed && value > 0 ? "+" : "";
  if (metric === "continuation") return `${sign}${(value * 100).toFixed(1)}${signed ? " pts" : " %"}`;
  return `${sign}${value.toFixed(metric === "minutes_per_viewer" ? 1 : 2)}`;
}

/**
 * A value with its interval: "12.3 (10.1 to 14.5)"; "–" without data.
 * @param {string} metric
 * @param {{ value: number | null, low: number | null, high: number | null }} estimate
 * @param {boolean} [signed]
 */
function estimateCell(metric, estimate, signed = false) {
  const cell = el("td", { class: "bo-num" });
  if (estimate.value === null) {
    cell.append("–");
    return cell;
  }
  cell.append(el("b", {}, figure(metric, estimate.value, signed)));
  if (estimate.low !== null && estimate.high !== null) {
    cell.append(el("span", { class: "bo-interval" },
      `${figure(metric, estimate.low, signed)} to ${figure(metric, estimate.high, signed)}`));
  }
  return cell;
}

/** @param {any} metric */
function metricRow(metric) {
  const counts = metric.kind === "proportion"
    ? el("span", { class: "bo-interval" }, `of ${metric.control_trials} and ${metric.treatment_trials} completions`)
    : null;
  const control = estimateCell(metric.metric, metric.control);
  const treatment = estimateCell(metric.metric, metric.treatment);
  const difference = estimateCell(metric.metric, metric.difference, true);
  control.dataset.label = slot("control-head", root).textContent || "";
  treatment.dataset.label = slot("treatment-head", root).textContent || "";
  difference.dataset.label = "Difference (95 %)";
  return el("tr", { "data-testid": "experiment-metric", "data-metric": metric.metric, "data-verdict": metric.difference.verdict },
    el("th", { scope: "row" }, metric.label, counts),
    control,
    treatment,
    difference,
    el("td", {}, el("span", { class: `bo-verdict bo-verdict-${metric.difference.verdict}`, "data-testid": "experiment-verdict" },
      metric.difference.summary)));
}

/** @param {any} results */
function showResults(results) {
  slot("results-empty", root).hidden = Boolean(results);
  slot("results-body", root).hidden = !results;
  if (!results) {
    slot("results-heading", root).textContent = "Results";
    return;
  }
  const experiment = results.experiment;
  slot("results-heading", root).textContent = `Results: ${experiment.name}${experiment.running ? "" : " (stopped)"}`;
  const [control, treatment] = results.arms;
  slot("control-head", root).textContent = `${ORDER_NAMES[control.arm]} (control)`;
  slot("treatment-head", root).textContent = ORDER_NAMES[treatment.arm];
  slot("arms", root).textContent =
    `${control.viewers} viewers served For You and ${treatment.viewers} served ${ORDER_NAMES[treatment.arm].toLowerCase()}, ` +
    `counted from their first feed in the experiment. Computed ${dateTime.format(new Date(results.computed_at))}.`;
  slot("metrics", root).replaceChildren(...results.metrics.map(metricRow));
  slot("note", root).textContent = results.note;
}

/** @param {any} experiment */
function historyRow(experiment) {
  const show = el("button", { type: "button", "data-testid": "experiment-show" }, "Results");
  show.addEventListener("click", () => busy(show, async () => {
    showResults(await api("GET", `/api/admin/experiments/${experiment.id}/results`));
    slot("results-heading", root).scrollIntoView({ block: "start" });
  }));
  return el("tr", { "data-testid": "experiment-row", "data-id": experiment.id },
    el("td", {}, experiment.name),
    el("td", {}, ORDER_NAMES[experiment.treatment_order]),
    el("td", { class: "bo-num" }, `${experiment.share_percent} %`),
    el("td", {}, dateTime.format(new Date(experiment.started_at))),
    el("td", {}, experiment.stopped_at ? dateTime.format(new Date(experiment.stopped_at)) : "running"),
    el("td", {}, experiment.started_by || "–"),
    el("td", {}, show));
}

/** @param {any} page */
function show(page) {
  const running = page.running;
  slot("running", root).hidden = !running;
  startForm.hidden = Boolean(running);
  if (running) {
    slot("running-text", root).textContent =
      `Running since ${dateTime.format(new Date(running.started_at))}: "${running.name}", ` +
      `${running.share_percent} % of viewers get ${ORDER_NAMES[running.treatment_order].toLowerCase()}, the others For You.`;
  }
  showResults(page.results);
  slot("history", root).replaceChildren(...page.experiments.map(historyRow));
  slot("history-empty", root).hidden = page.experiments.length > 0;
}

startForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const form = fields(startForm);
  const share = Number(form.share_percent.value);
  if (!form.name.value.trim()) return failField(startForm, "name", "Give the experiment a name.");
  if (!Number.isInteger(share) || share < 1 || share > 50) {
    return failField(startForm, "share_percent", "The share must be a whole number from 1 to 50 %.");
  }
  const body = { name: form.name.value.trim(), treatment_order: form.treatment_order.value, share_percent: share };
  busy(/** @type {HTMLButtonElement} */ (startForm.querySelector("button[type=submit]")), async () => {
    show(await api("POST", "/api/admin/experiments", { body }));
    notify(`Started: ${share} % of viewers now get ${ORDER_NAMES[body.treatment_order].toLowerCase()}.`);
  }, { form: startForm });
});

stopButton.addEventListener("click", () => busy(stopButton, async () => {
  show(await api("POST", "/api/admin/experiments/stop"));
  notify("Stopped: every viewer gets For You again. The results stay below.");
}));

api("GET", "/api/admin/experiments")
  .then(show)
  .catch((error) => say("error", problem(error)))
  .finally(() => root.setAttribute("aria-busy", "false"));
