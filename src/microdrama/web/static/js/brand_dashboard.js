// @ts-check
// /brand: the funnel (impressions → clicks → carts → orders) by placement, campaign or series,
// over a date range, with a funnel bar chart, a daily line chart, rates, ROAS and a CSV export.

import { api, money } from "./api.js";
import { withBrand } from "./brand_view.js";
import { fail, permille } from "./backoffice.js";
import { el, exposeForTests, slot } from "./dom.js";

const GROUPS = ["placement", "campaign", "series"];
const params = new URLSearchParams(location.search);
const state = {
  group_by: GROUPS.includes(params.get("group_by")) ? params.get("group_by") : "placement",
  since: params.get("since") || "",
  until: params.get("until") || "",
  report: null,
  daily: null,
  loads: 0,
};
const charts = {};
// Test hook (see docs/shop-ui.md).
exposeForTests("__dashboard", state);

const roas = (value) => (value === null || value === undefined ? "–" : `${(value / 1000).toFixed(2)}×`);
const count = (n) => n.toLocaleString("en-US");
// The cells' test ids (funnel-clicks, funnel-orders, …), in the order of the table's columns.
const COLUMNS = ["impressions", "viewers", "clicks", "ctr", "carts", "cart-rate", "orders", "order-rate", "revenue", "commission", "roas"];
const cell = (text, i) => el("td", { text, dataset: { testid: `funnel-${COLUMNS[i]}` } });

function query() {
  const q = new URLSearchParams({ group_by: state.group_by });
  if (state.since) q.set("since", state.since);
  if (state.until) q.set("until", state.until);
  return q;
}

function cells(row, currency) {
  return [
    count(row.impressions),
    count(row.unique_viewers),
    count(row.clicks),
    permille(row.click_through_permille),
    count(row.add_to_carts),
    permille(row.add_to_cart_permille),
    count(row.orders),
    permille(row.order_permille),
    money(row.revenue_cents, currency),
    money(row.commission_cents, currency),
    roas(row.roas_permille),
  ];
}

function renderTable(report) {
  slot("group-name").textContent = report.group_by;
  slot("rows").replaceChildren(
    ...report.rows.map((row) =>
      el(
        "tr",
        { dataset: { testid: "funnel-row", key: row.key } },
        el("td", { text: row.label }),
        ...cells(row, report.currency).map(cell),
      ),
    ),
  );
  slot("totals").replaceChildren(
    el(
      "tr",
      { dataset: { testid: "funnel-totals" } },
      el("td", { text: "Total" }),
      ...cells(report.totals, report.currency).map(cell),
    ),
  );
  slot("empty").hidden = report.rows.length > 0;
}

function renderKpis(report) {
  const t = report.totals;
  const kpis = [
    ["Impressions", count(t.impressions)],
    ["Clicks", count(t.clicks)],
    ["Click-through", permille(t.click_through_permille)],
    ["Add to cart", count(t.add_to_carts)],
    ["Orders", count(t.orders)],
    ["Order rate", permille(t.order_permille)],
    ["Revenue", money(t.revenue_cents, report.currency)],
    ["ROAS", roas(t.roas_permille)],
  ];
  slot("kpis").replaceChildren(
    ...kpis.map(([label, value]) => el("div", { class: "bo-kpi", dataset: { testid: "kpi", label } }, el("b", { text: value }), el("span", { text: label }))),
  );
}

function chart(name, config) {
  if (!window.Chart) return; // the vendored Chart.js is missing: the table still tells it all
  charts[name]?.destroy();
  charts[name] = new window.Chart(/** @type {HTMLCanvasElement} */ (slot(`${name}-chart`)), config);
}

const axisColor = "rgba(255,255,255,0.72)";
const gridColor = "rgba(255,255,255,0.1)";
const scales = {
  x: { ticks: { color: axisColor }, grid: { color: gridColor } },
  y: { beginAtZero: true, ticks: { color: axisColor, precision: 0 }, grid: { color: gridColor } },
};

function renderCharts(report, daily) {
  const t = report.totals;
  chart("funnel", {
    type: "bar",
    data: {
      labels: ["Impressions", "Clicks", "Add to cart", "Orders"],
      datasets: [{ label: "Viewers' steps", data: [t.impressions, t.clicks, t.add_to_carts, t.orders], backgroundColor: ["#6ea8ff", "#8f7bff", "#ff7a45", "#ff2d55"] }],
    },
    options: { maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } }, scales },
  });
  const days = daily.days.map((d) => d.day.slice(5));
  chart("daily", {
    type: "line",
    data: {
      labels: days,
      datasets: [
        { label: "Impressions", data: daily.days.map((d) => d.impressions), borderColor: "#6ea8ff", tension: 0.25 },
        { label: "Clicks", data: daily.days.map((d) => d.clicks), borderColor: "#8f7bff", tension: 0.25 },
        { label: "Orders", data: daily.days.map((d) => d.orders), borderColor: "#ff2d55", tension: 0.25 },
      ],
    },
    options: { maintainAspectRatio: false, animation: false, plugins: { legend: { labels: { color: axisColor } } }, scales },
  });
}

async function load() {
  const q = query();
  history.replaceState(null, "", withBrand(`/brand?${q}`));
  /** @type {HTMLAnchorElement} */ (slot("csv")).href = withBrand(`/api/brand/funnels.csv?${q}`);
  for (const button of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll("[data-group]"))) {
    button.setAttribute("aria-pressed", String(button.dataset.group === state.group_by));
  }
  const range = new URLSearchParams(q);
  range.delete("group_by");
  try {
    const [report, daily] = await Promise.all([
      api("GET", withBrand(`/api/brand/funnels?${q}`)),
      api("GET", withBrand(`/api/brand/funnels/daily?${range}`)),
    ]);
    state.report = report;
    state.daily = daily;
    // The server fills in the default range: show it.
    state.since = report.since;
    state.until = report.until;
    /** @type {HTMLInputElement} */ (slot("since")).value = report.since;
    /** @type {HTMLInputElement} */ (slot("until")).value = report.until;
    /** @type {HTMLAnchorElement} */ (slot("csv")).href = withBrand(`/api/brand/funnels.csv?${query()}`);
    slot("error").hidden = true;
    renderKpis(report);
    renderTable(report);
    renderCharts(report, daily);
    state.loads += 1;
  } catch (error) {
    fail(error);
  }
}

for (const button of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll("[data-group]"))) {
  button.addEventListener("click", () => {
    state.group_by = button.dataset.group;
    load();
  });
}
for (const name of ["since", "until"]) {
  slot(name).addEventListener("change", (event) => {
    state[name] = /** @type {HTMLInputElement} */ (event.target).value;
    load();
  });
}

// Chart.js is a deferred classic script: it has run once the document is parsed, as modules do.
load();
