// @ts-check
// /brand/campaigns: request a campaign on a series, list campaigns with status, open the editor.

import { api, money } from "./api.js";
import { withBrand } from "./brand_view.js";
import { busy, day, fail, failField, notify, pageData, parseCents, statusBadge } from "./backoffice.js";
import { el, fields, slot } from "./dom.js";

const data = pageData();
const form = /** @type {HTMLFormElement} */ (slot("form"));
const titles = data.series_titles || {};

// Whether the placements show now (accepted campaigns), in the brand's words.
const DELIVERY = {
  requested: "waiting for the creator",
  declined: "declined",
  scheduled: "starts later",
  live: "showing",
  ended: "ended",
  budget_spent: "budget spent",
};

function row(campaign) {
  return el(
    "tr",
    { dataset: { testid: "campaign-row", campaignId: campaign.id } },
    el("td", { text: campaign.title || `Campaign #${campaign.id}` }),
    el("td", { text: titles[campaign.series_id] || `Series ${campaign.series_id}` }),
    el("td", {}, statusBadge(campaign.status)),
    el("td", { text: `${campaign.commission_percent} %` }),
    el("td", { text: money(campaign.budget_cents) }),
    el("td", {
      dataset: { testid: "delivery" },
      text: `${DELIVERY[campaign.delivery] || campaign.delivery} · ${money(campaign.spent_cents)} spent`,
    }),
    el("td", { text: `${day(campaign.starts_at)} → ${day(campaign.ends_at)}` }),
    el(
      "td",
      {},
      el("a", {
        class: "button small",
        href: `/brand/campaigns/${campaign.id}/editor`,
        dataset: { testid: "campaign-editor" },
        text: campaign.status === "accepted" ? "Place products" : "Placements",
      }),
    ),
  );
}

async function load() {
  const campaigns = await api("GET", withBrand("/api/brand/campaigns"));
  slot("rows").replaceChildren(...campaigns.map(row));
  slot("empty").hidden = campaigns.length > 0;
}

const today = new Date();
fields(form).starts.value = today.toISOString().slice(0, 10);
fields(form).ends.value = new Date(today.getTime() + 30 * 86_400_000).toISOString().slice(0, 10);

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const budget = parseCents(fields(form).budget.value);
  if (budget === null) {
    failField(form, "budget", "The budget is an amount like 5000 or 5000.00.");
    return;
  }
  const body = {
    series_id: Number(fields(form).series_id.value),
    title: fields(form).title.value,
    budget_cents: budget,
    commission_percent: Number(fields(form).commission_percent.value),
    starts_at: `${fields(form).starts.value}T00:00:00Z`,
    ends_at: `${fields(form).ends.value}T23:59:59Z`,
  };
  const created = await busy(form.querySelector('[type="submit"]'), () =>
    api("POST", withBrand("/api/brand/campaigns"), { body }),
  { form });
  if (created) {
    notify(`Sent to the creator of ${titles[created.series_id] || "the series"}: they accept or decline it.`);
    fields(form).title.value = "";
    await load();
  }
});

load().catch(fail);
