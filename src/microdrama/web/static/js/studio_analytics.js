// @ts-check
// The studio's analytics page: fetch the series' dashboard for the chosen days and draw it.

import { exposeForTests } from "./dom.js";
const root = /** @type {HTMLElement} */ (document.querySelector("[data-testid=studio-analytics]"));
const seriesId = root.dataset.seriesId;
const form = /** @type {HTMLFormElement} */ (root.querySelector("[data-testid=analytics-range]"));
const csvLink = /** @type {HTMLAnchorElement} */ (root.querySelector("[data-testid=analytics-csv]"));
const errorBox = /** @type {HTMLElement} */ (root.querySelector("[data-slot=error]"));
const charts = {};
const PALETTE = ["#ff2d55", "#ff7a45", "#ffd166", "#06d6a0", "#4cc9f0", "#b388ff", "#f72585", "#90be6d"];

const pct = (x) => (x == null ? "–" : `${Math.round(x * 1000) / 10} %`);
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;

function query() {
  const params = new URLSearchParams();
  for (const name of ["from", "to"]) {
    const value = form.elements[name].value;
    if (value) params.set(name, value);
  }
  return params.toString();
}

function chart(name, config) {
  charts[name]?.destroy();
  const canvas = /** @type {HTMLCanvasElement} */ (root.querySelector(`[data-testid=${name}-chart]`));
  charts[name] = new window.Chart(canvas, {
    ...config,
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { legend: { labels: { color: "#ddd" } } },
      ...config.options,
    },
  });
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.append(td);
}

// A series nobody has watched yet: a flat 0 % line or a table of zeros reads like a verdict,
// so charts and tables say "No data yet" instead.
const NO_DATA = "No data yet: numbers appear here once viewers start watching.";

function noData(name, isEmpty) {
  const canvas = /** @type {HTMLCanvasElement} */ (root.querySelector(`[data-testid=${name}-chart]`));
  let note = /** @type {HTMLElement} */ (canvas.parentElement.querySelector(".bo-empty"));
  if (!note) {
    note = document.createElement("p");
    note.className = "bo-empty";
    note.dataset.testid = "no-data";
    canvas.parentElement.append(note);
  }
  note.textContent = NO_DATA;
  note.hidden = !isEmpty;
  canvas.hidden = isEmpty;
  if (isEmpty) {
    charts[name]?.destroy();
    delete charts[name];
  }
  return isEmpty;
}

function noDataRow(table) {
  const row = document.createElement("tr");
  const td = document.createElement("td");
  td.colSpan = table.querySelectorAll("thead th").length;
  td.className = "bo-empty";
  td.dataset.testid = "no-data";
  td.textContent = NO_DATA;
  row.append(td);
  return row;
}

