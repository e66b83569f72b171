// @ts-check
// /brand/orders: orders of the brand's products; ship, deliver or refund them.

import { api, money, withIntent } from "./api.js";
import { withBrand } from "./brand_view.js";
import { busy, fail, notify, statusBadge } from "./backoffice.js";
import { el, slot } from "./dom.js";

// What a brand may do next with an order in each status.
const NEXT = {
  paid: [
    ["ship", "Mark shipped"],
    ["refund", "Refund"],
  ],
  shipped: [
    ["deliver", "Mark delivered"],
    ["refund", "Refund"],
  ],
  delivered: [["refund", "Refund"]],
};

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "–";
}

function orderItem(order) {
  const actions = el("div", { class: "bo-actions" });
  for (const [verb, label] of NEXT[order.status] || []) {
    const button = el("button", { class: verb === "refund" ? "button small danger" : "button small", type: "button", dataset: { testid: `order-${verb}` }, text: label });
    button.addEventListener("click", async () => {
      const url = `/api/brand/orders/${order.id}/${verb}`;
      // A refund moves money: one Idempotency-Key per intended refund, reused on retries.
      const call = verb === "refund" ? () => withIntent(`refund:${order.id}`, (key) => api("POST", url, { idempotencyKey: key })) : () => api("POST", url);
      const changed = await busy(button, call);
      if (changed) {
        notify(`Order #${changed.id} is now ${changed.status}.`);
        await load();
      }
    });
    actions.append(button);
  }
  const items = order.items.map((i) => `${i.quantity} × ${i.product_title}${i.variant_name ? ` (${i.variant_name})` : ""}`).join(", ");
  const ship = order.shipping ? `${order.shipping.name}, ${order.shipping.city}, ${order.shipping.country}` : "";
  return el(
    "li",
    { class: "bo-card", dataset: { testid: "order", orderId: order.id } },
    el(
      "div",
      {},
      el("b", { text: `#${order.id} · ${money(order.total_cents, order.currency)}` }),
      " ",
      statusBadge(order.status),
      el("p", { class: "bo-hint", text: items }),
      el("div", { class: "bo-thumbs" }, ...order.items.filter((i) => i.image_url).map((i) => el("img", { src: i.image_url, alt: i.product_title, width: 40, height: 40, loading: "lazy", dataset: { testid: "order-item-image" } }))),
      el("p", { class: "bo-hint", text: `${ship} · ordered ${when(order.created_at)}${order.paid_at ? ` · paid ${when(order.paid_at)}` : ""}` }),
    ),
    actions,
  );
}

async function load() {
  const orders = await api("GET", withBrand("/api/brand/orders"));
  slot("list").replaceChildren(...orders.map(orderItem));
  slot("empty").hidden = orders.length > 0;
}

load().catch(fail);
