// @ts-check
// /studio/earnings: the creator's commission per placement (read from the ledger) and in total.

import { api, money } from "./api.js";
import { fail } from "./backoffice.js";
import { el, exposeForTests, slot } from "./dom.js";

const params = new URLSearchParams(location.search);
const state = { since: params.get("since") || "", until: params.get("until") || "", report: null };
// Test hook (see docs/shop-ui.md).
exposeForTests("__earnings", state);

async function load() {
  const q = new URLSearchParams();
  if (state.since) q.set("since", state.since);
  if (state.until) q.set("until", state.until);
  try {
    const report = await api("GET", `/api/studio/commissions?${q}`);
    state.report = report;
    slot("total").textContent = money(report.total_commission_cents, report.currency);
    slot("rows").replaceChildren(
      ...report.rows.map((row) =>
        el(
          "tr",
          { dataset: { testid: "earnings-row", placementId: row.placement_id } },
          el("td", { text: `${row.series_title} · Ep ${row.episode_number} · ${row.product_title} (#${row.placement_id})` }),
          el("td", { text: row.brand_name }),
          el("td", { text: String(row.orders), dataset: { testid: "earnings-orders" } }),
          el("td", { text: money(row.revenue_cents, report.currency), dataset: { testid: "earnings-revenue" } }),
          el("td", { text: money(row.commission_cents, report.currency), dataset: { testid: "earnings-commission" } }),
        ),
      ),
    );
    slot("empty").hidden = report.rows.length > 0;
    // The range the server used: given, or its default (the last 30 days, UTC).
    const until = report.until || state.until || new Date().toISOString().slice(0, 10);
    const since = report.since || state.since || new Date(Date.parse(until) - 29 * 86_400_000).toISOString().slice(0, 10);
    /** @type {HTMLInputElement} */ (slot("since")).value = since;
    /** @type {HTMLInputElement} */ (slot("until")).value = until;
  } catch (error) {
    fail(error);
  }
}

for (const name of ["since", "until"]) {
  slot(name).addEventListener("change", (event) => {
    state[name] = /** @type {HTMLInputElement} */ (event.target).value;
    load();
  });
}

load();
