// @ts-check
// /brand/campaigns and /studio/campaigns: one page for both parties (data.party). The brand
// requests a campaign on a series and follows its delivery in a table; the creator accepts or
// declines the campaigns on their series in a list. Either opens the placement editor.

import { api, money } from "./api.js";
import { busy, day, fail, failField, notify, pageData, parseCents, statusBadge } from "./backoffice.js";
import { withBrand } from "./brand_view.js";
import { el, fields, slot } from "./dom.js";

const data = pageData();
const party = data.party === "studio" ? "studio" : "brand";
const titles = data.series_titles || {};
const names = data.brand_names || {};

// Whether the placements show now (accepted campaigns), in the brand's words.
const DELIVERY = {
  requested: "waiting for the creator",
  declined: "declined",
  scheduled: "starts later",
  live: "showing",
  ended: "ended",
  budget_spent: "budget spent",
};

const seriesOf = (campaign) => titles[campaign.series_id] || `Series ${campaign.series_id}`;
const dates = (campaign) => `${day(campaign.starts_at)} → ${day(campaign.ends_at)}`;

/** The link to the campaign's placement editor, for this party. */
function editorLink(campaign, text) {
  const href = `/${party}/campaigns/${campaign.id}/editor`;
  return el("a", { class: "button small", href, dataset: { testid: "campaign-editor" }, text });
}

/** The brand's table row: status, delivery, budget spent. */
function brandRow(campaign) {
  return el(
    "tr",
    { dataset: { testid: "campaign-row", campaignId: campaign.id } },
    el("td", { text: campaign.title || `Campaign #${campaign.id}` }),
    el("td", { text: seriesOf(campaign) }),
    el("td", {}, statusBadge(campaign.status)),
    el("td", { text: `${campaign.commission_percent} %` }),
    el("td", { text: money(campaign.budget_cents) }),
    el("td", {
      dataset: { testid: "delivery" },
      text: `${DELIVERY[campaign.delivery] || campaign.delivery} · ${money(campaign.spent_cents)} spent`,
    }),
    el("td", { text: dates(campaign) }),
    el("td", {}, editorLink(campaign, campaign.status === "accepted" ? "Place products" : "Placements")),
  );
}

/** The creator's inbox item: accept or decline a request, place products once accepted. */
function studioItem(campaign) {
  const series = seriesOf(campaign);
  const brand = names[campaign.brand_id] || `Brand ${campaign.brand_id}`;
  const actions = el("div", { class: "bo-actions" });
  if (campaign.status === "requested") {
    for (const [verb, label, cls] of [
      ["accept", "Accept", "cta"],
      ["decline", "Decline", "button"],
    ]) {
      const button = el("button", { class: cls, type: "button", dataset: { testid: `campaign-${verb}` }, text: label });
      button.addEventListener("click", async () => {
        const decided = await busy(button, () => api("POST", `/api/studio/campaigns/${campaign.id}/${verb}`));
        if (decided) {
          notify(`${decided.status === "accepted" ? "Accepted" : "Declined"}: ${brand} on ${series}.`);
          await load();
        }
      });
      actions.append(button);
    }
  } else if (campaign.status === "accepted") {
    actions.append(editorLink(campaign, "Place products"));
  }
  return el(
    "li",
    { class: "bo-card inbox-item", dataset: { testid: "inbox-item", campaignId: campaign.id } },
    el(
      "div",
      {},
      el("b", { text: `${brand} · ${campaign.title || "Campaign"}` }),
      " ",
      statusBadge(campaign.status),
      el("p", {
        class: "bo-hint",
        text: `${series} · ${campaign.commission_percent} % commission on orders · budget ${money(campaign.budget_cents)} · ${dates(campaign)}`,
      }),
    ),
    actions,
  );
}

const show = party === "brand" ? brandRow : studioItem;

async function load() {
  const campaigns = await api("GET", withBrand(`/api/${party}/campaigns`));
  slot("list").replaceChildren(...campaigns.map(show));
  slot("empty").hidden = campaigns.length > 0;
}

// The brand's request form (the creator's page has none).
const form = /** @type {HTMLFormElement | null} */ (slot("form"));
if (form) {
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
}

load().catch(fail);