function draw(report) {
  const watched = report.views > 0;
  const totals = {
    views: report.views.toLocaleString(),
    unique_viewers: report.unique_viewers.toLocaleString(),
    completion_rate: watched ? pct(report.completion_rate) : "–",
    average_watch: watched ? secs(report.average_watch_ms) : "–",
    conversion_rate: watched ? pct(report.paywall.conversion_rate) : "–",
    binge: watched ? report.binge.average_episodes.toFixed(2) : "–",
  };
  for (const [name, text] of Object.entries(totals)) {
    root.querySelector(`[data-total=${name}]`).textContent = text;
  }
  const longest = Math.max(0, ...report.episodes.map((e) => e.retention.length));
  if (!noData("retention", !watched)) chart("retention", {
    type: "line",
    data: {
      labels: Array.from({ length: longest }, (_, s) => `${s}s`),
      datasets: report.episodes.map((e, i) => ({
        label: `Ep ${e.number}`,
        data: e.retention.map((share) => Math.round(share * 1000) / 10),
        borderColor: PALETTE[i % PALETTE.length],
        pointRadius: e.retention.map((_, s) => (e.drop_offs.some((d) => d.second === s) ? 5 : 0)),
        tension: 0,
      })),
    },
    options: { scales: { y: { min: 0, max: 100, title: { display: true, text: "% still watching" } } } },
  });
  const dropList = root.querySelector("[data-testid=drop-offs]");
  dropList.replaceChildren(
    ...report.episodes.filter((e) => e.drop_offs.length).map((e) => {
      const li = document.createElement("li");
      li.textContent = `Episode ${e.number}: ` + e.drop_offs.map((d) => `${pct(d.drop)} left at ${d.second}s`).join(", ");
      return li;
    }),
  );
  const funnel = report.paywall;
  if (!noData("funnel", !watched)) chart("funnel", {
    type: "bar",
    data: {
      labels: ["Reached the paywall", "Unlocked", "with coins", "with VIP", "with an ad"],
      datasets: [{
        label: "Viewers",
        data: [funnel.reached, funnel.unlocked, funnel.by_method.coins, funnel.by_method.vip, funnel.by_method.ad],
        backgroundColor: ["#4cc9f0", "#06d6a0", "#ff7a45", "#ffd166", "#b388ff"],
      }],
    },
    options: { plugins: { legend: { display: false } } },
  });
  const continued = report.episodes.filter((e) => e.continuation_rate != null);
  if (!noData("continuation", !watched)) chart("continuation", {
    type: "bar",
    data: {
      labels: continued.map((e) => `Ep ${e.number} → ${e.number + 1}`),
      datasets: [{ label: "% of finishers who went on", data: continued.map((e) => Math.round(e.continuation_rate * 1000) / 10), backgroundColor: "#ff2d55" }],
    },
    options: { scales: { y: { min: 0, max: 100 } }, plugins: { legend: { display: false } } },
  });
  const revenueBody = root.querySelector("[data-testid=revenue-table] tbody");
  revenueBody.replaceChildren(...report.revenue.map((r) => {
    const row = document.createElement("tr");
    row.dataset.testid = "revenue-row";
    row.dataset.source = r.source;
    cell(row, r.source.replace(/_/g, " "));
    cell(row, r.currency === "USD" ? `$${(r.amount / 100).toFixed(2)}` : `${r.amount.toLocaleString()} coins`);
    cell(row, r.note);
    return row;
  }));
  const body = root.querySelector("[data-testid=episode-table] tbody");
  // Without views the column headings would only stretch the table past a phone's width.
  body.closest("table").tHead.hidden = !watched;
  if (!watched) {
    body.replaceChildren(noDataRow(body.closest("table")));
    return;
  }
  body.replaceChildren(...report.episodes.map((e) => {
    const row = document.createElement("tr");
    row.dataset.testid = "episode-row";
    for (const text of [
      e.number, e.views, e.unique_viewers, pct(e.completion_rate), secs(e.average_watch_ms),
      pct(e.continuation_rate), e.paywall_reached, e.unlocked,
      e.drop_offs.length ? `${e.drop_offs[0].second}s (${pct(e.drop_offs[0].drop)})` : "–",
    ]) cell(row, String(text));
    return row;
  }));
}

async function load() {
  root.setAttribute("aria-busy", "true");
  const q = query();
  csvLink.href = `/api/studio/series/${seriesId}/analytics.csv${q ? `?${q}` : ""}`;
  try {
    const answer = await fetch(`/api/studio/series/${seriesId}/analytics${q ? `?${q}` : ""}`, { credentials: "same-origin" });
    const body = await answer.json();
    if (!answer.ok) throw new Error(body.message || `HTTP ${answer.status}`);
    errorBox.hidden = true;
    if (!window.Chart) await new Promise((r) => addEventListener("load", r, { once: true }));
    draw(body);
    exposeForTests("__studioAnalytics", { report: body, charts });
  } catch (error) {
    errorBox.textContent = `Could not load the analytics: ${error.message}`;
    errorBox.hidden = false;
  } finally {
    root.setAttribute("aria-busy", "false");
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
load();
