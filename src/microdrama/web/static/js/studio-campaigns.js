// @ts-check
// /studio/campaigns: the creator's inbox of brands' campaigns; accept or decline, then place.

import { api, money } from "./api.js";
import { busy, day, fail, notify, pageData, statusBadge } from "./backoffice.js";
import { el, slot } from "./dom.js";

const data = pageData();

function item(campaign) {
  const series = data.series_titles[campaign.series_id] || `Series ${campaign.series_id}`;
  const brand = data.brand_names[campaign.brand_id] || `Brand ${campaign.brand_id}`;
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
    actions.append(
      el("a", { class: "button small", href: `/studio/campaigns/${campaign.id}/editor`, dataset: { testid: "campaign-editor" }, text: "Place products" }),
    );
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
        text: `${series} · ${campaign.commission_percent} % commission on orders · budget ${money(campaign.budget_cents)} · ${day(campaign.starts_at)} → ${day(campaign.ends_at)}`,
      }),
    ),
    actions,
  );
}

async function load() {
  const campaigns = await api("GET", "/api/studio/campaigns");
  slot("list").replaceChildren(...campaigns.map(item));
  slot("empty").hidden = campaigns.length > 0;
}

load().catch(fail);
